// Fault: the runtime (FakeRuntime over a real unix socket) drops the connection while the plugin
// is still handling a big Synchronize. The stub reconnects, the runtime resynchronizes with the
// state as it is now, and the plugin must end with exactly one group per current pod: no crash, no
// unhandled rejection, no leaked group of a pod deleted meanwhile, no duplicate.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { NriStub } from "../src/nri/index.js";
import { ResctrlPlugin } from "../src/plugin/plugin.js";
import { Resctrl } from "../src/resctrl/index.js";
import { MemFs, MockPidSource } from "../src/testing/index.js";
import { FakeRuntime } from "../support/fakes/fake-runtime.js";
import { fakeContainer, fakePod, tempSocket } from "../support/fakes/fake-runtime-fixtures.js";
import { MON, ROOT, gate, until } from "./support/plugin-harness.js";

const PODS = 100;
const PER_POD = 5;

const podN = (p: number) => fakePod(p, { id: `sb-${p}-`.padEnd(64, "0") });
const ctrN = (p: number, c: number) => fakeContainer(podN(p), c, { id: `c-${p}-${c}` });
const tids = (p: number, c: number) => [10_000 + p * 10 + c];

describe("fault: runtime drops the connection mid-Synchronize", () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): void => void unhandled.push(e);
  before(() => process.on("unhandledRejection", onUnhandled));
  after(() => process.off("unhandledRejection", onUnhandled));

  it("reconnect + resync converges to exactly the current pods' groups", async () => {
    const sock = tempSocket("fault-drop-");
    const runtime = await FakeRuntime.listen({ socketPath: sock.path, requestTimeoutMs: 5000 });
    const fs = MemFs.withResctrl({ root: ROOT, rmidCapacity: 4096 });
    const resctrl = Resctrl.withProvider(fs, { root: ROOT, groupPrefix: "pod_" });
    const pids = new MockPidSource();
    const hold = gate();
    for (let p = 0; p < PODS; p++) {
      runtime.addPod(podN(p));
      for (let c = 0; c < PER_POD; c++) {
        runtime.addContainer(ctrN(p, c));
        pids.setFn(ctrN(p, c).id, async () => {
          await hold.promise;
          return tids(p, c);
        });
      }
    }
    const plugin = ResctrlPlugin.withPidSource({ syncInlineBudgetMs: 3000 }, resctrl, pids);
    const stub = new NriStub(plugin, {
      name: "resctrl",
      idx: "10",
      socketPath: sock.path,
      reconnect: { initialMs: 10, maxMs: 50, jitter: 0 },
    });
    let closes = 0;
    stub.on("closed", () => (closes += 1));
    stub.on("error", () => undefined);
    try {
      await stub.start();
      await until(() => pids.totalCalls() > 0, 5000); // the plugin is inside the big sync
      assert.equal(runtime.plugin?.syncReplies.length, 0, "dropped before the Synchronize reply");
      runtime.dropPlugin();
      await until(() => closes >= 1, 5000);

      // While disconnected: pods 0..49 are deleted, pods 100..119 are created.
      for (let p = 0; p < 50; p++) {
        runtime.removePodState(podN(p).id);
        for (let c = 0; c < PER_POD; c++) runtime.removeContainerState(ctrN(p, c).id);
      }
      for (let p = PODS; p < PODS + 20; p++) {
        runtime.addPod(podN(p));
        for (let c = 0; c < PER_POD; c++) {
          runtime.addContainer(ctrN(p, c));
          pids.setPids(ctrN(p, c).id, tids(p, c));
        }
      }
      hold.open();
      await runtime.waitForPlugin(10_000);
      await plugin.idle();

      const current = Array.from({ length: PODS + 20 - 50 }, (_, i) => podN(i + 50));
      const want = current.map((p) => `${MON}/pod_${p.uid}`).sort();
      assert.deepEqual(
        fs.groupPaths().filter((g) => g !== ROOT),
        want,
        "exactly one group per current pod",
      );
      const snap = plugin.snapshot();
      assert.deepEqual(snap.map((s) => s.podUid).sort(), current.map((p) => p.uid).sort());
      for (const s of snap) {
        assert.equal(s.groupState.kind, "Exists");
        assert.equal(s.sandboxIds.length, 1);
        assert.equal(s.reconciledContainers, PER_POD, `pod ${s.podUid} fully reconciled`);
      }
      for (const p of [50, 75, PODS + 19])
        assert.deepEqual(
          fs.tasksOf(`${MON}/pod_${podN(p).uid}`),
          Array.from({ length: PER_POD }, (_, c) => tids(p, c)[0]),
        );
      assert.ok(closes >= 1);
      assert.equal(stub.state, "synchronized");
      assert.deepEqual(unhandled, []);
    } finally {
      hold.open();
      await stub.stop();
      await plugin.close();
      await runtime.close();
      sock.cleanup();
    }
  });
});
