// RDT classes: with followRdtClasses a pod's tasks are monitored inside the control group they
// live in (one group per pod and class); without it, tasks in a class are reported with a reason
// and never retried in a loop; classes that go away; removal and startup cleanup.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ctr, harness, inClass, pod, ROOT, MON } from "../../test/support/plugin-harness.js";
import { CgroupGoneError } from "./errors.js";

const GOLD = `${ROOT}/gold`;
const SILVER = `${ROOT}/silver`;

const follow = { cfg: { followRdtClasses: true } };

/** Pod u1 with container c1 (init pid `pid`, if given) started while its one task, 11, is in class gold. */
async function startedInGold(h: ReturnType<typeof harness>, pid?: number) {
  const p = pod("u1");
  await h.plugin.runPodSandbox(p);
  await inClass(h.fs, "gold", 11);
  h.pids.setPids("c1", [11]);
  await h.plugin.startContainer(p, pid === undefined ? ctr("c1", p.id) : { ...ctr("c1", p.id), pid });
  return h;
}

describe("ResctrlPlugin with followRdtClasses", () => {
  it("a pod in one class: its group lives inside the class, Exists shows it, both groups listed", async () => {
    const h = harness(follow);
    const p = pod("u1");
    await h.plugin.runPodSandbox(p);
    await inClass(h.fs, "gold", 11, 12);
    h.pids.setPids("c1", [11, 12]);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    assert.deepEqual(h.fs.tasksOf(`${GOLD}/mon_groups/pod_u1`), [11, 12]);
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Exists 1/1"]);
    assert.deepEqual(h.events.at(-1), {
      kind: "AddOrUpdate",
      podUid: "u1",
      podName: "name-u1",
      podNamespace: "default",
      groupState: { kind: "Exists", path: `${GOLD}/mon_groups/pod_u1` },
      totalContainers: 1,
      reconciledContainers: 1,
    });
    assert.deepEqual(h.plugin.snapshot()[0]?.groups, [
      { controlGroup: ROOT, path: `${MON}/pod_u1`, state: "Exists" },
      { controlGroup: GOLD, path: `${GOLD}/mon_groups/pod_u1`, state: "Exists" },
    ]);
    assert.deepEqual((await h.plugin.groupTasks("u1")).sort(), [11, 12]);
  });

  it("a pod split over a class and the root: each task monitored where it lives; removal deletes both groups", async () => {
    const h = harness(follow);
    const p = pod("u1");
    await h.plugin.runPodSandbox(p);
    await inClass(h.fs, "gold", 11);
    h.pids.setPids("c1", [11]).setPids("c2", [21, 22]);
    await h.plugin.startContainer(p, { ...ctr("c1", p.id), pid: 11 });
    await h.plugin.startContainer(p, { ...ctr("c2", p.id), pid: 21 });
    assert.deepEqual(h.fs.tasksOf(`${GOLD}/mon_groups/pod_u1`), [11]);
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_u1`), [21, 22]);
    const s = h.plugin.snapshot()[0];
    assert.equal(s?.reconciledContainers, 2);
    assert.deepEqual(
      s?.groupState,
      { kind: "Exists", path: `${GOLD}/mon_groups/pod_u1` },
      "first container's class",
    );
    await h.plugin.removePodSandbox(p);
    assert.equal(h.fs.isDir(`${GOLD}/mon_groups/pod_u1`), false);
    assert.equal(h.fs.isDir(`${MON}/pod_u1`), false);
    assert.equal(h.fs.isDir(GOLD), true, "the class itself is not ours");
    assert.equal(h.events.at(-1)?.kind, "Removed");
  });

  it("a class removed under a running pod: the next sweep puts the tasks into the pod's root group, no error loop", async () => {
    const h = await startedInGold(harness(follow), 11);
    await h.fs.removeDir(GOLD); // the kernel moves its tasks to the default group and drops its mon groups
    assert.equal(h.fs.groupOf(11), ROOT);
    const r = await h.plugin.sweep();
    assert.equal(r.retry?.failures.length, 0);
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_u1`), [11]);
    const s = h.plugin.snapshot()[0];
    assert.deepEqual(s?.groupState, { kind: "Exists", path: `${MON}/pod_u1` });
    assert.equal(s?.reconciledContainers, 1);
    assert.equal(s?.groups, undefined, "no class group left");
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Exists 1/1", "u1 Exists 1/1"], "the path changed back");
    const again = await h.plugin.sweep();
    assert.equal(again.retry?.containerAttempts, 0, "nothing to retry afterwards");
  });

  it("a class removed: the caller-driven retryAllOnce (--retry-interval 0) notices it too", async () => {
    const h = await startedInGold(harness(follow), 11);
    await h.fs.removeDir(GOLD);
    await h.plugin.retryAllOnce();
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_u1`), [11]);
    assert.equal(h.plugin.snapshot()[0]?.groups, undefined);
  });

  it("capacity is per group: a class group hitting ENOSPC leaves the container Partial, the sweep creates it later", async () => {
    const h = harness(follow);
    const p = pod("u1");
    await h.plugin.runPodSandbox(p);
    await inClass(h.fs, "gold", 11);
    h.pids.setPids("c1", [11]);
    h.fs.failMkdirWithEnospc(true);
    await h.plugin.startContainer(p, { ...ctr("c1", p.id), pid: 11 });
    let s = h.plugin.snapshot()[0];
    assert.equal(s?.containers[0]?.state, "Partial");
    assert.match(s?.containers[0]?.reason ?? "", /RMIDs exhausted/);
    assert.deepEqual(s?.groups?.[1], {
      controlGroup: GOLD,
      path: `${GOLD}/mon_groups/pod_u1`,
      state: "Failed",
      error: s?.containers[0]?.reason,
    });
    assert.equal(
      h.logs.find((l) => /^failed to create the pod's group in an RDT class/.test(l.msg))?.podUid,
      "u1",
    );
    assert.deepEqual(h.plugin.stats.groupCreateFailures, { capacity: 1, other: 0 });
    h.fs.failMkdirWithEnospc(false);
    await h.plugin.sweep();
    s = h.plugin.snapshot()[0];
    assert.equal(s?.containers[0]?.state, "Reconciled");
    assert.equal(s?.containers[0]?.reason, undefined);
    assert.deepEqual(h.fs.tasksOf(`${GOLD}/mon_groups/pod_u1`), [11]);
  });

  it("startup cleanup removes our stale groups inside classes only with the flag on", async () => {
    for (const on of [true, false]) {
      const h = harness({ cfg: { followRdtClasses: on } });
      await h.fs.createDir(GOLD);
      await h.fs.createDir(`${GOLD}/mon_groups/pod_stale`);
      await h.fs.createDir(`${GOLD}/mon_groups/theirs`);
      await h.plugin.synchronize([], []);
      assert.equal(h.fs.isDir(`${GOLD}/mon_groups/pod_stale`), !on, `flag ${on}`);
      assert.equal(h.fs.isDir(`${GOLD}/mon_groups/theirs`), true);
    }
  });
});

describe("ResctrlPlugin with followRdtClasses off (the default)", () => {
  it("tasks in a class: Partial with a reason naming the class, one warning per pod, no retry loop", async () => {
    const h = harness();
    const p = pod("u1");
    await h.plugin.runPodSandbox(p);
    await inClass(h.fs, "gold", 11);
    h.pids.setPids("c1", [11]).setPids("c2", [11]);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    await h.plugin.startContainer(p, ctr("c2", p.id));
    const s = h.plugin.snapshot()[0];
    assert.equal(s?.containers[0]?.state, "Partial");
    assert.match(s?.containers[0]?.reason ?? "", /RDT control group gold.*--follow-rdt-classes/);
    assert.equal(h.fs.isDir(`${GOLD}/mon_groups/pod_u1`), false, "nothing created inside the class");
    const warnings = h.logs.filter((l) => /RDT class/.test(l.msg) && l.level === 40);
    assert.equal(warnings.length, 1, "one warning per pod");
    const r = await h.plugin.sweep();
    assert.equal(r.retry?.containerAttempts, 0, "blocked containers are not retried");
    assert.equal(h.fs.calls("write", `${MON}/pod_u1/tasks`) > 0, true);
    const writes = h.fs.calls("write", `${MON}/pod_u1/tasks`);
    await h.plugin.sweep();
    assert.equal(h.fs.calls("write", `${MON}/pod_u1/tasks`), writes, "no write attempts per tick");
  });

  it("…and once the class is gone, an operator's retryAllOnce retries it too", async () => {
    const h = await startedInGold(harness());
    await h.fs.removeDir(GOLD);
    const r = await h.plugin.retryAllOnce();
    assert.equal(r.containersReconciled, 1);
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_u1`), [11]);
  });

  it("…and once the class is gone, the sweep retries and the tasks land in the pod's group", async () => {
    const h = await startedInGold(harness());
    await h.fs.removeDir(GOLD);
    await h.plugin.sweep();
    const s = h.plugin.snapshot()[0];
    assert.equal(s?.containers[0]?.state, "Reconciled");
    assert.equal(s?.containers[0]?.reason, undefined);
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_u1`), [11]);
  });
});

/** A plugin following classes with pod u1 running (its sandbox started). */
async function followed(cfg: Record<string, unknown> = {}) {
  const h = harness({ cfg: { followRdtClasses: true, ...cfg } });
  const p = pod("u1");
  await h.plugin.runPodSandbox(p);
  return { h, p, state: () => h.plugin.snapshot()[0]?.containers[0] };
}

describe("ResctrlPlugin with followRdtClasses: where tasks live", () => {
  it("the pod's primary class is the one of the container's main process, not of its first-listed task", async () => {
    const { h, p } = await followed();
    await inClass(h.fs, "gold", 11);
    h.pids.setPids("c1", [21, 11]);
    await h.plugin.startContainer(p, { ...ctr("c1", p.id), pid: 11 });
    assert.deepEqual(h.plugin.snapshot()[0]?.groupState, {
      kind: "Exists",
      path: `${GOLD}/mon_groups/pod_u1`,
    });
    const rec = h.logs.find((l) => l.msg === "reconciled container across RDT classes");
    assert.deepEqual([rec?.podUid, rec?.containerId, rec?.reason], ["u1", "c1", "start"]);
  });

  it("without any class, tasks are not looked up one by one", async () => {
    const { h, p, state } = await followed();
    h.pids.setPids("c1", [11]);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    assert.equal(state()?.state, "Reconciled");
    assert.equal(h.fs.calls("read", "/proc/11/cpu_resctrl_groups"), 0);
  });

  it("a task that exited before its class was looked up is left out; the others are reconciled", async () => {
    const { h, p, state } = await followed();
    await inClass(h.fs, "gold", 11);
    h.fs.pidGone(12);
    h.pids.setPids("c1", [11, 12]);
    await h.plugin.startContainer(p, { ...ctr("c1", p.id), pid: 11 });
    assert.equal(state()?.state, "Reconciled");
    assert.deepEqual(h.fs.tasksOf(`${GOLD}/mon_groups/pod_u1`), [11]);
  });

  it("a container without tasks yet is Partial (no control group listed), with a record naming it", async () => {
    const { h, p, state } = await followed();
    const lists = h.fs.calls("list", ROOT);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    assert.equal(state()?.state, "Partial");
    assert.equal(h.fs.calls("list", ROOT), lists);
    const rec = h.logs.find((l) => l.msg === "container has no tasks yet; Partial");
    assert.deepEqual([rec?.podUid, rec?.containerId], ["u1", "c1"]);
  });

  it("a container whose cgroup vanished before its first reconcile is counted Stopped, with a warning naming it", async () => {
    const { h, p, state } = await followed();
    h.pids.setError("c1", new CgroupGoneError("c1", ["/x"]));
    h.pids.setContainerGone("c1", true);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    assert.equal(state()?.state, "Stopped");
    const rec = h.logs.find((l) => l.msg === "failed to reconcile container; Partial");
    assert.deepEqual([rec?.podUid, rec?.containerId], ["u1", "c1"]);
  });

  it("tasks that left a class between the lookup and the reconcile: that class is skipped, not an error", async () => {
    const { h, p, state } = await followed();
    await inClass(h.fs, "gold", 11);
    h.pids.setSequence("c1", [[11], [21]]); // 21: in the root group
    await h.plugin.startContainer(p, { ...ctr("c1", p.id), pid: 11 });
    assert.equal(state()?.state, "Reconciled");
    assert.equal(state()?.reason, undefined);
  });
});

describe("ResctrlPlugin with followRdtClasses: when a class group converged", () => {
  it("after every pass, it is read once more: tasks gone from the class by then still count as converged", async () => {
    const { h, p, state } = await followed({ maxReconcilePasses: 2 });
    await inClass(h.fs, "gold", 11, 12);
    h.pids.setSequence("c1", [[11], [11], [11, 12], []]);
    await h.plugin.startContainer(p, { ...ctr("c1", p.id), pid: 11 });
    assert.equal(state()?.state, "Reconciled");
    assert.equal(h.pids.calls("c1"), 4);
  });

  it("after every pass, it is read once more: a task forked into the class meanwhile leaves the container Partial, without a reason", async () => {
    const { h, p, state } = await followed({ maxReconcilePasses: 2 });
    await inClass(h.fs, "gold", 11, 12, 13);
    h.pids.setSequence("c1", [[11], [11], [11, 12], [11, 12, 13]]);
    await h.plugin.startContainer(p, { ...ctr("c1", p.id), pid: 11 });
    assert.equal(state()?.state, "Partial");
    assert.equal(state()?.reason, undefined);
  });

  it("before the last pass, it is not read again", async () => {
    const { h, p, state } = await followed();
    await inClass(h.fs, "gold", 11);
    h.pids.setPids("c1", [11]);
    await h.plugin.startContainer(p, { ...ctr("c1", p.id), pid: 11 });
    assert.equal(state()?.state, "Reconciled");
    assert.equal(h.pids.calls("c1"), 3, "the lookup, a write pass, a pass that finds every task in place");
  });

  it("a task the kernel refuses to move leaves the container Partial, even if it is gone when read once more", async () => {
    const { h, p, state } = await followed({ maxReconcilePasses: 2 });
    await inClass(h.fs, "gold", 11, 12);
    h.fs.pidDenied(12);
    h.pids.setSequence("c1", [[11, 12], [11, 12], [11, 12], [11]]);
    await h.plugin.startContainer(p, { ...ctr("c1", p.id), pid: 11 });
    assert.equal(state()?.state, "Partial");
    assert.equal(state()?.reason, undefined);
  });

  it("a class group whose tasks file cannot be written: Partial with the error as reason; a retry rejects with it", async () => {
    const { h, p, state } = await followed();
    await inClass(h.fs, "gold", 11);
    h.fs.denyPath(`${GOLD}/mon_groups/pod_u1/tasks`, ["write"]);
    h.pids.setPids("c1", [11]);
    await h.plugin.startContainer(p, { ...ctr("c1", p.id), pid: 11 });
    assert.equal(state()?.state, "Partial");
    assert.match(state()?.reason ?? "", /pod_u1/);
    await assert.rejects(h.plugin.retryContainerReconcile("c1"), { name: "NoPermissionError" });
  });

  it("a class group that cannot be created: a retry rejects with the resctrl error", async () => {
    const { h, p } = await followed();
    await inClass(h.fs, "gold", 11);
    h.pids.setPids("c1", [11]);
    h.fs.failMkdirWithEnospc(true);
    await h.plugin.startContainer(p, { ...ctr("c1", p.id), pid: 11 });
    await assert.rejects(h.plugin.retryContainerReconcile("c1"), { name: "CapacityError" });
  });
});

describe("ResctrlPlugin with followRdtClasses: class groups", () => {
  it("a second container in the same class reuses the pod's group there (one mkdir, one record naming the pod)", async () => {
    const { h, p } = await followed();
    await inClass(h.fs, "gold", 11, 12);
    h.pids.setPids("c1", [11]).setPids("c2", [12]);
    await h.plugin.startContainer(p, { ...ctr("c1", p.id), pid: 11 });
    await h.plugin.startContainer(p, { ...ctr("c2", p.id), pid: 12 });
    assert.equal(h.fs.calls("mkdir", `${GOLD}/mon_groups/pod_u1`), 1);
    const created = h.logs.filter((l) => l.msg === "created the pod's group in an RDT class");
    assert.equal(created.length, 1);
    assert.deepEqual([created[0]?.podUid, created[0]?.group], ["u1", `${GOLD}/mon_groups/pod_u1`]);
    assert.equal(h.plugin.snapshot()[0]?.reconciledContainers, 2);
  });

  it("removing a pod whose class group failed deletes only the groups that exist", async () => {
    const { h, p } = await followed();
    await inClass(h.fs, "gold", 11);
    h.pids.setPids("c1", [11]);
    h.fs.failMkdirWithEnospc(true);
    await h.plugin.startContainer(p, { ...ctr("c1", p.id), pid: 11 });
    await h.plugin.removePodSandbox(p);
    assert.equal(h.fs.calls("rmdir", `${GOLD}/mon_groups/pod_u1`), 0);
    assert.equal(h.fs.isDir(`${MON}/pod_u1`), false);
  });

  it("another class removed: the pod keeps its group in the primary class, which still shows", async () => {
    const { h, p } = await followed();
    await inClass(h.fs, "gold", 11);
    await inClass(h.fs, "silver", 21);
    h.pids.setPids("c1", [11]).setPids("c2", [21]);
    await h.plugin.startContainer(p, { ...ctr("c1", p.id), pid: 11 });
    await h.plugin.startContainer(p, { ...ctr("c2", p.id), pid: 21 });
    await h.fs.removeDir(SILVER);
    await h.plugin.sweep();
    const s = h.plugin.snapshot()[0];
    assert.deepEqual(s?.groupState, { kind: "Exists", path: `${GOLD}/mon_groups/pod_u1` });
    assert.deepEqual(
      s?.groups?.map((g) => g.controlGroup),
      [ROOT, GOLD],
    );
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_u1`), [21]);
    const rec = h.logs.find((l) => /^RDT class removed/.test(l.msg));
    assert.deepEqual([rec?.podUid, rec?.controlGroups], ["u1", [SILVER]]);
  });

  it("the primary class removed: the root group shows from then on, even once the class is back", async () => {
    const { h, p } = await followed();
    await inClass(h.fs, "gold", 11);
    h.pids.setPids("c1", [11]);
    await h.plugin.startContainer(p, { ...ctr("c1", p.id), pid: 11 });
    await h.fs.removeDir(GOLD);
    await h.plugin.sweep();
    await inClass(h.fs, "gold", 12);
    h.pids.setPids("c2", [12]);
    await h.plugin.startContainer(p, { ...ctr("c2", p.id), pid: 12 });
    assert.deepEqual(h.fs.tasksOf(`${GOLD}/mon_groups/pod_u1`), [12]);
    assert.deepEqual(h.plugin.snapshot()[0]?.groupState, { kind: "Exists", path: `${MON}/pod_u1` });
  });
});

describe("ResctrlPlugin with followRdtClasses off: tasks the kernel refuses to move", () => {
  it("the reason names only the classes of refused (foreign) tasks, sorted; the warning names the pod and container", async () => {
    const h = harness();
    const p = pod("u1");
    await h.plugin.runPodSandbox(p);
    await inClass(h.fs, "silver", 11);
    await inClass(h.fs, "gold", 12);
    await inClass(h.fs, "bronze", 13);
    h.fs.pidDenied(13); // refused for lack of permission, not for its class
    h.pids.setPids("c1", [11, 12, 13]);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    const c = h.plugin.snapshot()[0]?.containers[0];
    assert.equal(c?.state, "Partial");
    assert.match(c?.reason ?? "", /^tasks in RDT control group gold, silver: /);
    const w = h.logs.find((l) => /^pod has tasks in an RDT class/.test(l.msg));
    assert.deepEqual([w?.podUid, w?.containerId], ["u1", "c1"]);
  });

  it("a foreign task the kernel shows in the root group is not blamed on a class: no reason, retried", async () => {
    const h = harness();
    const p = pod("u1");
    await h.plugin.runPodSandbox(p);
    h.fs.pidForeign(11);
    h.pids.setPids("c1", [11]);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    const c = h.plugin.snapshot()[0]?.containers[0];
    assert.equal(c?.state, "Partial");
    assert.equal(c?.reason, undefined);
    const r = await h.plugin.sweep();
    assert.equal(r.retry?.containerAttempts, 1, "not blocked");
  });

  it("when the tasks' control groups cannot be listed: Partial without a reason, a retry does not reject", async () => {
    const h = harness({ fs: { procResctrlGroups: false } });
    const p = pod("u1");
    await h.plugin.runPodSandbox(p);
    await inClass(h.fs, "gold", 11);
    h.pids.setPids("c1", [11]);
    h.fs.failNext("list", ROOT, "EIO");
    await h.plugin.startContainer(p, ctr("c1", p.id));
    const c = h.plugin.snapshot()[0]?.containers[0];
    assert.equal(c?.state, "Partial");
    assert.equal(c?.reason, undefined);
    const rec = h.logs.find((l) => l.msg === "failed to find the tasks' control groups");
    assert.deepEqual([rec?.podUid, rec?.containerId], ["u1", "c1"]);
    h.fs.failNext("list", ROOT, "EIO");
    assert.equal(await h.plugin.retryContainerReconcile("c1"), "Partial");
  });

  it("a blocked container that converged (its task left the class) is no longer blocked: sweeps stop listing classes", async () => {
    const h = await startedInGold(harness());
    await h.fs.writeStr(`${ROOT}/tasks`, "11"); // an operator moved it out of the class
    assert.equal(await h.plugin.retryContainerReconcile("c1"), "Reconciled");
    const lists = h.fs.calls("list", ROOT);
    await h.plugin.sweep();
    assert.equal(h.fs.calls("list", ROOT), lists);
  });
});
