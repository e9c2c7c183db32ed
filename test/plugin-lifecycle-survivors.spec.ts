// PodLifecycle and PodRegistry edges the scenario specs do not pin: the re-checks after each await
// (settle, pruneIfSandboxGone, emitIfChanged on a detached pod), the group-name collision guard,
// group I/O on removal (none for a Failed pod; a failed rmdir still emits Removed), the fresh
// re-read before claiming Reconciled, NoPod removal/promotion per sandbox, the fields operators
// read in the reconcile / pod-event / sandbox-check logs, and the registry's own bookkeeping
// (sandbox and owner indexes, returned values, oldest-first snapshots). (Written against
// mutation testing survivors; see docs/testing.md.)
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pino } from "pino";
import { EventBus } from "../src/plugin/event-bus.js";
import type { PodResctrlEvent } from "../src/plugin/events.js";
import { PodLifecycle } from "../src/plugin/pod-lifecycle.js";
import { PodRegistry } from "../src/plugin/pod-registry.js";
import type { ResctrlPort } from "../src/plugin/resctrl-port.js";
import { Resctrl } from "../src/resctrl/index.js";
import { MemFs } from "../src/testing/mem-fs.js";
import { MockPidSource } from "../src/testing/mock-pid-source.js";
import { MON, ROOT, ctr, gate, harness, pod, show, until } from "./plugin-harness.js";

const G1 = `${MON}/pod_u1`;

/** A PodLifecycle over its own registry, MemFs and MockPidSource; `samePath` maps every UID to one group. */
function direct(o: { samePath?: boolean } = {}) {
  const fs = MemFs.withResctrl({ root: ROOT });
  const r = Resctrl.withProvider(fs, { root: ROOT, groupPrefix: "pod_" });
  const port: ResctrlPort = !o.samePath
    ? r
    : {
        root: r.root,
        groupPrefix: r.groupPrefix,
        ensureMounted: (a) => r.ensureMounted(a),
        cleanupAll: () => r.cleanupAll(),
        groupPathFor: () => `${MON}/pod_same`,
        createGroup: () => r.createGroup("same"),
        deleteGroup: (p) => r.deleteGroup(p),
        listGroupTasks: (p) => r.listGroupTasks(p),
        reconcileGroup: (p, s, m) => r.reconcileGroup(p, s, m),
      };
  const pids = new MockPidSource();
  const reg = new PodRegistry();
  const silent = pino({ level: "silent" });
  const bus = new EventBus<PodResctrlEvent>(64, silent);
  const events: string[] = [];
  bus.on((e) => events.push(show(e)));
  const life = new PodLifecycle(reg, port, pids, bus, silent, 4);
  return { fs, pids, reg, life, events };
}

describe("PodLifecycle re-checks and guards (direct)", () => {
  it("createGroup refuses a path another pod holds: the second pod is Failed, the first keeps its group", async () => {
    const d = direct({ samePath: true });
    await d.life.addPod(pod("u1"));
    await d.life.addPod(pod("u2"));
    assert.deepEqual(d.events, ["u1 Exists 0/0", "u2 Failed 0/0"]);
    await assert.rejects(d.life.createGroup("u3"), { name: "GroupNameCollisionError" });
    assert.equal(await d.life.createGroup("u1"), `${MON}/pod_same`, "its own group is not a collision");
  });

  it("settle leaves a container that is no longer Pending alone (no reconcile, no event)", async () => {
    const d = direct();
    await d.life.addPod(pod("u1"));
    const entry = d.reg.pods.get("u1")!;
    d.pids.setPids("c1", [11]);
    const c = d.reg.addContainer(entry, ctr("c1", "sb-u1"), "sb-u1", "Reconciled");
    await d.life.settle("u1", c, "test");
    assert.equal(d.pids.calls("c1"), 0);
    assert.equal(c.state, "Reconciled");
    assert.deepEqual(d.events, ["u1 Exists 0/0"]);
  });

  for (const what of ["container", "pod"] as const) {
    it(`settle: a ${what} removed during the reconcile is not marked and not counted`, async () => {
      const d = direct();
      await d.life.addPod(pod("u1"));
      const entry = d.reg.pods.get("u1")!;
      const g = gate();
      d.pids.setFn("c1", async () => (await g.promise, [11]));
      const c = d.reg.addContainer(entry, ctr("c1", "sb-u1"), "sb-u1", "Pending");
      const settled = d.life.settle("u1", c, "test");
      await until(() => d.pids.calls("c1") === 1);
      if (what === "container") d.reg.removeContainer("c1");
      else d.reg.deletePod(entry); // its containers map still holds c1
      g.open();
      await settled;
      assert.equal(c.state, "Pending");
      assert.deepEqual(d.events, ["u1 Exists 0/0"]);
    });
  }

  it("emitIfChanged emits nothing for a pod no longer in the registry", async () => {
    const d = direct();
    await d.life.addPod(pod("u1"));
    const entry = d.reg.pods.get("u1")!;
    d.reg.deletePod(entry);
    entry.groupState = { kind: "Failed" };
    d.life.emitIfChanged(entry);
    assert.deepEqual(d.events, ["u1 Exists 0/0"]);
  });

  it("pruneIfSandboxGone: false for an unknown pod and for a pod without any known sandbox (no vacuous 'all gone')", async () => {
    const d = direct();
    d.pids.setSandboxGone("u1", true);
    assert.equal(await d.life.pruneIfSandboxGone("ghost"), false);
    await d.life.addPod(pod("u1"));
    d.reg.removeSandbox(d.reg.pods.get("u1")!, "sb-u1");
    assert.equal(await d.life.pruneIfSandboxGone("u1"), false);
    assert.equal(d.pids.sandboxGoneCalls(), 0);
    assert.ok(d.fs.isDir(G1));
  });

  const changes = {
    "replaced by a new entry": (d: ReturnType<typeof direct>) => {
      const old = d.reg.pods.get("u1")!;
      d.reg.addPod(pod("u1", "sb-a"), old.groupState);
    },
    "given a container": (d: ReturnType<typeof direct>) => {
      d.reg.addContainer(d.reg.pods.get("u1")!, ctr("c1", "sb-a"), "sb-a", "Pending");
    },
    "given another sandbox": (d: ReturnType<typeof direct>) => {
      d.reg.addSandbox(d.reg.pods.get("u1")!, pod("u1", "sb-c"));
    },
    "re-described one of its sandboxes": (d: ReturnType<typeof direct>) => {
      d.reg.addSandbox(d.reg.pods.get("u1")!, { ...pod("u1", "sb-b") });
    },
  };
  for (const [name, change] of Object.entries(changes)) {
    it(`pruneIfSandboxGone keeps a pod ${name} while its sandboxes were checked`, async () => {
      const d = direct();
      await d.life.addPod(pod("u1", "sb-a"));
      await d.life.addPod(pod("u1", "sb-b"));
      const g = gate();
      let calls = 0;
      d.pids.sandboxGone = async () => {
        if (++calls === 1) await g.promise;
        return true;
      };
      const pruned = d.life.pruneIfSandboxGone("u1");
      await until(() => calls === 1);
      change(d);
      const kept = d.reg.pods.get("u1");
      g.open();
      assert.equal(await pruned, false);
      assert.equal(d.reg.pods.get("u1"), kept);
      assert.ok(d.fs.isDir(G1));
      assert.ok(!d.events.includes("u1 Removed"));
    });
  }
});

describe("ResctrlPlugin lifecycle edges (harness)", () => {
  it("removing a Failed pod touches no group (no delete attempt, no warning), then Removed", async () => {
    const h = harness();
    h.fs.failMkdirWithEnospc(true);
    await h.plugin.runPodSandbox(pod("u1"));
    h.fs.failMkdirWithEnospc(false);
    await h.plugin.removePodSandbox(pod("u1"));
    assert.deepEqual(h.trace(), ["u1 Failed 0/0", "u1 Removed"]);
    assert.equal(h.fs.calls("rmdir"), 0);
    assert.ok(!h.logs.some((l) => l.msg === "failed to delete group of removed pod"));
  });

  it("a group rmdir that fails is logged with pod and group, and Removed is still emitted", async () => {
    const h = harness();
    await h.plugin.runPodSandbox(pod("u1"));
    h.fs.failNext("rmdir", G1, "EBUSY");
    await h.plugin.removePodSandbox(pod("u1"));
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Removed"]);
    const w = h.logs.find((l) => l.msg === "failed to delete group of removed pod");
    assert.equal(w?.level, 40);
    assert.equal(w?.["podUid"], "u1");
    assert.equal(w?.["group"], G1);
    assert.ok(w?.["err"]);
  });

  it("Reconciled needs a fresh non-empty re-read when every pass was used", async () => {
    const h = harness({ cfg: { maxReconcilePasses: 1 } });
    h.pids.setSequence("c1", [[11], []]);
    await h.plugin.runPodSandbox(pod("u1"));
    await h.plugin.startContainer(pod("u1"), ctr("c1", "sb-u1"));
    assert.equal(h.pids.calls("c1"), 2);
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Exists 1/0"]);
  });

  it("reconcile logs: fields of a converged reconcile; an empty container is info, a failure a warning", async () => {
    const h = harness();
    h.pids.setPids("c1", [11]).setError("c2", new Error("boom"));
    await h.plugin.runPodSandbox(pod("u1"));
    for (const id of ["c1", "c2", "c3"]) await h.plugin.startContainer(pod("u1"), ctr(id, "sb-u1"));
    const ok = h.logs.find((l) => l.msg === "reconciled container");
    const keys = ["podUid", "containerId", "reason", "group", "assigned", "missing", "foreign", "passes"];
    assert.deepEqual(
      keys.map((k) => ok?.[k]),
      ["u1", "c1", "start", G1, 1, 0, 0, 2],
    );
    assert.equal(ok?.["converged"], true);
    const took = ok?.["durationMs"];
    assert.ok(typeof took === "number" && took >= 0 && took < 60_000);
    const failed = h.logs.find((l) => l.msg === "failed to reconcile container; Partial");
    assert.equal(failed?.level, 40);
    assert.equal(failed?.["containerId"], "c2");
    const ms = failed?.["durationMs"];
    assert.ok(typeof ms === "number" && ms >= 0 && ms < 60_000);
    const empty = h.logs.filter((l) => l.msg === "container has no tasks yet; Partial");
    assert.deepEqual(
      empty.map((l) => [l.level, l["containerId"]]),
      [[30, "c3"]],
    );
  });

  it("NoPod containers: removable, and only those of the pod's own sandbox are promoted or dropped", async () => {
    const h = harness();
    for (const n of ["1", "2", "3"])
      await h.plugin.startContainer(pod("x", `sb-u${n}`), ctr(`c${n}`, `sb-u${n}`));
    await h.plugin.removeContainer(pod("u1"), ctr("c1", "sb-u1"));
    await h.plugin.removePodSandbox(pod("u3"));
    assert.deepEqual(
      h.plugin.unassignedContainers().map((c) => c.id),
      ["c2"],
    );
    await h.plugin.runPodSandbox(pod("u1"));
    assert.deepEqual(h.plugin.snapshot()[0]?.containers, []);
    assert.deepEqual(h.trace(), ["u1 Exists 0/0"]);
    assert.deepEqual(
      h.plugin.unassignedContainers().map((c) => c.id),
      ["c2"],
    );
  });

  it("pod event logs carry the group path (Exists) or none (Failed) and the counters", async () => {
    const h = harness();
    await h.plugin.runPodSandbox(pod("u1"));
    h.fs.failMkdirWithEnospc(true);
    await h.plugin.runPodSandbox(pod("u2"));
    const ev = h.logs.filter((l) => l.msg === "pod event");
    assert.deepEqual(
      ev.map((l) => [l["event"], l["podUid"], l["groupState"], l["group"], l["total"], l["reconciled"]]),
      [
        ["AddOrUpdate", "u1", "Exists", G1, 0, 0],
        ["AddOrUpdate", "u2", "Failed", undefined, 0, 0],
      ],
    );
  });

  it("sandbox-check logs name the pod and its sandboxes (pruned) or the sandbox that failed (kept)", async () => {
    const h = harness();
    for (const u of ["u1", "u2"]) {
      await h.plugin.runPodSandbox(pod(u));
      await h.plugin.startContainer(pod(u), ctr(`c-${u}`, `sb-${u}`));
    }
    h.pids.setSandboxGone("u1", true).setSandboxGone("u2", new Error("boom"));
    await h.plugin.removeContainer(pod("u1"), ctr("c-u1", "sb-u1"));
    await h.plugin.removeContainer(pod("u2"), ctr("c-u2", "sb-u2"));
    const gone = h.logs.find((l) => l.msg.startsWith("pod sandbox vanished without"));
    assert.deepEqual([gone?.["podUid"], gone?.["sandboxIds"]], ["u1", ["sb-u1"]]);
    const w = h.logs.find((l) => l.msg === "failed to check sandbox; pod kept");
    assert.deepEqual([w?.level, w?.["podUid"], w?.["sandboxId"]], [40, "u2", "sb-u2"]);
    assert.ok(w?.["err"]);
  });
});

describe("PodRegistry bookkeeping (direct)", () => {
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
});
