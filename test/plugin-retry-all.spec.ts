// retryAllOnce on its own (registry + scripted single retries): which pods are pruned, the order of
// every list, and which errors count as failures. The plugin-level behaviour is in
// test/plugin-retry.spec.ts and test/plugin-edges.spec.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pino } from "pino";
import { ctr, pod } from "./plugin-harness.js";
import { ContainerNotFoundError, PodNotFoundError } from "../src/plugin/errors.js";
import type { ContainerSyncState, ResctrlGroupState } from "../src/plugin/events.js";
import { PodRegistry } from "../src/plugin/pod-registry.js";
import { retryAllOnce, type SingleRetries } from "../src/plugin/retry-all.js";

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
