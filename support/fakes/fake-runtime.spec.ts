import assert from "node:assert/strict";
import net from "node:net";
import { afterEach, beforeEach, describe, it } from "node:test";
import {
  ConfigureResponse,
  Empty,
  RegisterPluginRequest,
  StateChangeEvent,
  SynchronizeRequest,
  SynchronizeResponse,
} from "../../src/nri/gen/nri/api.js";
import { Request, Response } from "../../src/nri/gen/ttrpc/request.js";
import type { TtrpcError } from "../../src/nri/errors.js";
import { Code } from "../../src/nri/errors.js";
import { Mux } from "../../src/nri/mux.js";
import { frameMessage } from "../../src/nri/ttrpc.js";
import { TtrpcClient } from "../../src/nri/ttrpc-client.js";
import { TtrpcServer, type MethodHandler } from "../../src/nri/ttrpc-server.js";
import { FakeRuntime } from "./fake-runtime.js";
import { fakePod, tempSocket } from "./fake-runtime-fixtures.js";

const PLUGIN = "nri.pkg.api.v1alpha1.Plugin";
const RUNTIME = "nri.pkg.api.v1alpha1.Runtime";

/** A hand-driven plugin: raw access to the mux, a ttrpc server on conn 1 and a client on conn 2. */
async function rawPlugin(
  path: string,
  handlers: Record<string, MethodHandler>,
  opts: { badFraming?: boolean } = {},
): Promise<{ socket: net.Socket; mux: Mux; client: TtrpcClient; closed: Promise<void> }> {
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.createConnection(path, () => resolve(s));
    s.once("error", reject);
  });
  const mux = new Mux(socket);
  const server = new TtrpcServer({
    // badFraming: header + payload in one frame whatever the size (violates nri-protocol.md §3.4).
    send: (frames) => void mux.send(1, opts.badFraming ? [Buffer.concat(frames)] : frames),
  });
  for (const [method, h] of Object.entries(handlers)) server.register(PLUGIN, method, h);
  const client = new TtrpcClient({ send: (f) => void mux.send(2, f), timeoutMs: 2000 });
  mux.attach(1, server);
  mux.attach(2, client);
  return { socket, mux, client, closed: mux.closedPromise() };
}

const register = (name: string, idx: string): Uint8Array =>
  RegisterPluginRequest.encode({ pluginName: name, pluginIdx: idx, NRIVersion: "" }).finish();
const configureWith =
  (events: number): MethodHandler =>
  () =>
    ConfigureResponse.encode({ events }).finish();
const syncOk: MethodHandler = (p) =>
  SynchronizeResponse.encode({ update: [], more: SynchronizeRequest.decode(p).more }).finish();

/** Sends a raw ttrpc request with a chosen stream id on conn 2 and resolves with the decoded Response. */
function rawCall(mux: Mux, streamId: number, payload: Uint8Array): Promise<Response> {
  const body = Request.encode({
    service: RUNTIME,
    method: "RegisterPlugin",
    payload: Buffer.from(payload),
    timeoutNano: 0,
    metadata: [],
  }).finish();
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    mux.attach(2, {
      data: (c) => {
        buf = Buffer.concat([buf, c]);
        if (buf.length >= 10 && buf.length >= 10 + buf.readUInt32BE(0))
          resolve(Response.decode(buf.subarray(10)));
      },
      close: () => undefined,
    });
    mux.send(2, frameMessage({ length: 0, streamId, type: 1, flags: 0 }, body));
  });
}

describe("FakeRuntime strictness (bad raw clients are rejected like containerd does)", () => {
  let sock: ReturnType<typeof tempSocket>;
  let rt: FakeRuntime;
  const sockets: net.Socket[] = [];
  beforeEach(async () => {
    sock = tempSocket();
    rt = await FakeRuntime.listen({
      socketPath: sock.path,
      requestTimeoutMs: 200,
      registrationTimeoutMs: 200,
    });
  });
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await rt.close();
    sock.cleanup();
  });

  it("rejects an even stream id and a non-increasing one with INVALID_ARGUMENT", async () => {
    const p = await rawPlugin(sock.path, {});
    sockets.push(p.socket);
    const even = await rawCall(p.mux, 2, register("x", "10"));
    assert.equal(even.status?.code, Code.INVALID_ARGUMENT);
    assert.match(even.status!.message, /must be odd/);
    const ok = await rawCall(p.mux, 5, register("", "10"));
    assert.equal(ok.status?.code, Code.UNKNOWN); // accepted id 5, but empty name
    const reused = await rawCall(p.mux, 3, register("x", "10"));
    assert.equal(reused.status?.code, Code.INVALID_ARGUMENT);
    assert.match(reused.status!.message, /must increment/);
  });

  it("rejects an empty name and a bad index with status 2", async () => {
    const p = await rawPlugin(sock.path, {});
    sockets.push(p.socket);
    await assert.rejects(
      p.client.call(RUNTIME, "RegisterPlugin", register("", "10")),
      (e: TtrpcError) => e.code === 2 && e.message === "invalid (empty) plugin name",
    );
    for (const idx of ["1", "100", "a1", ""]) {
      await assert.rejects(
        p.client.call(RUNTIME, "RegisterPlugin", register("x", idx)),
        (e: TtrpcError) => e.code === 2 && /invalid plugin index/.test(e.message),
      );
    }
  });

  it("closes a connection that does not register in time", async () => {
    const p = await rawPlugin(sock.path, {});
    sockets.push(p.socket);
    await p.closed;
  });

  it("closes a plugin whose Configure mask is outside 0x7FF", async () => {
    const closed = new Promise<string>((r) => rt.once("plugin-closed", (_i, reason: string) => r(reason)));
    const p = await rawPlugin(sock.path, { Configure: configureWith(0x800), Synchronize: syncOk });
    sockets.push(p.socket);
    await p.client.call(RUNTIME, "RegisterPlugin", register("bad-mask", "10"));
    assert.match(await closed, /invalid plugin events: 0x800/);
    await p.closed;
  });

  it("mask 0 subscribes to all of 0x7FF", async () => {
    const p = await rawPlugin(sock.path, { Configure: configureWith(0), Synchronize: syncOk });
    sockets.push(p.socket);
    await p.client.call(RUNTIME, "RegisterPlugin", register("zero", "10"));
    await rt.waitForPlugin(2000);
    assert.equal(rt.plugin?.mask, 0x7ff);
  });

  it("a request timeout is fatal: the event rejects and the plugin is closed", async () => {
    const p = await rawPlugin(sock.path, {
      Configure: configureWith(0x1),
      Synchronize: syncOk,
      StateChange: () => new Promise<Uint8Array>(() => undefined),
    });
    sockets.push(p.socket);
    await p.client.call(RUNTIME, "RegisterPlugin", register("slow", "10"));
    await rt.waitForPlugin(2000);
    await assert.rejects(rt.runPodSandbox(fakePod(1)), (e: TtrpcError) => e.code === Code.DEADLINE_EXCEEDED);
    await p.closed;
    assert.match(rt.plugin!.closedReason!, /deadline exceeded/);
  });

  it("emulates the Go reader: a > 4096-byte frame at a message boundary closes the plugin", async () => {
    const pad = Buffer.alloc(6000, 0x61);
    // A StateChange reply with 6,000 bytes of unknown-field padding (field 15, bytes): valid protobuf.
    const padded = Buffer.concat([Buffer.from([0x7a, 0xf0, 0x2e]), pad]);
    const handlers = { Configure: configureWith(0x1), Synchronize: syncOk, StateChange: () => padded };
    const good = await rawPlugin(sock.path, handlers);
    sockets.push(good.socket);
    await good.client.call(RUNTIME, "RegisterPlugin", register("good", "10"));
    await rt.waitForPlugin(2000);
    assert.equal(await rt.runPodSandbox(fakePod(1)), true); // header frame + payload frame: accepted
    good.socket.destroy();
    await good.closed;

    const closed = new Promise<string>((r) =>
      rt.on("plugin-closed", (i: { name: string }, reason: string) => i.name === "bad" && r(reason)),
    );
    const bad = await rawPlugin(sock.path, handlers, { badFraming: true });
    sockets.push(bad.socket);
    await bad.client.call(RUNTIME, "RegisterPlugin", register("bad", "10"));
    await rt.waitForPlugin(2000);
    assert.equal(rt.plugin?.name, "bad");
    await assert.rejects(rt.runPodSandbox(fakePod(2)));
    assert.match(await closed, /ENOMEM/);
  });

  it("chunked sync: a plugin that does not echo more=true is closed", async () => {
    await rt.close();
    rt = await FakeRuntime.listen({ socketPath: sock.path, requestTimeoutMs: 200, syncChunkSize: 1 });
    rt.addPod(fakePod(1));
    rt.addPod(fakePod(2));
    const closed = new Promise<string>((r) => rt.once("plugin-closed", (_i, reason: string) => r(reason)));
    const p = await rawPlugin(sock.path, {
      Configure: configureWith(0x1),
      Synchronize: () => SynchronizeResponse.encode({ update: [], more: false }).finish(),
    });
    sockets.push(p.socket);
    await p.client.call(RUNTIME, "RegisterPlugin", register("nochunk", "10"));
    assert.match(await closed, /plugin does not handle split sync requests/);
  });

  it("sends Configure before the RegisterPlugin reply, and unknown event values via sendStateChange", async () => {
    const order: string[] = [];
    const events: number[] = [];
    const p = await rawPlugin(sock.path, {
      Configure: () => {
        order.push("configure");
        return ConfigureResponse.encode({ events: 0x1 }).finish();
      },
      Synchronize: syncOk,
      StateChange: (pl) => {
        events.push(StateChangeEvent.decode(pl).event);
        return Empty.encode({}).finish();
      },
    });
    sockets.push(p.socket);
    await p.client.call(RUNTIME, "RegisterPlugin", register("order", "10"));
    order.push("registered");
    await rt.waitForPlugin(2000);
    assert.deepEqual(order, ["configure", "registered"]);
    assert.equal(await rt.sendStateChange(77, fakePod(1)), true);
    assert.deepEqual(events, [77]);
  });
});

describe("FakeRuntime: each generation's valid events", () => {
  for (const [nri, accepted] of [
    ["v0.8", false],
    ["v0.10", true],
  ] as const) {
    it(`${nri} ${accepted ? "accepts" : "refuses"} UPDATE_POD_SANDBOX (0x800) in the mask`, async () => {
      const sock = tempSocket();
      const rt = await FakeRuntime.listen({ socketPath: sock.path, nri });
      const p = await rawPlugin(sock.path, { Configure: configureWith(0x825), Synchronize: syncOk });
      try {
        await p.client.call(RUNTIME, "RegisterPlugin", register("x", "10"));
        if (accepted) {
          await rt.waitForPlugin(2000);
          assert.equal(rt.plugin?.mask, 0x825);
        } else {
          await p.closed;
          assert.match(rt.plugin?.closedReason ?? "", /invalid plugin events: 0x800/);
        }
      } finally {
        p.socket.destroy();
        await rt.close();
        sock.cleanup();
      }
    });
  }
});
