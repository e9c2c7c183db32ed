// PodLifecycle on its own (its registry, MemFs and MockPidSource, no ResctrlPlugin): the re-checks
// after each await (settle, pruneIfSandboxGone, emitIfChanged on a detached pod), the group-name
// collision guard, and how a group-creation failure is worded for operators.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pino } from "pino";
import { MON, ROOT, ctr, gate, pod, show, until } from "../../test/support/plugin-harness.js";
import { CapacityError, RmidLimboError } from "../resctrl/errors.js";
import { Resctrl } from "../resctrl/index.js";
import { MemFs } from "../memfs/mem-fs.js";
import { MockPidSource } from "../testing/mock-pid-source.js";
import { EventBus } from "./event-bus.js";
import type { PodResctrlEvent } from "./events.js";
import { PodLifecycle, groupFailureReason } from "./pod-lifecycle.js";
import { PodRegistry } from "./pod-registry.js";
import type { ResctrlPort } from "./resctrl-port.js";

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
        controlGroups: () => r.controlGroups(),
        classGroupPathFor: (u, c) => r.classGroupPathFor(u, c),
        createClassGroup: (u, c) => r.createClassGroup(u, c),
        taskControlGroups: (t) => r.taskControlGroups(t),
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

describe("PodLifecycle re-checks and guards", () => {
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

describe("groupFailureReason", () => {
  it("names RMIDs in limbo (retry later) and RMID exhaustion (ENOSPC); otherwise the error's message", () => {
    assert.match(groupFailureReason(new RmidLimboError("busy")), /^RMIDs in limbo: .*retry later/);
    assert.match(groupFailureReason(new CapacityError("full")), /^RMIDs exhausted \(ENOSPC\)/);
    assert.equal(groupFailureReason(new Error("EIO somewhere")), "EIO somewhere");
  });
});
