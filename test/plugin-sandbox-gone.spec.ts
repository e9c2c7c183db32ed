// Pods the runtime forgets after a restart: containerd 1.7 sends no REMOVE_POD_SANDBOX for pods it
// recovered, so the plugin removes a pod whose sandboxes are positively gone (CgroupPidSource
// .sandboxGone) on its last REMOVE_CONTAINER and in retryAllOnce; never on doubt.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MON, ctr, harness, pod } from "./plugin-harness.js";

const GROUP = `${MON}/pod_u1`;

/** A pod u1 (sandbox sb-u1) with containers c1 and c2, both reconciled. */
async function twoContainers() {
  const h = harness();
  h.pids.setPids("c1", [11]).setPids("c2", [12]);
  const p = pod("u1");
  await h.plugin.runPodSandbox(p);
  await h.plugin.startContainer(p, ctr("c1", p.id));
  await h.plugin.startContainer(p, ctr("c2", p.id));
  assert.ok(h.fs.isDir(GROUP));
  return { h, p };
}

/** REMOVE_CONTAINER as containerd sends it for a recovered pod: pod fields sparse (no uid). */
function sparse(id: string) {
  return { ...pod(""), id, cgroupsPath: "", cgroupParent: "", name: "" };
}

describe("pod sandbox vanished without REMOVE_POD_SANDBOX", () => {
  it("last REMOVE_CONTAINER of a gone sandbox: rmdir the group, then exactly one Removed", async () => {
    const { h, p } = await twoContainers();
    h.pids.setSandboxGone("sb-u1", true);
    await h.plugin.removeContainer(p, ctr("c1", p.id));
    assert.ok(h.fs.isDir(GROUP), "a container remains: pod kept");
    assert.deepEqual(h.plugin.snapshot().length, 1);
    await h.plugin.removeContainer(sparse(p.id), ctr("c2", p.id));
    assert.equal(h.fs.isDir(GROUP), false);
    assert.deepEqual(h.plugin.snapshot(), []);
    assert.deepEqual(h.trace(), [
      "u1 Exists 0/0",
      "u1 Exists 1/1",
      "u1 Exists 2/2",
      "u1 Exists 1/1",
      "u1 Exists 0/0",
      "u1 Removed",
    ]);
    const removed = h.logs.find((l) => l.msg === "pod event" && l["event"] === "Removed");
    assert.equal(removed?.["reason"], "sandbox vanished");
    // The runtime may still send REMOVE_POD_SANDBOX (a pod it did not recover): no second event.
    await h.plugin.removePodSandbox(p);
    assert.equal(h.trace().filter((t) => t === "u1 Removed").length, 1);
    assert.equal(h.trace().length, 6);
  });

  it("sandbox alive (the default) or undeterminable: the pod and its group stay", async () => {
    const { h, p } = await twoContainers();
    h.pids.setSandboxGone("u1", false);
    await h.plugin.removeContainer(p, ctr("c1", p.id));
    await h.plugin.removeContainer(p, ctr("c2", p.id));
    assert.ok(h.pids.sandboxGoneCalls() >= 1, "the check ran on the last container");
    assert.ok(h.fs.isDir(GROUP));
    assert.equal(h.plugin.snapshot()[0]?.podUid, "u1");
    assert.equal(h.trace().at(-1), "u1 Exists 0/0");
    // A rejecting source is doubt too: kept, logged, the handler does not reject.
    h.pids.setSandboxGone("u1", new Error("boom"));
    const r = await h.plugin.retryAllOnce();
    assert.equal(r.podsPruned, 0);
    assert.ok(h.fs.isDir(GROUP));
    assert.ok(h.logs.some((l) => l.msg === "failed to check sandbox; pod kept"));
    assert.ok(!h.trace().includes("u1 Removed"));
  });

  it("only checks when no container is left (a living container keeps the pod)", async () => {
    const { h, p } = await twoContainers();
    h.pids.setSandboxGone("u1", true);
    await h.plugin.removeContainer(p, ctr("c1", p.id));
    assert.equal(h.pids.sandboxGoneCalls(), 0);
    assert.ok(h.fs.isDir(GROUP));
    const r = await h.plugin.retryAllOnce();
    assert.equal(r.podsPruned, 0, "a pod with a tracked container is not pruned");
    assert.ok(h.fs.isDir(GROUP));
  });

  it("a pod with two sandboxes is removed only when both are gone", async () => {
    const h = harness();
    const a = pod("u1", "sb-a");
    const b = pod("u1", "sb-b");
    await h.plugin.runPodSandbox(a);
    await h.plugin.runPodSandbox(b);
    await h.plugin.startContainer(a, ctr("c1", a.id));
    h.pids.setSandboxGone("sb-a", true);
    await h.plugin.removeContainer(a, ctr("c1", a.id));
    assert.ok(h.fs.isDir(GROUP));
    assert.deepEqual(h.plugin.snapshot()[0]?.sandboxIds, ["sb-a", "sb-b"]);
    h.pids.setSandboxGone("sb-b", true);
    const r = await h.plugin.retryAllOnce();
    assert.equal(r.podsPruned, 1);
    assert.equal(h.fs.isDir(GROUP), false);
    assert.equal(h.trace().filter((t) => t === "u1 Removed").length, 1);
  });

  it("retryAllOnce prunes pods whose containers were removed and whose sandboxes vanished later, oldest first", async () => {
    const h = harness();
    for (const u of ["u1", "u2", "u3", "u4"]) {
      const p = pod(u);
      await h.plugin.runPodSandbox(p);
      if (u !== "u4") {
        await h.plugin.startContainer(p, ctr(`c-${u}`, p.id));
        await h.plugin.removeContainer(p, ctr(`c-${u}`, p.id)); // sandboxes still alive here
      }
    }
    assert.equal(h.plugin.snapshot().length, 4);
    const before = h.trace().length;
    // Then the sandboxes vanish (no REMOVE_POD_SANDBOX); u4 never had a container (still starting).
    h.pids.setSandboxGone("u1", true).setSandboxGone("sb-u3", true).setSandboxGone("u4", true);
    const r = await h.plugin.retryAllOnce();
    assert.equal(r.podsPruned, 2);
    assert.deepEqual(r.failures, []);
    assert.deepEqual(
      h.plugin.snapshot().map((s) => s.podUid),
      ["u2", "u4"],
    );
    assert.equal(h.fs.isDir(`${MON}/pod_u1`), false);
    assert.ok(h.fs.isDir(`${MON}/pod_u2`));
    assert.equal(h.fs.isDir(`${MON}/pod_u3`), false);
    assert.ok(h.fs.isDir(`${MON}/pod_u4`), "a pod that never had a container is not swept");
    assert.deepEqual(h.trace().slice(before), ["u1 Removed", "u3 Removed"]);
    // A second pass finds nothing more; a late REMOVE_POD_SANDBOX is a no-op.
    assert.equal((await h.plugin.retryAllOnce()).podsPruned, 0);
    await h.plugin.removePodSandbox(pod("u1"));
    assert.equal(h.trace().length, before + 2);
  });

  it("a Failed pod (no group) whose sandbox is gone is pruned without group I/O and not retried", async () => {
    const h = harness();
    h.fs.failMkdirWithEnospc(true);
    const p = pod("u1");
    await h.plugin.runPodSandbox(p);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    await h.plugin.removeContainer(p, ctr("c1", p.id));
    assert.deepEqual(h.trace(), ["u1 Failed 0/0", "u1 Failed 1/0", "u1 Failed 0/0"]);
    h.pids.setSandboxGone("u1", true);
    const r = await h.plugin.retryAllOnce();
    assert.equal(r.podsPruned, 1);
    assert.equal(r.groupAttempts, 0, "a dead pod is not retried");
    assert.deepEqual(h.trace().slice(3), ["u1 Removed"]);
  });

  it("REMOVE_CONTAINER for an unknown pod or container: no event, no check", async () => {
    const h = harness();
    h.pids.setSandboxGone("ghost", true).setSandboxGone("sb-ghost", true);
    await h.plugin.removeContainer(pod("ghost"), ctr("cx", "sb-ghost"));
    await h.plugin.removeContainer(sparse("sb-ghost"), ctr("cy", "sb-ghost"));
    assert.deepEqual(h.trace(), []);
    assert.equal(h.pids.sandboxGoneCalls(), 0);
    assert.equal((await h.plugin.retryAllOnce()).podsPruned, 0);
  });

  it("a pod recovered via Synchronize whose container is removed with sparse pod fields is Removed", async () => {
    const h = harness();
    h.pids.setPids("c1", [11]);
    const p = pod("u1");
    await h.plugin.synchronize([p], [ctr("c1", p.id)]);
    await h.plugin.idle();
    h.pids.setSandboxGone("sb-u1", true);
    await h.plugin.removeContainer(sparse(p.id), ctr("c1", p.id));
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Exists 1/1", "u1 Exists 0/0", "u1 Removed"]);
    assert.equal(h.fs.isDir(GROUP), false);
  });
});
