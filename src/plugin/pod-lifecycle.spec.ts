// PodLifecycle on its own (its registry, MemFs and MockPidSource, no ResctrlPlugin): the re-checks
// after each await (settle, pruneIfSandboxGone, emitIfChanged on a detached pod), the group-name
// collision guard, and how a group-creation failure is worded for operators.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pino } from "pino";
import {
  MON,
  ROOT,
  ctr,
  gate,
  harness,
  inClass,
  pod,
  show,
  until,
} from "../../test/support/plugin-harness.js";
import { CapacityError, RmidLimboError } from "../resctrl/errors.js";
import { Resctrl } from "../resctrl/index.js";
import { MemFs } from "../memfs/mem-fs.js";
import { MockPidSource } from "../testing/mock-pid-source.js";
import { CgroupGoneError } from "./errors.js";
import { EventBus } from "./event-bus.js";
import type { PodResctrlEvent } from "./events.js";
import { PodLifecycle, groupFailureReason } from "./pod-lifecycle.js";
import { PodRegistry } from "./pod-registry.js";
import type { ResctrlPort } from "./resctrl-port.js";

const G1 = `${MON}/pod_u1`;

/**
 * A PodLifecycle over its own registry, MemFs and MockPidSource; `samePath` maps every UID to one
 * group; `follow` turns followRdtClasses on (off, the constructor's default, otherwise).
 */
function direct(o: { samePath?: boolean; follow?: boolean } = {}) {
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
  const life = o.follow
    ? new PodLifecycle(reg, port, pids, bus, silent, 4, undefined, true)
    : new PodLifecycle(reg, port, pids, bus, silent, 4);
  return { fs, r, pids, reg, life, events };
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

const GOLD = `${ROOT}/gold`;

describe("PodLifecycle: settle and stopContainer", () => {
  it("classes are not followed unless asked: a task in a class leaves the container Partial, naming the class", async () => {
    const d = direct();
    await d.life.addPod(pod("u1"));
    await inClass(d.fs, "gold", 11);
    d.pids.setPids("c1", [11]);
    const c = d.reg.addContainer(d.reg.pods.get("u1")!, ctr("c1", "sb-u1"), "sb-u1", "Pending");
    await d.life.settle("u1", c, "test");
    assert.equal(c.state, "Partial");
    assert.match(c.reason ?? "", /RDT control group gold/);
    assert.equal(d.fs.isDir(`${GOLD}/mon_groups/pod_u1`), false);
  });

  it("settle: a container stopped during its reconcile stays Stopped and uncounted", async () => {
    const d = direct();
    await d.life.addPod(pod("u1"));
    const g = gate();
    d.pids.setFn("c1", async () => (await g.promise, [11]));
    const c = d.reg.addContainer(d.reg.pods.get("u1")!, ctr("c1", "sb-u1"), "sb-u1", "Pending");
    const settled = d.life.settle("u1", c, "test");
    await until(() => d.pids.calls("c1") === 1);
    assert.equal(d.life.stopContainer(ctr("c1", "sb-u1"), "sb-u1", "stop"), true);
    g.open();
    await settled;
    assert.equal(c.state, "Stopped");
    assert.deepEqual(d.events, ["u1 Exists 0/0"]);
  });

  it("stopContainer: true when it changed something, false for a container already Stopped", async () => {
    const d = direct();
    await d.life.addPod(pod("u1"));
    d.reg.addContainer(d.reg.pods.get("u1")!, ctr("c1", "sb-u1"), "sb-u1", "Reconciled");
    assert.equal(d.life.stopContainer(ctr("c1", "sb-u1"), "sb-u1", "stop"), true);
    assert.equal(d.life.stopContainer(ctr("c1", "sb-u1"), "sb-u1", "stop"), false);
    assert.deepEqual(d.events, ["u1 Exists 0/0"]);
  });

  it("stopContainer of a container never seen, in a sandbox never seen: true, kept as a stopped NoPod entry", () => {
    const d = direct();
    assert.equal(d.life.stopContainer(ctr("c9", "sb-x"), "sb-x", "stop"), true);
    assert.equal(d.reg.noPod.get("c9")?.state, "Stopped");
  });
});

describe("PodLifecycle: stopIfVanished", () => {
  it("a container already Stopped: false without asking the PID source, not counted", async () => {
    const d = direct();
    await d.life.addPod(pod("u1"));
    const entry = d.reg.pods.get("u1")!;
    const c = d.reg.addContainer(entry, ctr("c1", "sb-u1"), "sb-u1", "Stopped");
    let asked = 0;
    d.pids.containerGone = async () => (++asked, true);
    assert.equal(await d.life.stopIfVanished(entry, c, "test"), false);
    assert.equal(asked, 0);
    assert.equal(d.life.stats.containersVanished, 0);
  });

  const meanwhile = {
    "its pod was removed": (d: ReturnType<typeof direct>) => d.reg.deletePod(d.reg.pods.get("u1")!),
    "it was removed": (d: ReturnType<typeof direct>) => void d.reg.removeContainer("c1"),
    "it was stopped": (d: ReturnType<typeof direct>) =>
      void d.life.stopContainer(ctr("c1", "sb-u1"), "sb-u1", "stop"),
  };
  for (const [name, change] of Object.entries(meanwhile)) {
    it(`a container that vanished: false and not counted when ${name} while the PID source answered`, async () => {
      const d = direct();
      await d.life.addPod(pod("u1"));
      const entry = d.reg.pods.get("u1")!;
      const c = d.reg.addContainer(entry, ctr("c1", "sb-u1"), "sb-u1", "Reconciled");
      const g = gate();
      let asked = 0;
      d.pids.containerGone = async () => (++asked, await g.promise, true);
      const marked = d.life.stopIfVanished(entry, c, "test");
      await until(() => asked === 1);
      const before = c.state;
      change(d);
      const expected = c.state;
      g.open();
      assert.equal(await marked, false);
      assert.equal(d.life.stats.containersVanished, 0);
      assert.equal(c.state, expected, `was ${before}`);
    });
  }
});

describe("PodLifecycle: dropGoneClasses", () => {
  /** u1 with c1 (task 11 in gold, its class group failed: Partial), c2 (task 12, EPERM: Partial), c3 (Stopped). */
  async function podInGoneClass() {
    const d = direct({ follow: true });
    await d.life.addPod(pod("u1"));
    const entry = d.reg.pods.get("u1")!;
    await inClass(d.fs, "gold", 11);
    d.pids.setPids("c1", [11]).setPids("c2", [12]).setPids("c3", [13]);
    d.fs.pidDenied(12);
    d.fs.failMkdirWithEnospc(true);
    const c1 = d.reg.addContainer(entry, ctr("c1", "sb-u1"), "sb-u1", "Pending");
    await d.life.settle("u1", c1, "test");
    d.fs.failMkdirWithEnospc(false);
    const c2 = d.reg.addContainer(entry, ctr("c2", "sb-u1"), "sb-u1", "Pending");
    await d.life.settle("u1", c2, "test");
    const c3 = d.reg.addContainer(entry, ctr("c3", "sb-u1"), "sb-u1", "Stopped");
    assert.deepEqual([c1.state, c2.state, c3.state], ["Partial", "Partial", "Stopped"]);
    await d.fs.removeDir(GOLD);
    return { d, entry, c1, c2, c3, existing: new Set(await d.r.controlGroups()) };
  }

  it("false when every class group's control group still exists", async () => {
    const { d, entry } = await podInGoneClass();
    assert.equal(await d.life.dropGoneClasses(entry, new Set([GOLD]), "test"), false);
  });

  it("a class gone: true; live containers reconciled into the root group (converged ones Reconciled), stopped ones left alone", async () => {
    const { d, entry, c1, c2, c3, existing } = await podInGoneClass();
    const c3Calls = d.pids.calls("c3");
    assert.equal(await d.life.dropGoneClasses(entry, existing, "test"), true);
    assert.deepEqual([c1.state, c2.state, c3.state], ["Reconciled", "Partial", "Stopped"]);
    assert.equal(d.pids.calls("c3"), c3Calls, "a stopped container is not reconciled");
    assert.deepEqual(d.fs.tasksOf(G1), [11]);
    assert.equal(d.events.at(-1), "u1 Exists 2/1");
    assert.equal(await d.life.dropGoneClasses(entry, existing, "test"), false, "nothing left to drop");
  });

  for (const what of ["container", "pod"] as const) {
    it(`stops reconciling once a ${what} was removed during an earlier container's reconcile`, async () => {
      const { d, entry, existing } = await podInGoneClass();
      const g = gate();
      let held = false;
      d.pids.setFn("c1", async () => {
        if (!held) {
          held = true;
          await g.promise;
        }
        return [11];
      });
      const c2Calls = d.pids.calls("c2");
      const dropped = d.life.dropGoneClasses(entry, existing, "test");
      await until(() => held);
      if (what === "container") d.reg.removeContainer("c2");
      else d.reg.deletePod(entry); // its containers map still holds c2
      g.open();
      assert.equal(await dropped, true);
      assert.equal(d.pids.calls("c2"), c2Calls);
    });
  }
});

describe("PodLifecycle: reconcile passes", () => {
  it("a container that converged before the last pass is not read again; one that needed every pass is read once more", async () => {
    const d = direct();
    await d.life.addPod(pod("u1"));
    const entry = d.reg.pods.get("u1")!;
    d.pids.setPids("c1", [11]);
    const c1 = d.reg.addContainer(entry, ctr("c1", "sb-u1"), "sb-u1", "Pending");
    await d.life.settle("u1", c1, "test");
    assert.equal(c1.state, "Reconciled");
    assert.equal(d.pids.calls("c1"), 2, "a write pass, then a pass that finds every task in place");
    d.pids.setFn("c2", (n) => [21, 22, 23, 24].slice(0, Math.min(n, 4))); // forks on each of the 4 passes
    const c2 = d.reg.addContainer(entry, ctr("c2", "sb-u1"), "sb-u1", "Pending");
    await d.life.settle("u1", c2, "test");
    assert.equal(c2.state, "Reconciled");
    assert.equal(d.pids.calls("c2"), 5, "4 passes, then one fresh read");
  });
});

describe("PodLifecycle: operator-facing records", () => {
  it("a container whose cgroup is gone but whose exit cannot be checked stays Partial, with a warning naming it", async () => {
    const h = harness();
    const p = pod("u1");
    await h.plugin.runPodSandbox(p);
    h.pids.setError("c1", new CgroupGoneError("c1", ["/x"]));
    h.pids.setContainerGone("c1", new Error("proc unreadable"));
    await h.plugin.startContainer(p, ctr("c1", p.id));
    assert.equal(h.plugin.snapshot()[0]?.containers[0]?.state, "Partial");
    const w = h.logs.find((l) => l.msg === "failed to check whether the container exited; Partial");
    assert.equal(w?.podUid, "u1");
    assert.equal(w?.containerId, "c1");
  });

  it("only a gone cgroup makes the plugin ask whether the container exited: no tasks yet keeps it Partial", async () => {
    const h = harness();
    const p = pod("u1");
    await h.plugin.runPodSandbox(p);
    h.pids.setContainerGone("c1", true); // would say exited, but the cgroup exists (empty)
    await h.plugin.startContainer(p, ctr("c1", p.id));
    assert.equal(h.plugin.snapshot()[0]?.containers[0]?.state, "Partial");
    assert.equal(h.plugin.stats.containersVanished, 0);
  });

  it("stop and vanish records name the container and its pod", async () => {
    const h = harness();
    const p = pod("u1");
    await h.plugin.runPodSandbox(p);
    h.pids.setPids("c1", [11]).setPids("c2", [12]);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    await h.plugin.startContainer(p, ctr("c2", p.id));
    await h.plugin.stopContainer(p, ctr("c1", p.id));
    await h.plugin.stopContainer(pod("u9"), ctr("c9", "sb-u9"));
    h.pids.setContainerGone("c2", true);
    await h.plugin.sweep();
    const rec = (msg: RegExp) => h.logs.find((l) => msg.test(l.msg));
    const stopped = rec(/^container stopped; no longer counted/);
    assert.deepEqual([stopped?.podUid, stopped?.containerId, stopped?.reason], ["u1", "c1", "stop"]);
    assert.equal(rec(/^stop of a container not seen running/)?.containerId, "c9");
    const vanished = rec(/^container exited without a stop/);
    assert.deepEqual([vanished?.podUid, vanished?.containerId], ["u1", "c2"]);
  });
});
