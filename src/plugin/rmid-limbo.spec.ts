// EBUSY from a monitoring-group mkdir (no free RMID while freed ones wait in limbo) is capacity
// that frees itself: the pod is Failed with that reason, retryGroupCreation rejects with the
// RmidLimboError (a capacity error), retryAllOnce stops at it as at ENOSPC.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { harness, MON, pod } from "../../test/plugin-harness.js";
import { grpcCodeOf } from "../control/status.js";
import { CapacityError, RmidLimboError } from "../resctrl/errors.js";
import { groupFailureReason } from "./pod-lifecycle.js";
import { isCapacityError, isRmidLimboError } from "./resctrl-port.js";
import { status } from "@grpc/grpc-js";

/** A plugin whose kernel has `capacity` RMIDs (root included), freed ones in limbo until drained. */
function limboHarness(capacity: number) {
  return harness({ fs: { rmidCapacity: capacity, rmidLimboMs: Infinity } });
}

describe("RMID limbo: classification", () => {
  it("RmidLimboError is a capacity error; the control API answers UNAVAILABLE, exhaustion RESOURCE_EXHAUSTED", () => {
    const busy = new RmidLimboError("busy");
    const full = new CapacityError("full");
    assert.equal(isCapacityError(busy), true);
    assert.equal(isRmidLimboError(busy), true);
    assert.equal(isRmidLimboError(full), false);
    assert.equal(grpcCodeOf(busy), status.UNAVAILABLE);
    assert.equal(grpcCodeOf(full), status.RESOURCE_EXHAUSTED);
    assert.match(groupFailureReason(busy), /^RMIDs in limbo: .*retry later/);
    assert.match(groupFailureReason(full), /^RMIDs exhausted \(ENOSPC\)/);
    assert.equal(groupFailureReason(new Error("EIO somewhere")), "EIO somewhere");
  });
});

describe("RMID limbo: the plugin", () => {
  it("a pod created while the only freed RMID is in limbo is Failed with the limbo reason, warned not errored", async () => {
    const h = limboHarness(3);
    await h.plugin.runPodSandbox(pod("a"));
    await h.plugin.runPodSandbox(pod("b"));
    await h.plugin.removePodSandbox(pod("a"));
    await h.plugin.runPodSandbox(pod("c"));
    const c = h.plugin.snapshot().find((p) => p.podUid === "c");
    assert.equal(c?.groupState.kind, "Failed");
    assert.match(c?.groupError ?? "", /^RMIDs in limbo/);
    const line = h.logs.find((l) => l.msg === "failed to create group; pod marked Failed");
    assert.equal(line?.level, 40);
    assert.match(String(line?.reason), /^RMIDs in limbo/);
  });

  it("retryGroupCreation rejects with RmidLimboError and no event; after the drain it creates the group", async () => {
    const h = limboHarness(3);
    await h.plugin.runPodSandbox(pod("a"));
    await h.plugin.runPodSandbox(pod("b"));
    await h.plugin.removePodSandbox(pod("a"));
    await h.plugin.runPodSandbox(pod("c"));
    const before = h.events.length;
    await assert.rejects(h.plugin.retryGroupCreation("c"), (e: unknown) => e instanceof RmidLimboError);
    assert.equal(h.events.length, before);
    h.fs.drainRmidLimbo();
    assert.deepEqual(await h.plugin.retryGroupCreation("c"), { kind: "Exists", path: `${MON}/pod_c` });
    assert.equal(h.plugin.snapshot().find((p) => p.podUid === "c")?.groupError, undefined);
  });

  it("retryAllOnce stops group creation at EBUSY as at ENOSPC (the rest are skipped)", async () => {
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
