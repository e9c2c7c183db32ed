// Cross-layer: ResctrlPlugin behind the real NriStub, driven over a unix socket by FakeRuntime
// (in-process), over MemFs. Wire-level checks of what the handler-level specs
// (src/plugin/plugin.spec.ts) cannot see: the subscription mask the runtime receives, chunked
// Synchronize through the stub, the 2 s reply bound, reconnects and hostile event values.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { NriStub } from "../src/nri/index.js";
import { FakeRuntime } from "../support/fakes/fake-runtime.js";
import { fakeContainer, fakePod, tempSocket } from "../support/fakes/fake-runtime-fixtures.js";
import { MON, harness, until, type Harness } from "./support/plugin-harness.js";

interface Rig {
  h: Harness;
  runtime: FakeRuntime;
  stub: NriStub;
}
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function rig(
  opts: {
    chunk?: number;
    requestTimeoutMs?: number;
    seed?: (r: FakeRuntime) => void;
    script?: (h: Harness) => void;
  } & Parameters<typeof harness>[0] = {},
): Promise<Rig> {
  const sock = tempSocket("plugin-over-nri-");
  cleanups.push(sock.cleanup);
  const runtime = await FakeRuntime.listen({
    socketPath: sock.path,
    syncChunkSize: opts.chunk,
    requestTimeoutMs: opts.requestTimeoutMs,
  });
  cleanups.push(() => runtime.close());
  opts.seed?.(runtime);
  const h = harness(opts);
  opts.script?.(h);
  const stub = new NriStub(h.plugin, {
    name: "resctrl",
    idx: "10",
    socketPath: sock.path,
    reconnect: { initialMs: 20 },
  });
  cleanups.push(() => stub.stop());
  await stub.start();
  await runtime.waitForPlugin(5000);
  return { h, runtime, stub };
}

describe("plugin over NRI (FakeRuntime ↔ NriStub)", () => {
  it("subscribes with mask 0x625; RUN, START (also of an ephemeral container), REMOVE produce Exists counts, then Removed", async () => {
    const { h, runtime } = await rig();
    assert.equal(runtime.plugin?.mask, 0x625);
    const p = fakePod(1);
    const c = fakeContainer(p, 1);
    h.pids.setPids(c.id, [101]);
    await runtime.runPodSandbox(p);
    await runtime.createContainer(p, c);
    await runtime.startContainer(p, c);
    const dbg = fakeContainer(p, "dbg");
    h.pids.setPids(dbg.id, [202]);
    await runtime.startContainer(p, dbg); // an ephemeral container (kubectl debug) into the running pod
    await runtime.removeContainer(p, c);
    await runtime.removePodSandbox(p);
    assert.deepEqual(h.trace(), [
      `${p.uid} Exists 0/0`,
      `${p.uid} Exists 1/1`,
      `${p.uid} Exists 2/2`,
      `${p.uid} Exists 1/1`,
      `${p.uid} Removed`,
    ]);
    assert.equal(h.fs.isDir(`${MON}/pod_${p.uid}`), false);
  });

  it("chunked Synchronize (more=true): one cleanup before any group; nothing created is deleted", async () => {
    const pods = [fakePod(1), fakePod(2), fakePod(3)];
    const ctrs = pods.flatMap((p, i) => [fakeContainer(p, `${i}a`), fakeContainer(p, `${i}b`)]);
    const { h } = await rig({
      chunk: 2,
      seed: (r) => {
        pods.forEach((p) => r.addPod(p));
        ctrs.forEach((c) => r.addContainer(c));
      },
      script: (x) => ctrs.forEach((c, i) => x.pids.setPids(c.id, [1000 + i])),
    });
    await h.plugin.idle();
    const snap = h.plugin.snapshot();
    assert.equal(snap.length, 3);
    for (const p of snap) {
      assert.equal(p.groupState.kind, "Exists");
      assert.ok(h.fs.isDir(`${MON}/pod_${p.podUid}`), "group survives the later chunks");
      assert.deepEqual([p.totalContainers, p.reconciledContainers], [2, 2]);
    }
    assert.equal(h.logs.filter((l) => l.msg === "startup cleanup done").length, 1);
  });

  it("a Synchronize with slow cgroup reads replies within the 2 s request timeout; the rest follows", async () => {
    // 60 containers × 2 reads (assign, then verify) × 50 ms over 4 workers ≈ 1.5 s: more than the
    // 1 s inline budget, and 6 s if done serially inline, well past the runtime's 2 s timeout.
    const pods = Array.from({ length: 6 }, (_, i) => fakePod(i + 1));
    const ctrs = pods.flatMap((p, i) => Array.from({ length: 10 }, (_, j) => fakeContainer(p, `${i}x${j}`)));
    let t0 = 0;
    const { h, runtime, stub } = await rig({
      requestTimeoutMs: 2000,
      seed: (r) => {
        pods.forEach((p) => r.addPod(p));
        ctrs.forEach((c) => r.addContainer(c));
      },
      script: (x) => {
        t0 = Date.now();
        ctrs.forEach((c, i) =>
          x.pids.setFn(c.id, async () => {
            await new Promise((r) => setTimeout(r, 50));
            return [5000 + i];
          }),
        );
      },
    });
    const replied = Date.now() - t0;
    assert.ok(replied < 2000, `sync replied after ${replied} ms`);
    assert.ok(
      h.plugin.snapshot().some((p) => p.containers.some((c) => c.state === "Pending")),
      "part of the work continues after the reply",
    );
    await h.plugin.idle();
    assert.equal(stub.state, "synchronized");
    assert.equal(runtime.plugin?.closedReason, undefined, "no request timed out");
    const snap = h.plugin.snapshot();
    assert.equal(
      snap.reduce((n, p) => n + p.reconciledContainers, 0),
      60,
    );
  });

  it("reconnect after the runtime drops the plugin: resync is idempotent (no events, no mkdir)", async () => {
    const p = fakePod(1);
    const c = fakeContainer(p, 1);
    const { h, runtime } = await rig({
      seed: (r) => {
        r.addPod(p);
        r.addContainer(c);
      },
      script: (x) => x.pids.setPids(c.id, [7]),
    });
    await h.plugin.idle();
    const events = h.events.length;
    const mkdirs = h.fs.calls("mkdir");
    runtime.dropPlugin();
    await until(() => runtime.plugin?.closedReason !== undefined);
    await runtime.waitForPlugin(5000);
    await h.plugin.idle();
    assert.equal(runtime.plugin?.closedReason, undefined, "a fresh session registered");
    assert.equal(h.events.length, events);
    assert.equal(h.fs.calls("mkdir"), mkdirs);
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_${p.uid}`), [7]);
  });

  it("unknown event values and unsubscribed events change nothing; later events still work", async () => {
    const { h, runtime } = await rig();
    const p = fakePod(1);
    await runtime.sendStateChange(99, p).catch(() => false);
    await runtime.sendStateChange(0, p).catch(() => false);
    assert.equal(await runtime.stopPodSandbox(p), false, "STOP_POD_SANDBOX is not subscribed");
    assert.deepEqual(h.trace(), []);
    await runtime.runPodSandbox(p);
    assert.deepEqual(h.trace(), [`${p.uid} Exists 0/0`]);
  });
});
