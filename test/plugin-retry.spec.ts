// Caller-driven retries: retryGroupCreation, retryContainerReconcile, retryAllOnce.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ContainerNotFoundError, PodNotFoundError } from "../src/plugin/errors.js";
import { CapacityError } from "../src/resctrl/index.js";
import { MON, ctr, harness, pod } from "./plugin-harness.js";

describe("plugin: retryGroupCreation", () => {
  it("Capacity → throws CapacityError, no event; after capacity frees → Exists, exactly one event", async () => {
    const h = harness();
    const p = pod("u1");
    h.fs.failMkdirWithEnospc(true);
    await h.plugin.runPodSandbox(p);
    h.pids.setPids("c1", [11]);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    assert.deepEqual(h.trace(), ["u1 Failed 0/0", "u1 Failed 1/0"]);
    assert.equal(await h.plugin.retryContainerReconcile("c1"), "Partial", "no group yet: no reconcile");
    assert.equal(h.pids.calls("c1"), 0);
    await assert.rejects(h.plugin.retryGroupCreation("u1"), CapacityError);
    assert.equal(h.events.length, 2, "no event for a failed retry");
    h.fs.failMkdirWithEnospc(false);
    assert.deepEqual(await h.plugin.retryGroupCreation("u1"), { kind: "Exists", path: `${MON}/pod_u1` });
    assert.deepEqual(h.trace().slice(2), ["u1 Exists 1/0"]);
    assert.deepEqual(await h.plugin.retryGroupCreation("u1"), { kind: "Exists", path: `${MON}/pod_u1` });
    assert.equal(h.events.length, 3, "retrying an Exists pod emits nothing");
    assert.equal(await h.plugin.retryContainerReconcile("c1"), "Reconciled");
    assert.deepEqual(h.trace().slice(3), ["u1 Exists 1/1"]);
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_u1`), [11]);
  });

  it("unknown pod → PodNotFoundError", async () => {
    const h = harness();
    await assert.rejects(h.plugin.retryGroupCreation("nope"), PodNotFoundError);
  });
});

describe("plugin: retryContainerReconcile", () => {
  it("Partial → Reconciled emits exactly one event; a second retry emits nothing", async () => {
    const h = harness();
    const p = pod("u1");
    h.pids.setPids("c1", [101, 102]);
    h.fs.pidGone(101);
    h.fs.pidGone(102);
    await h.plugin.runPodSandbox(p);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    assert.equal(await h.plugin.retryContainerReconcile("c1"), "Partial");
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Exists 1/0"]);
    h.fs.clearPidGone(101);
    h.fs.clearPidGone(102);
    assert.equal(await h.plugin.retryContainerReconcile("c1"), "Reconciled");
    assert.equal(await h.plugin.retryContainerReconcile("c1"), "Reconciled");
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Exists 1/0", "u1 Exists 1/1"]);
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_u1`), [101, 102]);
  });

  it("a Reconciled container is reconciled again (catches exec'd processes), never demoted", async () => {
    const h = harness();
    const p = pod("u1");
    let tasks = [1];
    h.pids.setFn("c1", () => tasks);
    await h.plugin.runPodSandbox(p);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    tasks = [1, 2];
    assert.equal(await h.plugin.retryContainerReconcile("c1"), "Reconciled");
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_u1`), [1, 2]);
    tasks = [];
    assert.equal(await h.plugin.retryContainerReconcile("c1"), "Reconciled", "empty set does not demote");
    assert.equal(h.trace().at(-1), "u1 Exists 1/1");
  });

  it("unknown container → ContainerNotFoundError; NoPod container → 'NoPod'", async () => {
    const h = harness();
    await assert.rejects(h.plugin.retryContainerReconcile("nope"), ContainerNotFoundError);
    await h.plugin.startContainer(pod("u9"), ctr("c9", "sb-u9"));
    assert.equal(await h.plugin.retryContainerReconcile("c9"), "NoPod");
  });

  it("a hard error (cgroup gone) is thrown and the container stays Partial", async () => {
    const h = harness();
    const p = pod("u1");
    h.pids.setError("c1", new Error("failed to read cgroup.procs: cgroup gone"));
    await h.plugin.runPodSandbox(p);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    await assert.rejects(h.plugin.retryContainerReconcile("c1"), /cgroup gone/);
    assert.equal(h.plugin.snapshot()[0]?.containers[0]?.state, "Partial");
  });
});

describe("plugin: retryAllOnce", () => {
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
});
