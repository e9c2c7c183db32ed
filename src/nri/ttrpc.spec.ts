import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CaptureDuplex, muxFrame, parseFrames, tick, until } from "../../support/fakes/fake-runtime-wire.js";
import { ConfigureResponse, RegisterPluginRequest } from "./gen/nri/api.js";
import { Request, Response } from "./gen/ttrpc/request.js";
import { Mux } from "./mux.js";
import { decodeHeader, encodeHeader, frameMessage, MessageReader } from "./ttrpc.js";
import { TtrpcClient } from "./ttrpc-client.js";
import { TtrpcServer, type CallContext } from "./ttrpc-server.js";
import { Code, TtrpcError } from "./errors.js";

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");

describe("ttrpc codec", () => {
  it("encodes and decodes the 10-byte header", () => {
    const b = encodeHeader({ length: 0x3f, streamId: 1, type: 1, flags: 0 });
    assert.equal(b.toString("hex"), "0000003f000000010100");
    assert.deepEqual(decodeHeader(b), { length: 0x3f, streamId: 1, type: 1, flags: 0 });
  });

  it("§5: RegisterPluginRequest and its ttrpc.Request encode to the documented bytes", () => {
    const reg = RegisterPluginRequest.encode({
      pluginName: "ts-plugin",
      pluginIdx: "10",
      NRIVersion: "",
    }).finish();
    assert.equal(Buffer.from(reg).toString("hex"), "0a0974732d706c7567696e12023130");
    const req = Request.encode({
      service: "nri.pkg.api.v1alpha1.Runtime",
      method: "RegisterPlugin",
      payload: Buffer.from(reg),
      timeoutNano: 0,
      metadata: [],
    }).finish();
    assert.equal(req.length, 63);
    assert.equal(
      Buffer.from(req).toString("hex"),
      "0a1c" +
        Buffer.from("nri.pkg.api.v1alpha1.Runtime").toString("hex") +
        "120e" +
        Buffer.from("RegisterPlugin").toString("hex") +
        "1a0f0a0974732d706c7567696e12023130",
    );
  });

  it("§5: ConfigureResponse{events: 0x420} is field 2 (10 a0 08), wrapped 12 03 10 a0 08", () => {
    const c = ConfigureResponse.encode({ events: 0x420 }).finish();
    assert.equal(Buffer.from(c).toString("hex"), "10a008");
    const r = Response.encode({ status: undefined, payload: Buffer.from(c) }).finish();
    assert.equal(Buffer.from(r).toString("hex"), "120310a008");
  });

  it("§3.4: a message ≤ 4096 bytes is one frame; a longer one is header frame + payload frame", () => {
    const h = { length: 0, streamId: 3, type: 2, flags: 0 };
    assert.equal(frameMessage(h, Buffer.alloc(0)).length, 1);
    assert.equal(frameMessage(h, Buffer.alloc(0))[0]!.length, 10);
    const small = frameMessage(h, Buffer.alloc(4086, 1));
    assert.deepEqual(
      small.map((f) => f.length),
      [4096],
    );
    const big = frameMessage(h, Buffer.alloc(6000, 1));
    assert.deepEqual(
      big.map((f) => f.length),
      [10, 6000],
    );
    assert.equal(decodeHeader(big[0]!).length, 6000);
  });
});

describe("MessageReader", () => {
  const msg = (streamId: number, payload: Buffer): Buffer =>
    Buffer.concat([encodeHeader({ length: payload.length, streamId, type: 1, flags: 0 }), payload]);

  it("reassembles messages split at every byte and several messages in one chunk", () => {
    const all = Buffer.concat([
      msg(1, Buffer.from("hello")),
      msg(3, Buffer.alloc(0)),
      msg(5, Buffer.from("x")),
    ]);
    const r = new MessageReader();
    const got: string[] = [];
    for (const b of all) {
      for (const m of r.push(Buffer.from([b])).messages)
        got.push(`${m.header.streamId}:${m.payload.toString()}`);
    }
    assert.deepEqual(got, ["1:hello", "3:", "5:x"]);
    const r2 = new MessageReader();
    assert.equal(r2.push(all).messages.length, 3);
    assert.equal(r2.bufferedBytes, 0);
  });

  it("truncated input waits; the payload remaining is reported", () => {
    const r = new MessageReader();
    const m = msg(1, Buffer.alloc(100, 7));
    assert.equal(r.push(m.subarray(0, 4)).messages.length, 0);
    assert.equal(r.payloadRemaining, 0);
    assert.equal(r.push(m.subarray(4, 50)).messages.length, 0);
    assert.equal(r.payloadRemaining, 60);
    assert.equal(r.push(m.subarray(50)).messages.length, 1);
    assert.equal(r.bufferedBytes, 0);
  });

  it("an oversized message is skipped without buffering, then reading resumes", () => {
    const r = new MessageReader({ maxMessageLength: 16 });
    const big = msg(1, Buffer.alloc(1000, 9));
    const res = r.push(big.subarray(0, 500));
    assert.deepEqual(
      res.oversized.map((h) => h.length),
      [1000],
    );
    assert.ok(r.bufferedBytes <= 10);
    const res2 = r.push(Buffer.concat([big.subarray(500), msg(3, Buffer.from("ok"))]));
    assert.equal(res2.messages[0]!.payload.toString(), "ok");
  });
});

describe("ttrpc client over a mux (byte-exact)", () => {
  it("§5: RegisterPlugin goes out as one 73-byte-payload frame; the empty reply resolves", async () => {
    const sock = new CaptureDuplex();
    const mux = new Mux(sock);
    const client = new TtrpcClient({ send: (f) => void mux.send(2, f) });
    mux.attach(2, client);
    const reg = RegisterPluginRequest.encode({
      pluginName: "ts-plugin",
      pluginIdx: "10",
      NRIVersion: "",
    }).finish();
    const p = client.call("nri.pkg.api.v1alpha1.Runtime", "RegisterPlugin", reg);
    await tick();
    assert.equal(sock.writes.length, 1);
    assert.equal(
      sock.writes[0]!.toString("hex"),
      "00000002" +
        "00000049" +
        "0000003f000000010100" +
        "0a1c" +
        Buffer.from("nri.pkg.api.v1alpha1.Runtime").toString("hex") +
        "120e" +
        Buffer.from("RegisterPlugin").toString("hex") +
        "1a0f0a0974732d706c7567696e12023130",
    );
    sock.inject("00000002 0000000a 00000000 00000001 0200");
    const out = await p;
    assert.equal(out.length, 0);
  });

  it("uses odd increasing stream ids and matches out-of-order replies", async () => {
    const sent: Buffer[][] = [];
    const client = new TtrpcClient({ send: (f) => void sent.push(f) });
    const a = client.call("s", "A", Buffer.alloc(0));
    const b = client.call("s", "B", Buffer.alloc(0));
    const c = client.call("s", "C", Buffer.alloc(0));
    assert.deepEqual(
      sent.map((f) => decodeHeader(f[0]!).streamId),
      [1, 3, 5],
    );
    const reply = (id: number, payload: string): Buffer => {
      const body = Response.encode({ status: undefined, payload: Buffer.from(payload) }).finish();
      return Buffer.concat(frameMessage({ length: 0, streamId: id, type: 2, flags: 0 }, body));
    };
    client.data(Buffer.concat([reply(5, "c"), reply(1, "a")]));
    client.data(reply(3, "b"));
    assert.deepEqual((await Promise.all([a, b, c])).map(String), ["a", "b", "c"]);
  });

  it("non-zero status rejects with TtrpcError; timeout → DEADLINE_EXCEEDED; close fails pending", async () => {
    const sent: Buffer[][] = [];
    const client = new TtrpcClient({ send: (f) => void sent.push(f) });
    const p1 = client.call("s", "X", Buffer.alloc(0));
    const body = Response.encode({
      status: { code: 3, message: "bad", details: [] },
      payload: Buffer.alloc(0),
    }).finish();
    client.data(Buffer.concat(frameMessage({ length: 0, streamId: 1, type: 2, flags: 0 }, body)));
    await assert.rejects(p1, (e: TtrpcError) => e.code === 3 && e.message === "bad");

    const p2 = client.call("s", "Slow", Buffer.alloc(0), { timeoutMs: 20 });
    const req = Request.decode(sent[1]!.length === 1 ? sent[1]![0]!.subarray(10) : sent[1]![1]!);
    assert.equal(req.timeoutNano, 20e6);
    // The client's timers are unref'd (a real trunk socket keeps the loop alive); keep it alive here.
    const keepAlive = setInterval(() => undefined, 5);
    await assert.rejects(p2, (e: TtrpcError) => e.code === Code.DEADLINE_EXCEEDED);
    clearInterval(keepAlive);

    const p3 = client.call("s", "Pending", Buffer.alloc(0));
    client.close();
    await assert.rejects(p3, (e: TtrpcError) => e.code === Code.UNAVAILABLE);
    await assert.rejects(client.call("s", "After", Buffer.alloc(0)), /closed/);
    assert.equal(client.pendingCount, 0);
  });

  it("a timeout beyond setTimeout's range does not expire at once", async () => {
    const client = new TtrpcClient({ send: () => undefined });
    const p = client.call("s", "Long", Buffer.alloc(0), { timeoutMs: 2 ** 31 });
    // An unclamped timer would become 1 ms and expire before this later, longer one.
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(client.pendingCount, 1);
    client.close();
    await assert.rejects(p, (e: TtrpcError) => e.code === Code.UNAVAILABLE);
  });
});

describe("ttrpc server", () => {
  function setup(): {
    server: TtrpcServer;
    replies: Array<{ streamId: number; frames: number[]; resp: Response }>;
  } {
    const replies: Array<{ streamId: number; frames: number[]; resp: Response }> = [];
    const server = new TtrpcServer({
      send: (frames) => {
        const all = Buffer.concat(frames);
        const h = decodeHeader(all);
        assert.equal(h.type, 2);
        assert.equal(h.flags, 0);
        replies.push({
          streamId: h.streamId,
          frames: frames.map((f) => f.length),
          resp: Response.decode(all.subarray(10)),
        });
      },
    });
    return { server, replies };
  }
  const request = (
    streamId: number,
    service: string,
    method: string,
    payload = Buffer.alloc(0),
    timeoutNano = 0,
  ): Buffer =>
    Buffer.concat(
      frameMessage(
        { length: 0, streamId, type: 1, flags: 0 },
        Request.encode({ service, method, payload, timeoutNano, metadata: [] }).finish(),
      ),
    );

  it("answers unknown service/method with 12 UNIMPLEMENTED 'service X' / 'method Y'", async () => {
    const { server, replies } = setup();
    server.register("svc", "Known", () => Buffer.alloc(0));
    server.data(request(1, "nope", "Known"));
    server.data(request(3, "svc", "Nope"));
    await until(() => replies.length === 2);
    assert.deepEqual(
      replies.map((r) => [r.streamId, r.resp.status?.code, r.resp.status?.message]),
      [
        [1, 12, "service nope"],
        [3, 12, "method Nope"],
      ],
    );
  });

  it("an empty success reply is a zero-length message (header only, no status)", async () => {
    const { server, replies } = setup();
    server.register("svc", "Empty", () => new Uint8Array(0));
    server.data(request(1, "svc", "Empty"));
    await until(() => replies.length === 1);
    assert.deepEqual(replies[0]!.frames, [10]);
    assert.equal(replies[0]!.resp.status, undefined);
  });

  it("a 6,000-byte reply payload goes out as a 10-byte header frame + one payload frame", async () => {
    const { server, replies } = setup();
    server.register("svc", "Big", () => Buffer.alloc(5994, 0x61));
    server.data(request(1, "svc", "Big"));
    await until(() => replies.length === 1);
    // Response{payload(5994)} = 1 tag + 2 length bytes + 5994 = 5997 bytes.
    assert.deepEqual(replies[0]!.frames, [10, 5997]);
  });

  it("handler error → 2 UNKNOWN with its message; TtrpcError keeps its code", async () => {
    const { server, replies } = setup();
    server.register("svc", "Fail", () => {
      throw new Error("nope");
    });
    server.register("svc", "Coded", async () => {
      throw new TtrpcError(9, "precondition");
    });
    server.data(request(1, "svc", "Fail"));
    server.data(request(3, "svc", "Coded"));
    await until(() => replies.length === 2);
    assert.deepEqual(
      replies.map((r) => [r.resp.status?.code, r.resp.status?.message]),
      [
        [2, "nope"],
        [9, "precondition"],
      ],
    );
  });

  it("enforces odd, increasing stream ids with INVALID_ARGUMENT", async () => {
    const { server, replies } = setup();
    server.register("svc", "M", () => Buffer.alloc(0));
    server.data(request(2, "svc", "M"));
    server.data(request(5, "svc", "M"));
    server.data(request(3, "svc", "M"));
    await until(() => replies.length === 3);
    const byId = new Map(replies.map((r) => [r.streamId, r.resp.status]));
    assert.match(byId.get(2)!.message, /must be odd/);
    assert.equal(byId.get(5), undefined);
    assert.match(byId.get(3)!.message, /must increment/);
  });

  it("timeout_nano: a slow handler gets one DEADLINE_EXCEEDED reply, the late result is dropped", async () => {
    const { server, replies } = setup();
    let release!: () => void;
    const done = new Promise<void>((r) => (release = r));
    let aborted = false;
    server.register("svc", "Slow", async (_p, ctx) => {
      ctx.signal.addEventListener("abort", () => (aborted = true));
      await done;
      return Buffer.from("late");
    });
    server.data(request(1, "svc", "Slow", Buffer.alloc(0), 15e6));
    await until(() => replies.length === 1);
    assert.equal(replies[0]!.resp.status?.code, Code.DEADLINE_EXCEEDED);
    assert.ok(aborted);
    release();
    // The late result has been handled once the call leaves the in-flight set.
    await until(() => server.inflightCount === 0);
    assert.equal(replies.length, 1);
  });

  it("ctx.signal exists only once read; read after the deadline or the close it is already aborted", async () => {
    const { server, replies } = setup();
    const Real = globalThis.AbortController;
    let created = 0;
    globalThis.AbortController = class extends Real {
      constructor() {
        super();
        created += 1;
      }
    };
    try {
      const ctxs: CallContext[] = [];
      let release!: () => void;
      const done = new Promise<void>((r) => (release = r));
      server.register("svc", "Hold", async (_p, ctx) => {
        ctxs.push(ctx);
        await done;
        return Buffer.alloc(0);
      });
      server.data(request(1, "svc", "Hold"));
      server.data(request(3, "svc", "Hold"));
      server.data(request(5, "svc", "Hold", Buffer.alloc(0), 15e6));
      await until(() => replies.length === 1); // the deadline of call 5
      assert.equal(created, 0, "no AbortController until a handler reads its signal");
      const late = ctxs[2]!.signal;
      assert.equal(created, 1);
      assert.ok(late.aborted, "created after the deadline: already aborted");
      assert.equal((late.reason as TtrpcError).code, Code.DEADLINE_EXCEEDED);
      const early = ctxs[0]!.signal;
      assert.equal(early.aborted, false);
      assert.equal(ctxs[0]!.signal, early, "one signal per call");
      server.close();
      assert.ok(early.aborted, "read before the close: aborted by it");
      const afterClose = ctxs[1]!.signal;
      assert.ok(afterClose.aborted, "read after the close: already aborted");
      assert.equal((afterClose.reason as TtrpcError).code, Code.UNAVAILABLE);
      assert.equal(created, 3);
      release();
    } finally {
      globalThis.AbortController = Real;
    }
  });

  it("garbage request payload → INVALID_ARGUMENT; non-request types are ignored", async () => {
    const { server, replies } = setup();
    server.data(Buffer.concat(frameMessage({ length: 0, streamId: 1, type: 1, flags: 0 }, hex("ffffffff"))));
    server.data(Buffer.concat(frameMessage({ length: 0, streamId: 3, type: 3, flags: 0 }, hex("00"))));
    await until(() => replies.length === 1);
    assert.equal(replies[0]!.resp.status?.code, Code.INVALID_ARGUMENT);
  });
});

describe("Mux", () => {
  it("demultiplexes per-connection streams and ignores unknown connection ids", async () => {
    const sock = new CaptureDuplex();
    const mux = new Mux(sock);
    const got: Record<number, string> = { 1: "", 2: "" };
    mux.attach(1, { data: (c) => (got[1] += c.toString()), close: () => undefined });
    mux.attach(2, { data: (c) => (got[2] += c.toString()), close: () => undefined });
    const bytes = Buffer.concat([
      muxFrame(1, Buffer.from("ab")),
      muxFrame(7, Buffer.from("zz")),
      muxFrame(2, Buffer.from("xy")),
      muxFrame(1, Buffer.from("cd")),
    ]);
    for (let i = 0; i < bytes.length; i += 3) sock.inject(bytes.subarray(i, i + 3));
    await tick();
    assert.deepEqual(got, { 1: "abcd", 2: "xy" });
    assert.equal(mux.isClosed, false);
  });

  it("a frame over the limit closes the trunk with a ProtocolError", async () => {
    const sock = new CaptureDuplex();
    const mux = new Mux(sock, { maxFrameLength: 1024 });
    let closedWith: Error | undefined;
    mux.attach(1, { data: () => undefined, close: (e) => (closedWith = e) });
    sock.inject(hex("00000001 00000401"));
    await mux.closedPromise();
    assert.equal(closedWith?.name, "ProtocolError");
    assert.match(closedWith!.message, /exceeds limit 1024/);
  });

  it("send writes one socket write per frame, skipping empty payloads", async () => {
    const sock = new CaptureDuplex();
    const mux = new Mux(sock);
    mux.send(2, [Buffer.from("a"), Buffer.alloc(0), Buffer.from("bc")]);
    await tick();
    assert.deepEqual(
      parseFrames(Buffer.concat(sock.writes)).map((f) => [f.connId, f.payload.toString()]),
      [
        [2, "a"],
        [2, "bc"],
      ],
    );
    assert.equal(sock.writes.length, 2);
    mux.close();
    assert.equal(mux.send(2, [Buffer.from("x")]), false);
  });

  it("EOF closes every sink once without error", async () => {
    const sock = new CaptureDuplex();
    const mux = new Mux(sock);
    const closes: Array<Error | undefined> = [];
    mux.attach(1, { data: () => undefined, close: (e) => closes.push(e) });
    sock.injectEnd();
    await mux.closedPromise();
    assert.deepEqual(closes, [undefined]);
  });
});
