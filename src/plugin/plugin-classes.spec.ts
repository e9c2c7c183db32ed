// RDT classes: with followRdtClasses a pod's tasks are monitored inside the control group they
// live in (one group per pod and class); without it, tasks in a class are reported with a reason
// and never retried in a loop; classes that go away; removal and startup cleanup.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ctr, harness, pod, ROOT, MON } from "../../test/support/plugin-harness.js";

const GOLD = `${ROOT}/gold`;

async function inClass(h: ReturnType<typeof harness>, cls: string, ...tids: number[]): Promise<void> {
  if (!h.fs.isDir(`${ROOT}/${cls}`)) await h.fs.createDir(`${ROOT}/${cls}`);
  for (const t of tids) await h.fs.writeStr(`${ROOT}/${cls}/tasks`, String(t));
}

const follow = { cfg: { followRdtClasses: true } };

describe("ResctrlPlugin with followRdtClasses", () => {
  it("a pod in one class: its group lives inside the class, Exists shows it, both groups listed", async () => {
    const h = harness(follow);
    const p = pod("u1");
    await h.plugin.runPodSandbox(p);
    await inClass(h, "gold", 11, 12);
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
    await inClass(h, "gold", 11);
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
    const h = harness(follow);
    const p = pod("u1");
    await h.plugin.runPodSandbox(p);
    await inClass(h, "gold", 11);
    h.pids.setPids("c1", [11]);
    await h.plugin.startContainer(p, { ...ctr("c1", p.id), pid: 11 });
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
    const h = harness(follow);
    const p = pod("u1");
    await h.plugin.runPodSandbox(p);
    await inClass(h, "gold", 11);
    h.pids.setPids("c1", [11]);
    await h.plugin.startContainer(p, { ...ctr("c1", p.id), pid: 11 });
    await h.fs.removeDir(GOLD);
    await h.plugin.retryAllOnce();
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_u1`), [11]);
    assert.equal(h.plugin.snapshot()[0]?.groups, undefined);
  });

  it("capacity is per group: a class group hitting ENOSPC leaves the container Partial, the sweep creates it later", async () => {
    const h = harness(follow);
    const p = pod("u1");
    await h.plugin.runPodSandbox(p);
    await inClass(h, "gold", 11);
    h.pids.setPids("c1", [11]);
    h.fs.failMkdirWithEnospc(true);
    await h.plugin.startContainer(p, { ...ctr("c1", p.id), pid: 11 });
    let s = h.plugin.snapshot()[0];
    assert.equal(s?.containers[0]?.state, "Partial");
    assert.match(s?.containers[0]?.reason ?? "", /RMIDs exhausted/);
    assert.equal(s?.groups?.[1]?.state, "Failed");
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
    await inClass(h, "gold", 11);
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
    const h = harness();
    const p = pod("u1");
    await h.plugin.runPodSandbox(p);
    await inClass(h, "gold", 11);
    h.pids.setPids("c1", [11]);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    await h.fs.removeDir(GOLD);
    const r = await h.plugin.retryAllOnce();
    assert.equal(r.containersReconciled, 1);
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_u1`), [11]);
  });

  it("…and once the class is gone, the sweep retries and the tasks land in the pod's group", async () => {
    const h = harness();
    const p = pod("u1");
    await h.plugin.runPodSandbox(p);
    await inClass(h, "gold", 11);
    h.pids.setPids("c1", [11]);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    await h.fs.removeDir(GOLD);
    await h.plugin.sweep();
    const s = h.plugin.snapshot()[0];
    assert.equal(s?.containers[0]?.state, "Reconciled");
    assert.equal(s?.containers[0]?.reason, undefined);
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_u1`), [11]);
  });
});
