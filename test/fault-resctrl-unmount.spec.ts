// Fault: resctrl is unmounted while the plugin runs (MemFs.setMounted(false) drops every group and
// task, like umount does), then mounted again. Handlers must resolve, pods become Failed with a
// clear log line, and a caller-driven retry after the remount creates the groups.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MON, ctr, harness, pod } from "./support/plugin-harness.js";

describe("fault: resctrl unmounted while running", () => {
  it("new pods fail with a clear error, nothing rejects; retryAllOnce after remount recovers them", async () => {
    const h = harness();
    h.pids.setPids("c1", [11]).setPids("c2", [21]).setPids("c3", [31]);
    await h.plugin.synchronize([pod("u1")], [ctr("c1", "sb-u1")]);
    await h.plugin.idle();
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_u1`), [11]);

    h.fs.setMounted(false);
    await h.plugin.runPodSandbox(pod("u2"));
    await h.plugin.startContainer(pod("u2"), ctr("c2", "sb-u2"));
    const u2 = h.plugin.snapshot().find((s) => s.podUid === "u2");
    assert.equal(u2?.groupState.kind, "Failed");
    assert.deepEqual(
      u2?.containers.map((c) => c.state),
      ["Partial"],
    );
    const failLog = h.logs.find((l) => l.msg.startsWith("failed to create group") && l["podUid"] === "u2");
    assert.ok(failLog, "a log line names the pod whose group creation failed");
    assert.ok(failLog.level >= 40, "logged as warn or error");
    const err = failLog["err"] as { message?: string } | undefined;
    assert.match(err?.message ?? "", /pod_u2|resctrl|mount|not permitted/i);

    const whileDown = await h.plugin.retryAllOnce();
    assert.equal(whileDown.groupsCreated, 0);
    assert.equal(whileDown.failures.length, 1);
    assert.equal(whileDown.failures[0]?.id, "u2");
    assert.ok((whileDown.failures[0]?.message ?? "").length > 0);
    assert.deepEqual(h.fs.groupPaths(), [], "no group appears while unmounted");

    h.fs.setMounted(true);
    const after = await h.plugin.retryAllOnce();
    assert.equal(after.groupsCreated, 1);
    assert.equal(after.containersReconciled, 1);
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_u2`), [21]);
    assert.equal(h.plugin.snapshot().find((s) => s.podUid === "u2")?.reconciledContainers, 1);
    assert.equal(h.trace().at(-1), "u2 Exists 1/1");
  });

  it("a container started into a pod whose group vanished with the unmount becomes Partial; no rejection", async () => {
    const h = harness();
    h.pids.setPids("c1", [11]).setPids("c3", [31]);
    await h.plugin.synchronize([pod("u1")], [ctr("c1", "sb-u1")]);
    await h.plugin.idle();
    h.fs.setMounted(false);
    await h.plugin.startContainer(pod("u1"), ctr("c3", "sb-u1"));
    const u1 = h.plugin.snapshot().find((s) => s.podUid === "u1");
    assert.deepEqual(
      u1?.containers.map((c) => `${c.id}:${c.state}`),
      ["c1:Reconciled", "c3:Partial"],
    );
    assert.ok(h.logs.some((l) => l.level >= 40 && l["containerId"] === "c3"));
    // Retrying the container while the group is gone reports the error instead of hiding it.
    await assert.rejects(h.plugin.retryContainerReconcile("c3"), (e: Error) => e.message.length > 0);
    const r = await h.plugin.retryAllOnce();
    assert.equal(r.containersReconciled, 0);
    assert.equal(r.failures[0]?.id, "c3");
  });

  it("removing a pod while unmounted resolves and emits Removed (the group is already gone)", async () => {
    const h = harness();
    h.pids.setPids("c1", [11]);
    await h.plugin.synchronize([pod("u1")], [ctr("c1", "sb-u1")]);
    await h.plugin.idle();
    h.fs.setMounted(false);
    await h.plugin.removeContainer(pod("u1"), ctr("c1", "sb-u1"));
    await h.plugin.removePodSandbox(pod("u1"));
    assert.equal(h.trace().at(-1), "u1 Removed");
    assert.deepEqual(h.plugin.snapshot(), []);
  });
});
