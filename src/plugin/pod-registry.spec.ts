// PodRegistry's own bookkeeping: the sandbox and owner indexes, the values its mutators return,
// NoPod containers per sandbox, group-path ownership, and oldest-first snapshots.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MON, ctr, pod } from "../../test/support/plugin-harness.js";
import { PodRegistry } from "./pod-registry.js";

const G1 = `${MON}/pod_u1`;

describe("PodRegistry", () => {
  const exists = { kind: "Exists", path: G1 } as const;

  it("deletePod forgets only the sandbox mappings that point at it, and never another entry of the UID", () => {
    const reg = new PodRegistry();
    const e1 = reg.addPod(pod("u1", "sb-a"), exists);
    reg.addSandbox(e1, pod("u1", "sb-x"));
    reg.addPod(pod("u2", "sb-x"), { kind: "Failed" }); // sb-x now maps to u2
    reg.deletePod(e1);
    assert.equal(reg.uidOfSandbox("sb-a"), undefined);
    assert.equal(reg.uidOfSandbox("sb-x"), "u2");
    const old = reg.addPod(pod("u3"), exists);
    const fresh = reg.addPod(pod("u3"), exists);
    reg.deletePod(old);
    assert.equal(reg.pods.get("u3"), fresh);
  });

  it("removeSandbox returns its containers and orphans, unmaps it only if it points at this pod", () => {
    const reg = new PodRegistry();
    const e = reg.addPod(pod("u1", "sb-a"), exists);
    reg.addSandbox(e, pod("u1", "sb-b"));
    reg.addContainer(e, ctr("c1", "sb-a"), "sb-a", "Reconciled");
    reg.addContainer(e, ctr("c2", "sb-b"), "sb-b", "Reconciled");
    reg.addContainer(e, ctr("c3", "sb-old"), "sb-old", "Partial"); // sandbox unknown to the pod
    const removed = reg.removeSandbox(e, "sb-a");
    assert.deepEqual(
      removed.map((c) => c.id),
      ["c1", "c3"],
    );
    assert.deepEqual([...e.containers.keys()], ["c2"]);
    assert.deepEqual([reg.ownerOf("c1"), reg.ownerOf("c2")], [undefined, "u1"]);
    assert.equal(reg.uidOfSandbox("sb-a"), undefined);
    reg.addPod(pod("u2", "sb-b"), { kind: "Failed" }); // sb-b now maps to u2
    reg.removeSandbox(e, "sb-b");
    assert.equal(reg.uidOfSandbox("sb-b"), "u2");
  });

  it("removeContainer: a NoPod container has no pod; a stale owner (pod re-added) finds nothing", () => {
    const reg = new PodRegistry();
    reg.addNoPod(ctr("n1", "sb-z"), "sb-z");
    const r = reg.removeContainer("n1");
    assert.equal(r?.entry.id, "n1");
    assert.equal(r?.pod, undefined);
    assert.equal(reg.knows("n1"), false);
    reg.addContainer(reg.addPod(pod("u1"), exists), ctr("c1", "sb-u1"), "sb-u1", "Reconciled");
    reg.addPod(pod("u1"), exists);
    assert.equal(reg.removeContainer("c1"), undefined);
  });

  it("dropNoPodOfSandbox drops and counts only that sandbox's NoPod containers", () => {
    const reg = new PodRegistry();
    reg.addNoPod(ctr("n1", "sb-a"), "sb-a");
    reg.addNoPod(ctr("n2", "sb-b"), "sb-b");
    reg.addNoPod(ctr("n3", "sb-a"), "sb-a");
    assert.equal(reg.dropNoPodOfSandbox("sb-a"), 2);
    assert.deepEqual(
      reg.noPodSnapshot().map((c) => c.id),
      ["n2"],
    );
  });

  it("groupPathInUse: only an Exists group at that path of a pod other than exceptUid", () => {
    const reg = new PodRegistry();
    reg.addPod(pod("u1"), exists);
    reg.addPod(pod("u2"), { kind: "Failed" });
    assert.equal(reg.groupPathInUse(G1), true);
    assert.equal(reg.groupPathInUse(G1, "u2"), true);
    assert.equal(reg.groupPathInUse(G1, "u1"), false);
    assert.equal(reg.groupPathInUse(`${MON}/pod_u2`), false);
  });

  it("groupPathInUse with two pods at one path (a collision): each keeps it in use for the other until it leaves", () => {
    const reg = new PodRegistry();
    const a = reg.addPod(pod("u1"), exists);
    reg.setGroupState(a, exists); // re-indexing the same owner changes nothing
    assert.equal(reg.groupPathInUse(G1, "u1"), false);
    const b = reg.addPod(pod("u2"), exists);
    assert.equal(reg.groupPathInUse(G1, "u1"), true, "u2 holds it too");
    assert.equal(reg.groupPathInUse(G1, "u2"), true, "u1 holds it too");
    reg.setGroupState(a, { kind: "Failed" });
    assert.equal(reg.groupPathInUse(G1, "u2"), false, "u1 left");
    assert.equal(reg.groupPathInUse(G1), true);
    reg.setGroupState(b, { kind: "Failed" });
    assert.equal(reg.groupPathInUse(G1), false, "nobody left");
    reg.setGroupState(a, exists);
    assert.equal(reg.groupPathInUse(G1, "u2"), true, "u1 back alone");
    assert.equal(reg.groupPathInUse(G1, "u1"), false);
  });

  it("groupPathInUse with three pods at one path: free again only when the last one leaves", () => {
    const reg = new PodRegistry();
    const [a, b, c] = ["u1", "u2", "u3"].map((u) => reg.addPod(pod(u), exists));
    reg.setGroupState(a!, { kind: "Failed" });
    reg.setGroupState(b!, { kind: "Failed" });
    assert.equal(reg.groupPathInUse(G1, "u3"), false, "only u3 is left");
    assert.equal(reg.groupPathInUse(G1), true);
    reg.setGroupState(c!, { kind: "Failed" });
    assert.equal(reg.groupPathInUse(G1), false);
  });

  it("snapshots are oldest first by sequence, also when a re-added id keeps its map position", () => {
    const reg = new PodRegistry();
    reg.addPod(pod("u1"), exists);
    const e2 = reg.addPod(pod("u2"), exists);
    reg.addPod(pod("u1"), exists);
    assert.deepEqual(
      reg.snapshot().map((s) => s.podUid),
      ["u2", "u1"],
    );
    for (const id of ["c1", "c2", "c1"]) reg.addContainer(e2, ctr(id, "sb-u2"), "sb-u2", "Pending");
    assert.deepEqual(
      reg.snapshotOf(e2).containers.map((c) => c.id),
      ["c2", "c1"],
    );
    for (const id of ["n1", "n2", "n1"]) reg.addNoPod(ctr(id, "sb-z"), "sb-z");
    assert.deepEqual(
      reg.noPodSnapshot().map((c) => c.id),
      ["n2", "n1"],
    );
  });

  it("groupPathInUse: pods sharing a path each own it; leaving it keeps it in use by the others", () => {
    const reg = new PodRegistry();
    const e1 = reg.addPod(pod("u1"), exists);
    reg.addPod(pod("u2"), exists); // sanitization collision: same path
    assert.equal(reg.groupPathInUse(G1, "u2"), true, "u1 still owns it");
    assert.equal(reg.groupPathInUse(G1, "u1"), true, "u2 owns it too");
    reg.setGroupState(e1, { kind: "Failed" });
    assert.equal(reg.groupPathInUse(G1, "u1"), true, "u2 still owns it");
    assert.equal(reg.groupPathInUse(G1, "u2"), false);
  });

  it("setGroupState on a pod already deleted is harmless", () => {
    const reg = new PodRegistry();
    const e = reg.addPod(pod("u1"), exists);
    reg.deletePod(e);
    assert.doesNotThrow(() => reg.setGroupState(e, { kind: "Failed" }));
    assert.equal(reg.groupPathInUse(G1), false);
  });
});

describe("PodRegistry: class groups", () => {
  it("a pod's first class group gives it its own map; the other pods' stay empty; delete forgets one", () => {
    const reg = new PodRegistry();
    const a = reg.addPod(pod("ua"), { kind: "Failed" });
    const b = reg.addPod(pod("ub"), { kind: "Failed" });
    assert.equal(a.classGroups.size, 0);
    reg.deleteClassGroup(a, "/sys/fs/resctrl/gold"); // nothing to forget: no error, still empty
    reg.setClassGroup(a, "/sys/fs/resctrl/gold", { path: "/g", exists: true });
    reg.setClassGroup(a, "/sys/fs/resctrl/silver", { path: "/s", exists: false });
    assert.deepEqual([...a.classGroups.keys()], ["/sys/fs/resctrl/gold", "/sys/fs/resctrl/silver"]);
    assert.equal(b.classGroups.size, 0, "b never shares a's map");
    assert.equal(reg.addPod(pod("uc"), { kind: "Failed" }).classGroups.size, 0, "nor does a new pod");
    reg.deleteClassGroup(a, "/sys/fs/resctrl/gold");
    assert.deepEqual([...a.classGroups.keys()], ["/sys/fs/resctrl/silver"]);
  });
});

describe("PodRegistry: reported group and snapshot fields", () => {
  const ROOT = "/sys/fs/resctrl";
  const exists = { kind: "Exists", path: G1 } as const;

  it("reportedGroup: a Failed pod stays Failed even if the group in its first container's class exists", () => {
    const reg = new PodRegistry();
    const e = reg.addPod(pod("u1"), { kind: "Failed" });
    reg.setClassGroup(e, `${ROOT}/gold`, { path: `${ROOT}/gold/mon_groups/pod_u1`, exists: true });
    e.primaryCtrl = `${ROOT}/gold`;
    assert.deepEqual(reg.reportedGroup(e), { kind: "Failed" });
    reg.setGroupState(e, exists);
    assert.deepEqual(reg.reportedGroup(e), { kind: "Exists", path: `${ROOT}/gold/mon_groups/pod_u1` });
  });

  it("groupError is reported only while the group is Failed", () => {
    const reg = new PodRegistry();
    const failed = reg.addPod(pod("u1"), { kind: "Failed" });
    assert.equal("groupError" in reg.snapshotOf(failed), false, "no error known");
    failed.groupError = "RMIDs exhausted";
    assert.equal(reg.snapshotOf(failed).groupError, "RMIDs exhausted");
    const stale = reg.addPod(pod("u2"), exists);
    stale.groupError = "RMIDs exhausted";
    assert.equal("groupError" in reg.snapshotOf(stale), false, "a stale error of an existing group");
  });

  it("a container's reason is reported only while it is neither Reconciled nor Stopped", () => {
    const reg = new PodRegistry();
    const e = reg.addPod(pod("u1"), exists);
    const withReason = (id: string, state: "Partial" | "Reconciled" | "Stopped") => {
      reg.addContainer(e, ctr(id, "sb-u1"), "sb-u1", state).reason = "tasks in an RDT class";
    };
    withReason("partial", "Partial");
    withReason("reconciled", "Reconciled");
    withReason("stopped", "Stopped");
    reg.addContainer(e, ctr("pending", "sb-u1"), "sb-u1", "Pending");
    assert.deepEqual(
      reg.snapshotOf(e).containers.map((c) => [c.id, c.reason, "reason" in c]),
      [
        ["partial", "tasks in an RDT class", true],
        ["reconciled", undefined, false],
        ["stopped", undefined, false],
        ["pending", undefined, false],
      ],
    );
  });

  it("groups: the root's group first (Failed with its error), then class groups sorted by control group", () => {
    const reg = new PodRegistry();
    const e = reg.addPod(pod("u1"), { kind: "Failed" });
    e.groupError = "RMIDs in limbo";
    reg.setClassGroup(e, `${ROOT}/silver`, {
      path: `${ROOT}/silver/mon_groups/pod_u1`,
      exists: true,
      error: "old",
    });
    reg.setClassGroup(e, `${ROOT}/bronze`, { path: `${ROOT}/bronze/mon_groups/pod_u1`, exists: false });
    reg.setClassGroup(e, `${ROOT}/gold`, {
      path: `${ROOT}/gold/mon_groups/pod_u1`,
      exists: false,
      error: "EBUSY",
    });
    assert.deepEqual(reg.snapshotOf(e).groups, [
      { controlGroup: ROOT, path: "", state: "Failed", error: "RMIDs in limbo" },
      { controlGroup: `${ROOT}/bronze`, path: `${ROOT}/bronze/mon_groups/pod_u1`, state: "Failed" },
      {
        controlGroup: `${ROOT}/gold`,
        path: `${ROOT}/gold/mon_groups/pod_u1`,
        state: "Failed",
        error: "EBUSY",
      },
      { controlGroup: `${ROOT}/silver`, path: `${ROOT}/silver/mon_groups/pod_u1`, state: "Exists" },
    ]);
    e.groupError = undefined;
    assert.deepEqual(reg.snapshotOf(e).groups?.[0], { controlGroup: ROOT, path: "", state: "Failed" });
  });
});
