import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { NriStub } from "../../src/nri/stub.js";
import type { NriContainer, NriPod } from "../../src/nri/types.js";
import { FakeRuntime } from "./fake-runtime.js";
import { fakeContainer, fakePod, tempSocket } from "./fake-runtime-fixtures.js";
import { goWriterFrames, parseNriGeneration, type NriGeneration } from "./nri-generations.js";

describe("goWriterFrames: frames a Go runtime writes for one message", () => {
  it("a message of at most 4096 bytes is one frame", () => {
    assert.deepEqual(
      goWriterFrames(Buffer.alloc(4096, 1), 100).map((f) => f.length),
      [4096],
    );
  });
  it("a larger one: 4096 bytes, then the rest as one frame, or a tail of at most 4096", () => {
    assert.deepEqual(
      goWriterFrames(Buffer.alloc(5000), 1 << 20).map((f) => f.length),
      [4096, 904],
    );
    assert.deepEqual(
      goWriterFrames(Buffer.alloc(4096 * 2), 1 << 20).map((f) => f.length),
      [4096, 4096],
    );
    assert.deepEqual(
      goWriterFrames(Buffer.alloc(20_000), 1 << 20).map((f) => f.length),
      [4096, 15_904],
    );
  });
  it("the rest is split at the mux's frame cap (v0.8+: 10 + 4 MiB)", () => {
    const cap = 10_000;
    const frames = goWriterFrames(Buffer.alloc(4096 + 25_000), cap);
    assert.deepEqual(
      frames.map((f) => f.length),
      [4096, 10_000, 10_000, 5000],
    );
    assert.equal(Buffer.concat(frames).length, 4096 + 25_000);
  });
});

describe("parseNriGeneration", () => {
  it("accepts v0.8, 0.8 and v0.8.0; names the choices otherwise", () => {
    assert.equal(parseNriGeneration("v0.8"), "v0.8");
    assert.equal(parseNriGeneration("0.10"), "v0.10");
    assert.equal(parseNriGeneration("v0.12.0"), "v0.12");
    assert.throws(() => parseNriGeneration("v0.7"), /use one of v0.6, v0.8, v0.10, v0.12/);
  });
});

/** A plugin on our real stub that records what it is told. */
function recorder(configureMask?: number): {
  handler: Record<string, unknown>;
  seen: string[];
  syncs: Array<{ pods: number; containers: number }>;
} {
  const seen: string[] = [];
  const syncs: Array<{ pods: number; containers: number }> = [];
  const handler = {
    configure: () => (configureMask === undefined ? undefined : { events: configureMask }),
    synchronize: (pods: NriPod[], containers: NriContainer[]) => {
      syncs.push({ pods: pods.length, containers: containers.length });
    },
    runPodSandbox: (p: NriPod) => void seen.push(`run ${p.name}`),
    startContainer: (_p: NriPod, c: NriContainer) => void seen.push(`start ${c.name}`),
    stopContainer: (_p: NriPod, c: NriContainer) => void seen.push(`stop ${c.name}`),
    removeContainer: (_p: NriPod, c: NriContainer) => void seen.push(`remove ${c.name}`),
  };
  return { handler, seen, syncs };
}

describe("FakeRuntime speaks each NRI generation", () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function connect(
    nri: NriGeneration,
    state: { pods?: NriPod[]; containers?: NriContainer[] } = {},
    configureMask?: number,
  ): Promise<{ rt: FakeRuntime; rec: ReturnType<typeof recorder> }> {
    const { cleanup, path } = tempSocket();
    const rt = await FakeRuntime.listen({ socketPath: path, nri });
    for (const p of state.pods ?? []) rt.addPod(p);
    for (const c of state.containers ?? []) rt.addContainer(c);
    const rec = recorder(configureMask);
    const stub = new NriStub(rec.handler, { name: "rec", idx: "10", socketPath: path });
    cleanups.push(
      cleanup,
      () => rt.close(),
      () => stub.stop(),
    );
    await stub.start();
    await rt.waitForPlugin(5000);
    return { rt, rec };
  }

  it("v0.6: no Configure timeouts, one Synchronize however large", async () => {
    const pods = Array.from({ length: 150 }, (_, i) =>
      fakePod(i, { id: `p${i}`.padStart(64, "a"), annotations: { big: "x".repeat(32 * 1024) } }),
    );
    const { rt, rec } = await connect("v0.6", { pods });
    const info = rt.plugin!;
    assert.equal(info.configureRequests[0]?.requestTimeout, 0);
    assert.equal(info.configureRequests[0]?.runtimeVersion, "1.7.24-fake");
    assert.equal(info.syncRequests.length, 1);
    assert.deepEqual(rec.syncs, [{ pods: 150, containers: 0 }]);
  });

  it("v0.8: Configure carries timeouts; a state over 4 MiB is split into `more` chunks the stub acknowledges", async () => {
    const pods = Array.from({ length: 150 }, (_, i) =>
      fakePod(i, { id: `p${i}`.padStart(64, "a"), annotations: { big: "x".repeat(32 * 1024) } }),
    );
    const containers = pods.map((p, i) => fakeContainer(p, i, { id: `c${i}`.padStart(64, "b") }));
    const { rt, rec } = await connect("v0.8", { pods, containers });
    const info = rt.plugin!;
    assert.equal(info.configureRequests[0]?.requestTimeout, 2000);
    assert.equal(info.configureRequests[0]?.registrationTimeout, 5000);
    assert.ok(info.syncRequests.length >= 2, `split into ${info.syncRequests.length} requests`);
    assert.deepEqual(
      info.syncRequests.map((r) => r.more),
      [...info.syncRequests.slice(1).map(() => true), false],
    );
    assert.ok(info.syncReplies.slice(0, -1).every((r) => r.more && r.update.length === 0));
    assert.deepEqual(rec.syncs, [{ pods: 150, containers: 150 }], "the stub hands over the whole state once");
  });

  it("v0.12: the dedicated RPC first; after the stub's UNIMPLEMENTED, StateChange for good", async () => {
    const pod = fakePod(1);
    const { rt, rec } = await connect("v0.12");
    assert.equal(rt.plugin?.configureRequests[0]?.NRIVersion, "v0.12.0");
    assert.equal(await rt.runPodSandbox(pod), true);
    assert.equal(rt.plugin?.stateChangeFallback, true);
    const c = fakeContainer(pod, 1);
    await rt.startContainer(pod, c);
    await rt.stopContainer(pod, { ...c, state: 4 });
    await rt.removeContainer(pod, c);
    assert.deepEqual(rec.seen, ["run pod-1", "start c-1", "stop c-1", "remove c-1"]);
    assert.deepEqual(
      rt.journal.filter((r) => r.method !== "Synchronize").map((r) => `${r.method} ${r.event}`),
      [
        "StateChange RUN_POD_SANDBOX",
        "StateChange START_CONTAINER",
        "StopContainer STOP_CONTAINER",
        "StateChange REMOVE_CONTAINER",
      ],
    );
  });
});
