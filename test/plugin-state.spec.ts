// The plugin state machine, driven by calling the NRI handler methods directly (no socket):
// every row of the upstream contract §3.3 plus the §6.2 improvements that concern events.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { NriContainerState } from "../src/nri/types.js";
import { RESCTRL_PLUGIN_EVENT_MASK } from "../src/plugin/plugin.js";
import { MON, ctr, harness, pod } from "./plugin-harness.js";

describe("plugin: configure and startup sync", () => {
  it("subscribes to exactly RUN/REMOVE_POD_SANDBOX, START/STOP/REMOVE_CONTAINER (0x625)", () => {
    const h = harness();
    const r = h.plugin.configure({ config: "", runtimeName: "fake", runtimeVersion: "1" });
    assert.equal(RESCTRL_PLUGIN_EVENT_MASK, 0x625);
    assert.deepEqual(r, { events: 0x625 });
  });

  it("emits 0/0 per pod, then counts climb as containers reconcile (1/1, 2/2); tasks moved", async () => {
    const h = harness();
    h.pids.setPids("c1", [11, 12]).setPids("c2", [21]);
    await h.plugin.synchronize([pod("u1")], [ctr("c1", "sb-u1"), ctr("c2", "sb-u1")]);
    await h.plugin.idle();
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Exists 1/1", "u1 Exists 2/2"]);
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_u1`), [11, 12, 21]);
    const [snap] = h.plugin.snapshot();
    assert.equal(snap?.groupState.kind, "Exists");
    assert.deepEqual(
      snap?.containers.map((c) => `${c.id}:${c.state}`),
      ["c1:Reconciled", "c2:Reconciled"],
    );
  });

  it("does not count STOPPED containers from Synchronize (kept as Stopped); unknown state values count as live", async () => {
    const h = harness();
    h.pids.setPids("c1", [11]).setPids("c3", [31]);
    await h.plugin.synchronize(
      [pod("u1")],
      [
        ctr("c1", "sb-u1"),
        ctr("c2", "sb-u1", NriContainerState.STOPPED),
        ctr("c3", "sb-u1", 99 as NriContainerState),
      ],
    );
    await h.plugin.idle();
    assert.deepEqual(h.trace().at(-1), "u1 Exists 2/2");
    assert.deepEqual(
      h.plugin
        .snapshot()[0]
        ?.containers.map((c) => `${c.id} ${c.state}`)
        .sort(),
      ["c1 Reconciled", "c2 Stopped", "c3 Reconciled"],
    );
  });

  it("a repeated Synchronize with the same state emits nothing, creates and deletes nothing", async () => {
    const h = harness();
    h.pids.setPids("c1", [11]);
    await h.plugin.synchronize([pod("u1")], [ctr("c1", "sb-u1")]);
    await h.plugin.idle();
    const before = h.events.length;
    const mkdirs = h.fs.calls("mkdir");
    const rmdirs = h.fs.calls("rmdir");
    await h.plugin.synchronize([pod("u1")], [ctr("c1", "sb-u1")]);
    await h.plugin.idle();
    assert.equal(h.events.length, before);
    assert.equal(h.fs.calls("mkdir"), mkdirs);
    assert.equal(h.fs.calls("rmdir"), rmdirs);
    assert.ok(h.fs.isDir(`${MON}/pod_u1`));
  });

  it("a resync drops pods and containers the runtime no longer reports (Removed, group deleted)", async () => {
    const h = harness();
    h.pids.setPids("a1", [1]).setPids("b1", [2]).setPids("b2", [3]);
    await h.plugin.synchronize(
      [pod("a"), pod("b")],
      [ctr("a1", "sb-a"), ctr("b1", "sb-b"), ctr("b2", "sb-b")],
    );
    await h.plugin.idle();
    h.events.length = 0;
    await h.plugin.synchronize([pod("b")], [ctr("b1", "sb-b")]);
    await h.plugin.idle();
    assert.deepEqual(h.trace(), ["a Removed", "b Exists 1/1"]);
    assert.equal(h.fs.isDir(`${MON}/pod_a`), false);
  });
});

describe("plugin: lifecycle events (contract §3.3)", () => {
  it("RUN → 0/0 Exists; START → 1/1; REMOVE_CONTAINER → 0/0; REMOVE_POD → rmdir then Removed", async () => {
    const h = harness();
    const p = pod("u1");
    h.pids.setPids("c1", [7777]);
    await h.plugin.synchronize([], []);
    await h.plugin.runPodSandbox(p);
    assert.ok(h.fs.isDir(`${MON}/pod_u1`));
    await h.plugin.startContainer(p, ctr("c1", p.id));
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_u1`), [7777]);
    await h.plugin.removeContainer(p, ctr("c1", p.id));
    let groupExistedAtRemoved: boolean | undefined;
    h.plugin.onEvent((e) => {
      if (e.kind === "Removed") groupExistedAtRemoved = h.fs.isDir(`${MON}/pod_u1`);
    });
    await h.plugin.removePodSandbox(p);
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Exists 1/1", "u1 Exists 0/0", "u1 Removed"]);
    assert.equal(groupExistedAtRemoved, false, "Removed must come after the rmdir");
    assert.deepEqual(h.plugin.snapshot(), []);
  });

  it("duplicate RUN and duplicate START emit nothing and do not change counts", async () => {
    const h = harness();
    const p = pod("u1");
    h.pids.setPids("c1", [5]);
    await h.plugin.runPodSandbox(p);
    await h.plugin.runPodSandbox(p);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    await h.plugin.startContainer(p, ctr("c1", p.id));
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Exists 1/1"]);
    assert.equal(h.pids.calls("c1") > 0, true);
    const calls = h.pids.calls("c1");
    await h.plugin.startContainer(p, ctr("c1", p.id));
    assert.equal(h.pids.calls("c1"), calls, "a duplicate START does no I/O");
  });

  it("REMOVE_CONTAINER / REMOVE_POD_SANDBOX for unknown ids emit nothing", async () => {
    const h = harness();
    await h.plugin.runPodSandbox(pod("u1"));
    h.events.length = 0;
    await h.plugin.removeContainer(pod("u1"), ctr("nope", "sb-u1"));
    await h.plugin.removePodSandbox(pod("ghost"));
    assert.deepEqual(h.trace(), []);
  });

  it("START whose reconcile does not converge counts the container as Partial (1/0)", async () => {
    const h = harness();
    const p = pod("u1");
    h.pids.setPids("c1", [101, 102]);
    h.fs.pidGone(101);
    await h.plugin.runPodSandbox(p);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Exists 1/0"]);
    assert.equal(h.plugin.snapshot()[0]?.containers[0]?.state, "Partial");
  });

  it("START with an empty PID set (no tasks yet) is Partial, not an error", async () => {
    const h = harness();
    const p = pod("u1");
    await h.plugin.runPodSandbox(p);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Exists 1/0"]);
  });

  it("ENOSPC at RUN → Failed 0/0; START into a Failed pod → Failed 1/0 without touching resctrl", async () => {
    const h = harness();
    const p = pod("u1");
    h.fs.failMkdirWithEnospc(true);
    await h.plugin.runPodSandbox(p);
    h.pids.setPids("c1", [1]);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    assert.deepEqual(h.trace(), ["u1 Failed 0/0", "u1 Failed 1/0"]);
    assert.equal(h.pids.calls("c1"), 0);
  });

  it("a sandbox recreated with the same pod UID keeps the group until its last sandbox is removed", async () => {
    const h = harness();
    const old = pod("u1", "sb-old");
    const fresh = pod("u1", "sb-new");
    h.pids.setPids("c-old", [1]).setPids("c-new", [2]);
    await h.plugin.runPodSandbox(old);
    await h.plugin.startContainer(old, ctr("c-old", old.id));
    await h.plugin.runPodSandbox(fresh);
    await h.plugin.startContainer(fresh, ctr("c-new", fresh.id));
    await h.plugin.removePodSandbox(old);
    assert.ok(h.fs.isDir(`${MON}/pod_u1`));
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Exists 1/1", "u1 Exists 2/2", "u1 Exists 1/1"]);
    await h.plugin.removePodSandbox(fresh);
    assert.equal(h.trace().at(-1), "u1 Removed");
    assert.equal(h.fs.isDir(`${MON}/pod_u1`), false);
  });
});

describe("plugin: containers seen before their pod (NoPod)", () => {
  it("START before RUN: no event; RUN promotes, counts and reconciles it", async () => {
    const h = harness();
    const p = pod("u1");
    h.pids.setPids("c1", [42]);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    assert.deepEqual(h.trace(), []);
    assert.deepEqual(
      h.plugin.unassignedContainers().map((c) => `${c.id}:${c.state}`),
      ["c1:NoPod"],
    );
    await h.plugin.runPodSandbox(p);
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Exists 1/1"]);
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_u1`), [42]);
    assert.deepEqual(h.plugin.unassignedContainers(), []);
  });

  it("Synchronize: a container whose pod is absent is kept as NoPod and promoted when the pod runs", async () => {
    const h = harness();
    h.pids.setPids("c9", [9]);
    await h.plugin.synchronize([], [ctr("c9", "sb-late")]);
    await h.plugin.idle();
    assert.equal(h.plugin.unassignedContainers()[0]?.id, "c9");
    await h.plugin.runPodSandbox(pod("late", "sb-late"));
    assert.deepEqual(h.trace(), ["late Exists 0/0", "late Exists 1/1"]);
  });

  it("REMOVE_POD_SANDBOX of a never-seen pod drops its NoPod containers without an event", async () => {
    const h = harness();
    const p = pod("u1");
    await h.plugin.startContainer(p, ctr("c1", p.id));
    await h.plugin.removePodSandbox(p);
    assert.deepEqual(h.plugin.unassignedContainers(), []);
    assert.deepEqual(h.trace(), []);
  });
});
