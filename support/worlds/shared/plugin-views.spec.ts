import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ContainerSyncState, GroupState, type PodState } from "../../../src/control/gen/control/control.js";
import type { PodSnapshot } from "../../../src/plugin/events.js";
import {
  snapshotContainerState,
  snapshotPodGroups,
  wireContainerState,
  wirePodGroups,
} from "./plugin-views.js";

const ROOT = "/sys/fs/resctrl";

const snapshot = (over: Partial<PodSnapshot>): PodSnapshot => ({
  podUid: "u1",
  podName: "web",
  podNamespace: "ns",
  sandboxIds: ["sb"],
  groupState: { kind: "Exists", path: `${ROOT}/mon_groups/p_u1` },
  totalContainers: 1,
  reconciledContainers: 0,
  containers: [{ id: "c1", name: "app", podSandboxId: "sb", state: "Partial", reason: "tasks in gold" }],
  ...over,
});

const wire = (over: Partial<PodState>): PodState => ({
  podUid: "u1",
  groupState: GroupState.EXISTS,
  groupPath: `${ROOT}/mon_groups/p_u1`,
  totalContainers: 1,
  reconciledContainers: 0,
  containers: [
    { containerId: "c1", name: "app", podSandboxId: "sb", state: ContainerSyncState.PARTIAL, reason: "" },
  ],
  tasks: [],
  sandboxIds: ["sb"],
  tasksError: "",
  groupError: "",
  podName: "web",
  podNamespace: "ns",
  groups: [],
  ...over,
});

describe("the plugin's groups and containers in scenario terms", () => {
  it("a pod without class groups has its one group in the root; with them, the plugin's list", () => {
    assert.deepEqual(snapshotPodGroups(snapshot({}), ROOT), [
      { controlGroup: ROOT, path: `${ROOT}/mon_groups/p_u1`, state: "Exists" },
    ]);
    assert.deepEqual(snapshotPodGroups(snapshot({ groupState: { kind: "Failed" } }), ROOT), [
      { controlGroup: ROOT, path: "", state: "Failed" },
    ]);
    const gold = {
      controlGroup: `${ROOT}/gold`,
      path: `${ROOT}/gold/mon_groups/p_u1`,
      state: "Exists" as const,
    };
    const root = { controlGroup: ROOT, path: `${ROOT}/mon_groups/p_u1`, state: "Exists" as const };
    assert.deepEqual(snapshotPodGroups(snapshot({ groups: [root, gold] }), ROOT), [root, gold]);
    assert.deepEqual(wirePodGroups(wire({}), ROOT), [root]);
    assert.deepEqual(
      wirePodGroups(
        wire({
          groups: [
            { ...root, state: GroupState.EXISTS, error: "" },
            { ...gold, state: GroupState.FAILED, error: "RMIDs exhausted" },
          ],
        }),
        ROOT,
      ),
      [root, { ...gold, state: "Failed" }],
    );
  });

  it("a container's state and reason; an empty wire reason is none", () => {
    assert.deepEqual(snapshotContainerState(snapshot({}), "c1"), {
      state: "Partial",
      reason: "tasks in gold",
    });
    assert.equal(snapshotContainerState(snapshot({}), "c9"), undefined);
    assert.deepEqual(wireContainerState(wire({}), "c1"), { state: "Partial", reason: undefined });
    const withReason = wire({
      containers: [
        {
          containerId: "c1",
          name: "app",
          podSandboxId: "sb",
          state: ContainerSyncState.RECONCILED,
          reason: "x",
        },
      ],
    });
    assert.deepEqual(wireContainerState(withReason, "c1"), { state: "Reconciled", reason: "x" });
  });
});
