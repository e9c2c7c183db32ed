// ResctrlPlugin.sweep(): the daemon's unattended pass — vanished containers leave the counts,
// orphan pods (sandbox gone, no live container; no REMOVE_POD_SANDBOX ever came) are removed,
// Failed pods recover once capacity is free, resctrl health is re-checked — and the stats.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { NriContainerState } from "../nri/types.js";
import { MON, ROOT, ctr, gate, harness, inClass, pod, until } from "../../test/support/plugin-harness.js";

/** A `containerGone` script that counts its calls and answers from `answers` (the last repeats). */
function counted(answers: Array<boolean | Error>): { fn: () => boolean; calls: () => number } {
  let n = 0;
  return {
    fn: () => {
      const a = answers[Math.min(n, answers.length - 1)] as boolean | Error;
      n += 1;
      if (a instanceof Error) throw a;
      return a;
    },
    calls: () => n,
  };
}

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

  it("reports how long the pass took", async () => {
    const h = harness();
    await h.plugin.runPodSandbox(pod("u1"));
    const r = await h.plugin.sweep();
    assert.ok(r.durationMs >= 0 && r.durationMs < 60_000, String(r.durationMs));
  });
});

describe("ResctrlPlugin.sweep: vanished containers", () => {
  it("a Partial container whose cgroup and process vanished leaves the counts too", async () => {
    const h = harness();
    const p = pod("u1");
    await h.plugin.runPodSandbox(p);
    await h.plugin.startContainer(p, ctr("c1", p.id)); // no tasks yet: Partial
    assert.equal(h.plugin.snapshot()[0]?.containers[0]?.state, "Partial");
    h.pids.setContainerGone("c1", true);
    const r = await h.plugin.sweep();
    assert.equal(r.containersVanished, 1);
    assert.equal(h.plugin.snapshot()[0]?.containers[0]?.state, "Stopped");
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Exists 1/0", "u1 Exists 0/0"]);
  });

  it("one existence check per counted container and sweep; none for a stopped one; a rejecting check is not repeated", async () => {
    const h = harness();
    const p = pod("u1");
    h.pids.setPids("c1", [11]).setPids("c2", [12]).setPids("c3", [13]);
    await h.plugin.runPodSandbox(p);
    for (const id of ["c1", "c2", "c3"]) await h.plugin.startContainer(p, ctr(id, p.id));
    await h.plugin.stopContainer(p, ctr("c2", p.id, NriContainerState.STOPPED));
    const healthy = counted([false]);
    const stopped = counted([true]);
    const failing = counted([new Error("EACCES")]);
    h.pids
      .setContainerGone("c1", healthy.fn)
      .setContainerGone("c2", stopped.fn)
      .setContainerGone("c3", failing.fn);
    const r = await h.plugin.sweep();
    assert.equal(r.containersVanished, 0);
    assert.deepEqual([healthy.calls(), stopped.calls(), failing.calls()], [1, 0, 1]);
    assert.equal(
      h.logs.some((l) => l.msg === "failed to check whether the container exited; Partial"),
      false,
      "a rejecting first check is no reason to look again under the lock",
    );
    assert.equal(h.plugin.snapshot()[0]?.totalContainers, 2);
  });

  it("a container that looks gone but not on the re-check under the lock is kept and not counted", async () => {
    const h = harness();
    const p = pod("u1");
    h.pids.setPids("c1", [11]);
    await h.plugin.runPodSandbox(p);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    const flapping = counted([true, false]);
    h.pids.setContainerGone("c1", flapping.fn);
    const r = await h.plugin.sweep();
    assert.equal(flapping.calls(), 2, "checked again under the lock");
    assert.equal(r.containersVanished, 0);
    assert.equal(h.plugin.stats.containersVanished, 0);
    assert.equal(h.plugin.snapshot()[0]?.containers[0]?.state, "Reconciled");
  });
});

describe("ResctrlPlugin.sweep: a container removed while its existence check runs", () => {
  it("is neither checked again nor counted", async () => {
    const h = harness();
    const p = pod("u1");
    h.pids.setPids("c1", [11]);
    await h.plugin.runPodSandbox(p);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    const hold = gate();
    let checks = 0;
    h.pids.containerGone = async () => {
      checks += 1;
      await hold.promise;
      return true;
    };
    const sweeping = h.plugin.sweep();
    await until(() => checks === 1);
    await h.plugin.removeContainer(p, ctr("c1", p.id, NriContainerState.STOPPED));
    hold.open();
    const r = await sweeping;
    assert.equal(checks, 1, "no second check under the lock");
    assert.equal(r.containersVanished, 0);
    assert.equal(h.plugin.stats.containersVanished, 0);
  });
});

describe("ResctrlPlugin.sweep: orphans and resctrl health", () => {
  it("a pod the retry pass prunes counts in the sweep's podsPruned", async () => {
    const h = harness();
    const p = pod("u1");
    h.pids.setPids("c1", [11]);
    await h.plugin.runPodSandbox(p);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    // Alive when the REMOVE_CONTAINER and the sweep's own orphan step ask, gone by the retry pass.
    let asked = 0;
    h.pids.sandboxGone = async () => {
      asked += 1;
      return asked >= 3;
    };
    await h.plugin.removeContainer(p, ctr("c1", p.id, NriContainerState.STOPPED));
    const r = await h.plugin.sweep();
    assert.equal(asked, 3);
    assert.equal(r.retry?.podsPruned, 1);
    assert.equal(r.podsPruned, 1);
    assert.equal(h.events.at(-1)?.kind, "Removed");
  });

  it("a healthy resctrl is not re-checked", async () => {
    const h = harness();
    await h.plugin.runPodSandbox(pod("u1"));
    await h.plugin.sweep();
    assert.equal(
      h.logs.some((l) => l.msg === "resctrl is usable now"),
      false,
    );
    assert.deepEqual(h.plugin.health(), { resctrl: "usable" });
  });

  it("a recovered resctrl is logged with its root; a failed re-check keeps it unusable with the new reason", async () => {
    const h = harness({ fs: { mounted: false } });
    h.fs.setMountError("EPERM", 1);
    await h.plugin.runPodSandbox(pod("u1"));
    assert.equal(h.plugin.health().resctrl, "unusable");
    h.fs.setMountError("EACCES", 1);
    await h.plugin.sweep();
    const still = h.plugin.health();
    assert.equal(still.resctrl, "unusable");
    assert.match(still.reason ?? "", /EACCES/, "the re-check's own error");
    await h.plugin.sweep();
    assert.deepEqual(h.plugin.health(), { resctrl: "usable" });
    const usable = h.logs.filter((l) => l.msg === "resctrl is usable now");
    assert.equal(usable.length, 1);
    assert.equal(usable[0]?.root, ROOT);
  });
});

describe("ResctrlPlugin.sweep: RDT classes that went away", () => {
  it("lists the control groups only when some pod has class groups or a blocked container", async () => {
    const h = harness();
    const p = pod("u2");
    h.pids.setPids("c1", [11]);
    await h.plugin.runPodSandbox(pod("u1")); // no container
    await h.plugin.runPodSandbox(p);
    await h.plugin.startContainer(p, ctr("c1", p.id)); // Reconciled, not blocked
    const before = h.fs.calls("list", ROOT);
    await h.plugin.sweep();
    assert.equal(h.fs.calls("list", ROOT), before);
  });

  it("a failing control-group listing skips the class check with a warning; the sweep goes on", async () => {
    const h = harness();
    const p = pod("u1");
    await h.plugin.runPodSandbox(p);
    await inClass(h.fs, "gold", 11);
    h.pids.setPids("c1", [11]);
    await h.plugin.startContainer(p, ctr("c1", p.id)); // blocked by gold
    await h.fs.removeDir(`${ROOT}/gold`);
    h.fs.failNext("list", ROOT, "EIO");
    const r = await h.plugin.sweep();
    const warn = h.logs.find((l) => l.msg === "failed to list RDT control groups; class check skipped");
    assert.ok(warn, "warned");
    assert.equal(warn.level, 40);
    assert.ok(warn.err, "with the error");
    assert.equal(r.retry?.containerAttempts, 0, "still blocked this time");
    assert.equal((await h.plugin.sweep()).retry?.containersReconciled, 1, "unblocked by the next sweep");
  });

  it("a container blocked by two classes is unblocked when one of them goes", async () => {
    const h = harness();
    const p = pod("u1");
    await h.plugin.runPodSandbox(p);
    await inClass(h.fs, "gold", 11);
    await inClass(h.fs, "silver", 12);
    h.pids.setPids("c1", [11, 12]);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    assert.match(h.plugin.snapshot()[0]?.containers[0]?.reason ?? "", /gold, silver/);
    await h.fs.removeDir(`${ROOT}/gold`); // its task 11 goes back to the default group
    const r = await h.plugin.sweep();
    assert.equal(r.retry?.containerAttempts, 1, "retried");
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_u1`), [11]);
    assert.match(h.plugin.snapshot()[0]?.containers[0]?.reason ?? "", /group silver:/);
  });

  it("followRdtClasses: a pod removed while the control groups are listed is left alone", async () => {
    const h = harness({ cfg: { followRdtClasses: true } });
    const p = pod("u1");
    await h.plugin.runPodSandbox(p);
    await inClass(h.fs, "gold", 11);
    h.pids.setPids("c1", [11]);
    await h.plugin.startContainer(p, { ...ctr("c1", p.id), pid: 11 });
    await h.fs.removeDir(`${ROOT}/gold`);
    const hold = gate();
    let listing = false;
    const list = h.fs.readChildDirs.bind(h.fs);
    h.fs.readChildDirs = async (path) => {
      if (path === ROOT && !listing) {
        listing = true;
        await hold.promise;
      }
      return list(path);
    };
    const sweeping = h.plugin.sweep();
    await until(() => listing);
    await h.plugin.removePodSandbox(p);
    hold.open();
    await sweeping;
    assert.equal(
      h.logs.some((l) => l.msg === "RDT class removed; the pod's tasks go back to its root group"),
      false,
    );
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Exists 1/1", "u1 Removed"]);
  });
});
