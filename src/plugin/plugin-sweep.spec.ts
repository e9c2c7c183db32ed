// ResctrlPlugin.sweep(): the daemon's unattended pass — vanished containers leave the counts,
// orphan pods (sandbox gone, no live container; no REMOVE_POD_SANDBOX ever came) are removed,
// Failed pods recover once capacity is free, resctrl health is re-checked — and the stats.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ctr, gate, harness, pod } from "../../test/support/plugin-harness.js";

describe("ResctrlPlugin.sweep", () => {
  it("does nothing before the first runtime contact", async () => {
    const h = harness();
    const r = await h.plugin.sweep();
    assert.equal(r.retry, undefined);
    assert.equal(h.plugin.stats.retrySweeps, 0);
    assert.deepEqual(h.plugin.health(), { resctrl: "unknown" });
  });

  it("removes a pod that never had a container once its sandbox is gone (runtime restart: no REMOVE_POD_SANDBOX)", async () => {
    const h = harness();
    const p = pod("u1");
    await h.plugin.runPodSandbox(p);
    assert.deepEqual(h.plugin.health(), { resctrl: "usable" });
    let r = await h.plugin.sweep();
    assert.equal(r.podsPruned, 0, "sandbox alive: kept");
    h.pids.setSandboxGone("u1", true);
    r = await h.plugin.sweep();
    assert.equal(r.podsPruned, 1);
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Removed"]);
    assert.equal(h.fs.isDir("/sys/fs/resctrl/mon_groups/pod_u1"), false, "group rmdir'd");
    assert.deepEqual(h.plugin.snapshot(), []);
    assert.equal(h.plugin.stats.podsPruned, 1);
    assert.equal(h.plugin.stats.retrySweeps, 2);
    const last = h.events.at(-1);
    assert.deepEqual(last, { kind: "Removed", podUid: "u1", podName: "name-u1", podNamespace: "default" });
  });

  it("a counted container whose cgroup and process vanished without STOP_CONTAINER leaves the counts; then the orphan pod goes", async () => {
    const h = harness();
    const p = pod("u1");
    h.pids.setPids("c1", [11]).setPids("c2", [12]);
    await h.plugin.runPodSandbox(p);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    await h.plugin.startContainer(p, ctr("c2", p.id));
    h.pids.setContainerGone("c1", true);
    let r = await h.plugin.sweep();
    assert.equal(r.containersVanished, 1);
    assert.equal(r.podsPruned, 0, "c2 still runs");
    h.pids.setContainerGone("c2", true).setSandboxGone(p.id, true);
    r = await h.plugin.sweep();
    assert.equal(r.containersVanished, 1);
    assert.equal(r.podsPruned, 1);
    assert.deepEqual(h.trace(), [
      "u1 Exists 0/0",
      "u1 Exists 1/1",
      "u1 Exists 2/2",
      "u1 Exists 1/1",
      "u1 Exists 0/0",
      "u1 Removed",
    ]);
    assert.equal(h.plugin.stats.containersVanished, 2);
  });

  it("keeps a pod whose sandbox looks gone while a container still runs, and on any doubt", async () => {
    const h = harness();
    const p = pod("u1");
    h.pids.setPids("c1", [11]);
    await h.plugin.runPodSandbox(p);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    h.pids.setSandboxGone("u1", true).setContainerGone("c1", false);
    assert.equal((await h.plugin.sweep()).podsPruned, 0);
    h.pids.setContainerGone("c1", new Error("EACCES"));
    assert.equal((await h.plugin.sweep()).containersVanished, 0, "a rejecting source keeps it");
    assert.equal(h.plugin.snapshot()[0]?.totalContainers, 1);
  });

  it("a Failed pod recovers on the next sweep once RMIDs are free, with no operator action", async () => {
    const h = harness();
    h.fs.failMkdirWithEnospc(true);
    await h.plugin.runPodSandbox(pod("u1"));
    await h.plugin.runPodSandbox(pod("u2"));
    let r = await h.plugin.sweep();
    assert.equal(r.retry?.stoppedOnCapacity, true);
    assert.equal(r.retry?.groupsSkipped, 1, "stops at the first capacity error");
    assert.deepEqual(h.plugin.stats.groupCreateFailures, { capacity: 3, other: 0 });
    h.fs.failMkdirWithEnospc(false);
    r = await h.plugin.sweep();
    assert.equal(r.retry?.groupsCreated, 2);
    assert.deepEqual(h.trace(), ["u1 Failed 0/0", "u2 Failed 0/0", "u1 Exists 0/0", "u2 Exists 0/0"]);
  });

  it("counts non-capacity creation failures as other", async () => {
    const h = harness();
    h.fs.failNext("mkdir", "/sys/fs/resctrl/mon_groups/pod_u1", "EACCES");
    await h.plugin.runPodSandbox(pod("u1"));
    assert.deepEqual(h.plugin.stats.groupCreateFailures, { capacity: 0, other: 1 });
  });

  it("concurrent sweeps share the pass in flight", async () => {
    const h = harness();
    const p = pod("u1");
    await h.plugin.runPodSandbox(p);
    const g = gate();
    h.pids.setSandboxGone("u1", false);
    const original = h.pids.sandboxGone.bind(h.pids);
    h.pids.sandboxGone = async (x) => {
      await g.promise;
      return original(x);
    };
    const a = h.plugin.sweep();
    const b = h.plugin.sweep();
    g.open();
    assert.equal(await a, await b);
    assert.equal(h.plugin.stats.retrySweeps, 1);
    assert.equal(h.pids.sandboxGoneCalls(), 1);
  });

  it("re-checks an unusable resctrl on each sweep until it mounts", async () => {
    const h = harness({ fs: { mounted: false } });
    h.fs.setMountError("EPERM", 1);
    await h.plugin.runPodSandbox(pod("u1"));
    const bad = h.plugin.health();
    assert.equal(bad.resctrl, "unusable");
    assert.match(bad.reason ?? "", /.+/);
    await h.plugin.sweep();
    assert.deepEqual(h.plugin.health(), { resctrl: "usable" });
    assert.equal(
      h.plugin.snapshot()[0]?.groupState.kind,
      "Exists",
      "and the Failed pod recovers in the same sweep",
    );
  });
});
