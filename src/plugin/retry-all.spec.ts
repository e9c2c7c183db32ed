// retryAllOnce, the caller-driven retry pass: on its own (registry + scripted single retries) which
// pods are pruned, the order of every list and which errors count as failures; through
// ResctrlPlugin over MemFs, how capacity (ENOSPC, EBUSY of RMIDs in limbo) stops group creation
// while containers are still retried, and what the report says about failures and vanished entries.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pino } from "pino";
import { MON, ROOT, ctr, gate, harness, pod, until } from "../../test/support/plugin-harness.js";
import { ContainerNotFoundError, PodNotFoundError } from "./errors.js";
import type { ContainerSyncState, ResctrlGroupState } from "./events.js";
import { PodRegistry } from "./pod-registry.js";
import { retryAllOnce, type SingleRetries } from "./retry-all.js";

const log = pino({ level: "silent" });
const FAILED: ResctrlGroupState = { kind: "Failed" };
const exists = (uid: string): ResctrlGroupState => ({ kind: "Exists", path: `/r/mon_groups/pod_${uid}` });

/** Records every call; answers from the maps (default: Exists / Reconciled). */
function retries(
  groups: Record<string, () => Promise<ResctrlGroupState>> = {},
  containers: Record<string, () => Promise<ContainerSyncState>> = {},
) {
  const calls: string[] = [];
  const plugin: SingleRetries = {
    retryGroupCreation: (uid) => {
      calls.push(`group:${uid}`);
      return groups[uid]?.() ?? Promise.resolve(exists(uid));
    },
    retryContainerReconcile: (id) => {
      calls.push(`container:${id}`);
      return containers[id]?.() ?? Promise.resolve("Reconciled");
    },
  };
  return { plugin, calls };
}

/** A plugin whose kernel has `capacity` RMIDs (root included), freed ones in limbo until drained. */
function limboHarness(capacity: number) {
  return harness({ fs: { rmidCapacity: capacity, rmidLimboMs: Infinity } });
}

describe("retryAllOnce: pruning", () => {
  it("without a prune function nothing is pruned and an emptied pod is no failure", async () => {
    const reg = new PodRegistry();
    const p = reg.addPod(pod("u1"), exists("u1"));
    reg.addContainer(p, ctr("c1", "sb-u1"), "sb-u1", "Reconciled");
    reg.removeContainer("c1");
    const r = await retryAllOnce(reg, retries().plugin, log);
    assert.equal(r.podsPruned, 0);
    assert.deepEqual(r.failures, []);
  });

  it("prunes only pods that had containers and have none left, oldest first", async () => {
    const reg = new PodRegistry();
    const never = reg.addPod(pod("never"), exists("never")); // still starting: not a candidate
    const busy = reg.addPod(pod("busy"), exists("busy"));
    const old = reg.addPod(pod("old"), exists("old"));
    const young = reg.addPod(pod("young"), exists("young"));
    reg.addContainer(busy, ctr("b1", "sb-busy"), "sb-busy", "Reconciled");
    reg.addContainer(young, ctr("y1", "sb-young"), "sb-young", "Reconciled");
    reg.addContainer(old, ctr("o1", "sb-old"), "sb-old", "Reconciled");
    reg.removeContainer("y1");
    reg.removeContainer("o1");
    // The pass orders by seq, not by the Map's insertion order (which the registry does not promise).
    reg.pods.delete("old");
    reg.pods.set("old", old);
    const asked: string[] = [];
    const r = await retryAllOnce(reg, retries().plugin, log, async (uid) => {
      asked.push(uid);
      return uid === "old";
    });
    assert.deepEqual(asked, ["old", "young"]);
    assert.equal(r.podsPruned, 1);
    assert.equal(never.hadContainers, false);
  });

  it("a prune that rejects is a pod failure, and the pass goes on", async () => {
    const reg = new PodRegistry();
    const a = reg.addPod(pod("a"), exists("a"));
    const b = reg.addPod(pod("b"), FAILED);
    reg.addContainer(a, ctr("a1", "sb-a"), "sb-a", "Reconciled");
    reg.removeContainer("a1");
    const { plugin, calls } = retries();
    const r = await retryAllOnce(reg, plugin, log, async () => {
      throw new Error("crictl unavailable");
    });
    assert.deepEqual(r.failures, [{ target: "pod", id: "a", error: "Error", message: "crictl unavailable" }]);
    assert.deepEqual(calls, ["group:b"]);
    assert.equal(b.uid, "b");
  });
});

describe("retryAllOnce: order and failures", () => {
  it("retries Failed pods oldest first, then the Partial containers of Exists pods oldest first", async () => {
    const reg = new PodRegistry();
    const p1 = reg.addPod(pod("p1"), exists("p1"));
    const p2 = reg.addPod(pod("p2"), exists("p2"));
    const f1 = reg.addPod(pod("f1"), FAILED);
    const f2 = reg.addPod(pod("f2"), FAILED);
    reg.addContainer(p2, ctr("c-old", "sb-p2"), "sb-p2", "Partial");
    reg.addContainer(p1, ctr("c-new", "sb-p1"), "sb-p1", "Partial");
    reg.addContainer(p1, ctr("c-ok", "sb-p1"), "sb-p1", "Reconciled");
    reg.addContainer(f1, ctr("c-failed-pod", "sb-f1"), "sb-f1", "Partial");
    reg.pods.delete("f1");
    reg.pods.set("f1", f1); // Map order f2, f1; seq order f1, f2
    assert.equal(f2.groupState.kind, "Failed");
    const { plugin, calls } = retries({
      f1: async () => FAILED,
      f2: async () => FAILED,
    });
    const r = await retryAllOnce(reg, plugin, log);
    assert.deepEqual(calls, ["group:f1", "group:f2", "container:c-old", "container:c-new"]);
    assert.equal(r.groupAttempts, 2);
    assert.equal(r.groupsCreated, 0);
    assert.equal(r.containerAttempts, 2);
    assert.equal(r.containersReconciled, 2);
  });

  it("a pod or container removed while the pass runs is skipped without a failure", async () => {
    const reg = new PodRegistry();
    reg.addPod(pod("gone"), FAILED);
    reg.addPod(pod("next"), FAILED);
    const e = reg.addPod(pod("e"), exists("e"));
    reg.addContainer(e, ctr("c1", "sb-e"), "sb-e", "Partial");
    reg.addContainer(e, ctr("c2", "sb-e"), "sb-e", "Partial");
    const { plugin, calls } = retries(
      { gone: () => Promise.reject(new PodNotFoundError("gone")) },
      {
        c1: () => Promise.reject(new ContainerNotFoundError("c1")),
        c2: () => Promise.reject(new PodNotFoundError("e")),
      },
    );
    const r = await retryAllOnce(reg, plugin, log);
    assert.deepEqual(r.failures, []);
    assert.deepEqual(calls, ["group:gone", "group:next", "container:c1", "container:c2"]);
    assert.equal(r.groupsCreated, 1);
    assert.equal(r.stoppedOnCapacity, false);
  });
});

describe("ResctrlPlugin.retryAllOnce: order and capacity", () => {
  it("oldest Failed pod first: one freed RMID goes to the oldest", async () => {
    const h = harness({ fs: { rmidCapacity: 1 } });
    for (const u of ["old", "mid", "new"]) await h.plugin.runPodSandbox(pod(u));
    assert.deepEqual(h.trace(), ["old Failed 0/0", "mid Failed 0/0", "new Failed 0/0"]);
    h.fs.rmidCapacity = 2;
    const r = await h.plugin.retryAllOnce();
    assert.equal(r.groupsCreated, 1);
    assert.equal(r.groupAttempts, 2, "second attempt hits capacity and stops the pass");
    assert.deepEqual(
      h.plugin.snapshot().map((p) => `${p.podUid}:${p.groupState.kind}`),
      ["old:Exists", "mid:Failed", "new:Failed"],
    );
  });

  it("stops group creation at the first capacity error, still reconciles partial containers", async () => {
    const h = harness();
    h.fs.failMkdirWithEnospc(true);
    for (const u of ["f1", "f2", "f3"]) await h.plugin.runPodSandbox(pod(u));
    h.fs.failMkdirWithEnospc(false);
    const ok = pod("ok");
    await h.plugin.runPodSandbox(ok);
    h.pids.setPids("b1", [222, 223]);
    h.fs.pidGone(222);
    await h.plugin.startContainer(ok, ctr("b1", ok.id));
    h.fs.clearPidGone(222);
    h.fs.failMkdirWithEnospc(true);
    const mkdirsBefore = h.fs.calls("mkdir");
    const r = await h.plugin.retryAllOnce();
    assert.equal(h.fs.calls("mkdir") - mkdirsBefore, 1, "one mkdir attempt, then early stop");
    assert.equal(r.groupAttempts, 1);
    assert.equal(r.groupsSkipped, 2);
    assert.equal(r.stoppedOnCapacity, true);
    assert.equal(r.containerAttempts, 1);
    assert.equal(r.containersReconciled, 1);
    assert.equal(r.failures[0]?.error, "CapacityError");
    assert.equal(h.trace().at(-1), "ok Exists 1/1");
  });

  it("capacity stops group retries: the first attempt fails, the rest are skipped, containers still retried", async () => {
    const h = harness();
    h.pids.setSequence("c0", [[], [10]]); // no task yet at START → Partial; present at the retry
    await h.plugin.synchronize([pod("u0")], []);
    await h.plugin.idle(); // the pods are added after the reply
    h.fs.failMkdirWithEnospc(true);
    await h.plugin.synchronize([pod("u0"), pod("u1"), pod("u2"), pod("u3")], []);
    await h.plugin.idle();
    await h.plugin.startContainer(pod("u0"), ctr("c0", "sb-u0"));
    assert.equal(h.plugin.snapshot()[0]?.containers[0]?.state, "Partial");
    const r = await h.plugin.retryAllOnce();
    assert.equal(r.stoppedOnCapacity, true);
    assert.equal(r.groupAttempts, 1);
    assert.equal(r.groupsSkipped, 2);
    assert.equal(r.failures.length, 1);
    assert.equal(r.failures[0]?.error, "CapacityError");
    assert.equal(r.containerAttempts, 1);
    assert.equal(r.containersReconciled, 1);
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_u0`), [10]);
  });

  it("stops group creation at EBUSY (RMIDs in limbo) as at ENOSPC: the rest are skipped", async () => {
    const h = limboHarness(3);
    await h.plugin.runPodSandbox(pod("a"));
    await h.plugin.runPodSandbox(pod("b"));
    await h.plugin.removePodSandbox(pod("a"));
    await h.plugin.runPodSandbox(pod("c"));
    await h.plugin.runPodSandbox(pod("d"));
    const r = await h.plugin.retryAllOnce();
    assert.equal(r.groupAttempts, 1);
    assert.equal(r.groupsSkipped, 1);
    assert.equal(r.stoppedOnCapacity, true);
    assert.equal(r.failures[0]?.error, "RmidLimboError");
  });
});

describe("ResctrlPlugin.retryAllOnce: failures and vanished entries", () => {
  it("a non-capacity group failure is recorded and the pass goes on to the next Failed pod", async () => {
    const h = harness();
    h.fs.failMkdirWithEnospc(true);
    await h.plugin.synchronize([pod("u1"), pod("u3")], []);
    await h.plugin.idle(); // the pods are added after the reply
    h.fs.failMkdirWithEnospc(false);
    h.fs.denyPath(`${MON}/pod_u1`, ["mkdir"]);
    const r = await h.plugin.retryAllOnce();
    assert.equal(r.stoppedOnCapacity, false);
    assert.equal(r.groupAttempts, 2);
    assert.equal(r.groupsSkipped, 0);
    assert.equal(r.groupsCreated, 1, "u3 created after u1 failed");
    assert.equal(r.failures.length, 1);
    assert.equal(r.failures[0]?.target, "pod");
    assert.equal(r.failures[0]?.id, "u1");
    assert.notEqual(r.failures[0]?.error, "CapacityError");
    assert.ok((r.failures[0]?.message ?? "").length > 0);
    assert.ok(
      h.logs.some((l) => l.msg === "retry pass done" && l["groupsCreated"] === 1 && l["failures"] === 1),
    );
  });

  it("one bad entry never aborts the pass: errors are collected, later entries still run", async () => {
    const h = harness();
    const p = pod("u1");
    await h.plugin.runPodSandbox(p);
    h.pids.setError("bad", new Error("cgroup gone"));
    h.pids.setPids("good", [5]);
    h.fs.pidGone(5);
    await h.plugin.startContainer(p, ctr("bad", p.id));
    await h.plugin.startContainer(p, ctr("good", p.id));
    h.fs.clearPidGone(5);
    h.fs.failNext("mkdir", `${MON}/pod_u2`, "EIO");
    await h.plugin.runPodSandbox(pod("u2"));
    await h.plugin.runPodSandbox(pod("u3"));
    h.fs.failMkdirWithEnospc(false);
    const r = await h.plugin.retryAllOnce();
    assert.equal(r.groupsCreated, 1, "u2 (EIO once) is created on retry");
    assert.equal(r.containerAttempts, 2);
    assert.equal(r.containersReconciled, 1);
    assert.deepEqual(
      r.failures.map((f) => `${f.target}:${f.id}`),
      ["container:bad"],
    );
  });

  it("a container failure is recorded with target container and its error name", async () => {
    const h = harness();
    h.pids.setPids("c1", [11]);
    await h.plugin.synchronize([pod("u1")], [ctr("c1", "sb-u1")]);
    await h.plugin.idle();
    h.pids.setError("c2", new Error("cgroup read failed"));
    await h.plugin.startContainer(pod("u1"), ctr("c2", "sb-u1"));
    const r = await h.plugin.retryAllOnce();
    assert.equal(r.containerAttempts, 1);
    assert.equal(r.containersReconciled, 0);
    assert.deepEqual(
      r.failures.map((f) => [f.target, f.id, f.error, f.message]),
      [["container", "c2", "Error", "cgroup read failed"]],
    );
  });

  it("a container removed while the pass runs is skipped silently; Failed pods' Partial containers are not retried", async () => {
    const h = harness();
    h.pids.setSequence("c1", [[], [11]]).setSequence("c2", [[], [21]]);
    await h.plugin.synchronize([pod("u1")], [ctr("c1", "sb-u1"), ctr("c2", "sb-u1")]);
    await h.plugin.idle();
    h.fs.failMkdirWithEnospc(true);
    await h.plugin.runPodSandbox(pod("u9"));
    await h.plugin.startContainer(pod("u9"), ctr("c9", "sb-u9")); // Partial in a Failed pod
    const hold = gate();
    let removed: Promise<void> | undefined;
    h.pids.setFn("c1", async () => {
      removed ??= h.plugin.removeContainer(pod("u1"), ctr("c2", "sb-u1"));
      await hold.promise;
      return [11];
    });
    const pass = h.plugin.retryAllOnce();
    await until(() => removed !== undefined);
    hold.open();
    const r = await pass;
    await removed;
    assert.equal(r.containerAttempts, 2, "c1 and c2 were listed; c9 (Failed pod) was not");
    assert.equal(r.containersReconciled, 1);
    assert.deepEqual(
      r.failures.filter((f) => f.target === "container"),
      [],
      "the vanished c2 is no failure",
    );
  });
});

describe("ResctrlPlugin.retryAllOnce: what a failed retry leaves behind", () => {
  it("a group retry that fails for another reason records that reason on the Failed pod", async () => {
    const h = harness();
    h.fs.failMkdirWithEnospc(true);
    await h.plugin.runPodSandbox(pod("u1"));
    assert.match(h.plugin.snapshot()[0]?.groupError ?? "", /RMIDs exhausted/);
    h.fs.failMkdirWithEnospc(false);
    h.fs.failNext("mkdir", `${MON}/pod_u1`, "EACCES");
    const r = await h.plugin.retryAllOnce();
    assert.equal(r.failures.length, 1);
    const s = h.plugin.snapshot()[0];
    assert.equal(s?.groupState.kind, "Failed");
    assert.equal(s?.groupError, r.failures[0]?.message, "the retry's own error");
    assert.doesNotMatch(s?.groupError ?? "", /RMIDs exhausted/);
  });

  it("followRdtClasses: until a failed class group is created, groupTasks lists the pod's existing groups only", async () => {
    const h = harness({ cfg: { followRdtClasses: true } });
    const p = pod("u1");
    await h.plugin.runPodSandbox(p);
    await h.fs.createDir(`${ROOT}/gold`);
    await h.fs.writeStr(`${ROOT}/gold/tasks`, "11");
    h.pids.setPids("c1", [11, 21]);
    h.fs.failNext("mkdir", `${ROOT}/gold/mon_groups/pod_u1`, "EIO");
    await h.plugin.startContainer(p, { ...ctr("c1", p.id), pid: 21 });
    assert.equal(h.plugin.snapshot()[0]?.containers[0]?.state, "Partial");
    assert.deepEqual(await h.plugin.groupTasks("u1"), [21], "the class group failed: not listed");
    const r = await h.plugin.retryAllOnce();
    assert.equal(r.containersReconciled, 1);
    assert.deepEqual((await h.plugin.groupTasks("u1")).sort(), [11, 21]);
  });
});
