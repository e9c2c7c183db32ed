/**
 * Property/fuzz test of the plugin-side decoder: mux → ttrpc server (Plugin service with a real
 * handler) and ttrpc client, fed random bytes and mutated valid traffic (bit flips, truncations, huge
 * lengths, random chunking). Properties: nothing throws, no unhandled rejection, buffered bytes stay
 * under the configured limits, a close is always a clean ProtocolError, and everything the plugin
 * writes is well-formed and follows the §3.4 framing rule.
 *
 * Runs: NRI_FUZZ_RUNS (default 10,000), e.g. `NRI_FUZZ_RUNS=100000 node --import tsx --test test/nri-fuzz.spec.ts`.
 */
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import type { Duplex } from "node:stream";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import {
  ConfigureRequest,
  CreateContainerRequest,
  StateChangeEvent,
  SynchronizeRequest,
} from "../src/nri/gen/nri/api.js";
import { Request, Response } from "../src/nri/gen/ttrpc/request.js";
import { fromNriContainer, fromNriPod } from "../src/nri/convert.js";
import { Mux } from "../src/nri/mux.js";
import { registerPluginService } from "../src/nri/stub-service.js";
import { frameMessage } from "../src/nri/ttrpc.js";
import { TtrpcClient } from "../src/nri/ttrpc-client.js";
import { TtrpcServer } from "../src/nri/ttrpc-server.js";
import { pino } from "pino";
import { fakeContainer, fakePod } from "../support/fakes/fake-runtime-fixtures.js";
import { muxFrame, parseFrames, tick } from "../support/fakes/fake-runtime-wire.js";

const RUNS = Number(process.env.NRI_FUZZ_RUNS ?? 10_000);
const MAX_FRAME = 64 * 1024;
const MAX_MESSAGE = 16 * 1024;

/** A synchronous stand-in for the trunk socket: `feed()` emits "data" synchronously. */
class SyncSocket extends EventEmitter {
  destroyed = false;
  readonly written: Buffer[] = [];
  write(b: Buffer): boolean {
    this.written.push(b);
    return true;
  }
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.emit("close");
  }
}

const silent = pino({ level: "silent" });

function plugin(): { sock: SyncSocket; mux: Mux; server: TtrpcServer; client: TtrpcClient } {
  const sock = new SyncSocket();
  const mux = new Mux(sock as unknown as Duplex, { maxFrameLength: MAX_FRAME, logger: silent });
  const server = new TtrpcServer({
    send: (f) => void mux.send(1, f),
    maxMessageLength: MAX_MESSAGE,
    logger: silent,
  });
  const client = new TtrpcClient({
    send: (f) => void mux.send(2, f),
    maxMessageLength: MAX_MESSAGE,
    logger: silent,
  });
  const noop = (): void => undefined;
  registerPluginService(server, {
    handler: {
      configure: () => ({ events: 0x425 }),
      synchronize: noop,
      runPodSandbox: noop,
      removePodSandbox: noop,
      startContainer: noop,
      removeContainer: noop,
      createContainer: noop,
    },
    derivedMask: 0x425,
    log: silent,
    onConfigured: noop,
    onSynchronized: noop,
  });
  mux.attach(1, server);
  mux.attach(2, client);
  // Two pending client calls so that responses on conn 2 have someone to match.
  client.call("nri.pkg.api.v1alpha1.Runtime", "RegisterPlugin", Buffer.alloc(0)).catch(() => undefined);
  client.call("nri.pkg.api.v1alpha1.Runtime", "UpdateContainers", Buffer.alloc(0)).catch(() => undefined);
  return { sock, mux, server, client };
}

/** Valid runtime → plugin traffic: requests on conn 1 and responses on conn 2, as mux frames. */
const validMessage = fc
  .tuple(
    fc.constantFrom("Configure", "Synchronize", "StateChange", "CreateContainer", "Shutdown", "Nope"),
    fc.integer({ min: 0, max: 40 }).map((n) => 2 * n + 1),
    fc.integer({ min: 0, max: 12 }),
    fc.boolean(),
    fc.nat({ max: 3_000_000_000 }),
  )
  .map(([method, streamId, ev, more, timeoutNano]) => {
    const pod = fakePod(ev);
    const payload =
      method === "Configure"
        ? ConfigureRequest.encode({
            config: "",
            runtimeName: "containerd",
            runtimeVersion: "1.7.24",
            registrationTimeout: 0,
            requestTimeout: 0,
            NRIVersion: "",
          }).finish()
        : method === "Synchronize"
          ? SynchronizeRequest.encode({
              pods: [fromNriPod(pod)],
              containers: [fromNriContainer(fakeContainer(pod, 1))],
              more,
            }).finish()
          : method === "StateChange"
            ? StateChangeEvent.encode({ event: ev, pod: fromNriPod(pod), container: undefined }).finish()
            : CreateContainerRequest.encode({
                pod: fromNriPod(pod),
                container: fromNriContainer(fakeContainer(pod, 2)),
              }).finish();
    const req = Request.encode({
      service: "nri.pkg.api.v1alpha1.Plugin",
      method,
      payload: Buffer.from(payload),
      timeoutNano,
      metadata: [{ key: "containerd-namespace-ttrpc", value: "k8s.io" }],
    }).finish();
    const toPlugin = Buffer.concat(frameMessage({ length: 0, streamId, type: 1, flags: 0 }, req));
    const resp = Response.encode({
      status: more ? { code: 2, message: "x", details: [] } : undefined,
      payload: Buffer.alloc(0),
    }).finish();
    const reply = Buffer.concat(
      frameMessage({ length: 0, streamId: ev % 2 === 0 ? 1 : 3, type: 2, flags: 0 }, resp),
    );
    return Buffer.concat([muxFrame(1, toPlugin), muxFrame(2, reply)]);
  });

type Mutation =
  | { kind: "flip"; pos: number; bit: number }
  | { kind: "truncate"; at: number }
  | { kind: "hugeLen"; pos: number; value: number }
  | { kind: "insert"; pos: number; bytes: Uint8Array };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), pos: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant("hugeLen" as const),
    pos: fc.nat(),
    value: fc.oneof(fc.constant(0xffffffff), fc.integer({ min: MAX_MESSAGE, max: 0x7fffffff })),
  }),
  fc.record({
    kind: fc.constant("insert" as const),
    pos: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
  }),
);

function mutate(input: Buffer, muts: Mutation[]): Buffer {
  let b = Buffer.from(input);
  for (const m of muts) {
    if (b.length === 0) break;
    if (m.kind === "flip") b[m.pos % b.length]! ^= 1 << m.bit;
    else if (m.kind === "truncate") b = b.subarray(0, m.at % b.length);
    else if (m.kind === "hugeLen" && b.length >= 4) b.writeUInt32BE(m.value, m.pos % (b.length - 3));
    else if (m.kind === "insert") {
      const p = m.pos % b.length;
      b = Buffer.concat([b.subarray(0, p), m.bytes, b.subarray(p)]);
    }
  }
  return b;
}

/**
 * Big declared lengths with (part of) the bytes really sent: a ttrpc message of `len` bytes on conn
 * 1 or 2 inside mux frames of up to `frameMax` bytes, truncated to `sent` bytes. Exercises the
 * buffering bound near MAX_MESSAGE and the skip path above it.
 */
const bigMessage = fc
  .record({
    connId: fc.constantFrom(1, 2, 9),
    len: fc.integer({ min: 0, max: 2 * MAX_MESSAGE }),
    sentFraction: fc.double({ min: 0, max: 1, noNaN: true }),
    frameMax: fc.integer({ min: 1, max: MAX_FRAME + 100 }),
    type: fc.integer({ min: 0, max: 3 }),
  })
  .map(({ connId, len, sentFraction, frameMax, type }) => {
    const msg = Buffer.alloc(10 + len, 0x0a);
    msg.writeUInt32BE(len, 0);
    msg.writeUInt32BE(1, 4);
    msg.writeUInt8(type, 8);
    msg.writeUInt8(0, 9);
    const stream = msg.subarray(0, Math.floor((10 + len) * sentFraction));
    const frames: Buffer[] = [];
    for (let off = 0; off < stream.length; off += frameMax) {
      frames.push(muxFrame(connId, stream.subarray(off, off + frameMax)));
    }
    return Buffer.concat(frames);
  });

const input = fc.oneof(
  fc.uint8Array({ maxLength: 2048 }).map((u) => Buffer.from(u)),
  bigMessage,
  fc
    .tuple(fc.array(validMessage, { minLength: 1, maxLength: 4 }), fc.array(mutation, { maxLength: 4 }))
    .map(([msgs, muts]) => mutate(Buffer.concat(msgs), muts)),
);

/** Checks that the plugin's output is whole frames on conn 1/2 obeying nri-protocol.md §3.4. */
function assertWellFramed(written: Buffer[]): void {
  let expectPayload: number | undefined;
  for (const w of written) {
    const frames = parseFrames(w);
    assert.equal(frames.length, 1, "one frame per socket write");
    const f = frames[0]!;
    assert.ok(f.connId === 1 || f.connId === 2);
    assert.ok(f.payload.length > 0, "no zero-length frames");
    if (expectPayload !== undefined) {
      assert.equal(f.payload.length, expectPayload, "payload frame follows its header frame");
      expectPayload = undefined;
      continue;
    }
    assert.ok(f.payload.length <= 4096, "a frame at a message boundary is ≤ 4096 bytes");
    const len = f.payload.readUInt32BE(0);
    if (f.payload.length === 10 && len > 0 && 10 + len > 4096) expectPayload = len;
    else assert.equal(f.payload.length, 10 + len, "small message sent as one frame");
  }
}

describe("nri plugin-side decoder fuzz", () => {
  const problems: unknown[] = [];
  const onProblem = (e: unknown): void => void problems.push(e);
  before(() => {
    process.on("uncaughtException", onProblem);
    process.on("unhandledRejection", onProblem);
  });
  after(() => {
    process.off("uncaughtException", onProblem);
    process.off("unhandledRejection", onProblem);
  });

  it(`survives ${RUNS} random and mutated inputs with bounded memory`, async () => {
    let closedRuns = 0;
    let maxBuffered = 0;
    await fc.assert(
      fc.asyncProperty(
        input,
        fc.array(fc.oneof(fc.nat({ max: 64 }), fc.nat({ max: 3 * MAX_MESSAGE })), { maxLength: 8 }),
        async (bytes, cuts) => {
          const p = plugin();
          let off = 0;
          for (const c of [...cuts, bytes.length]) {
            const chunk = bytes.subarray(off, Math.min(bytes.length, off + Math.max(1, c)));
            off += chunk.length;
            if (chunk.length > 0) p.sock.emit("data", chunk);
            const buffered = Math.max(p.server.bufferedBytes, p.client.bufferedBytes);
            maxBuffered = Math.max(maxBuffered, buffered);
            assert.ok(buffered <= 10 + MAX_MESSAGE, `buffered ${buffered} over the limit`);
            if (off >= bytes.length) break;
          }
          if (off < bytes.length) p.sock.emit("data", bytes.subarray(off));
          if (p.mux.isClosed) {
            closedRuns++;
            const r = p.mux.closeReason;
            assert.ok(r === undefined || r.name === "ProtocolError", `clean close, got ${String(r)}`);
          }
          // Let this run's handlers settle (each writes its reply before leaving the in-flight count),
          // then check everything it wrote; the socket is dropped with the run, so memory stays flat.
          const deadline = Date.now() + 5_000;
          while (p.server.inflightCount > 0) {
            assert.ok(Date.now() < deadline, `${p.server.inflightCount} handlers still in flight`);
            await tick();
          }
          assertWellFramed(p.sock.written);
          p.mux.close();
        },
      ),
      { numRuns: RUNS },
    );
    // One event-loop turn so that a rejection left unhandled by the last run is reported.
    await tick();
    assert.deepEqual(problems, []);
    assert.ok(closedRuns > 0, "some inputs must hit the frame-length limit");
    assert.ok(maxBuffered > 0);
    console.warn(
      `nri-fuzz: ${RUNS} runs, ${closedRuns} closed by a ProtocolError, max buffered ${maxBuffered} bytes`,
    );
  });
});
