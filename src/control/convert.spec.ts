// Conversions between the plugin's events and states and the control API's wire messages.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ContainerSyncState, GroupState, Kind } from "./gen/control/control.js";
import { fromPodEvent, fromSyncState } from "./convert.js";

describe("fromPodEvent / fromSyncState", () => {
  it("wire → plugin: unknown enum values are rejected, not guessed", () => {
    const base = {
      podUid: "u",
      groupState: GroupState.EXISTS,
      groupPath: "/p",
      totalContainers: 1,
      reconciledContainers: 1,
      fromSnapshot: false,
      podName: "web",
      podNamespace: "default",
    };
    assert.equal(fromPodEvent({ ...base, kind: 99 as Kind }), undefined);
    assert.equal(fromPodEvent({ ...base, kind: Kind.KIND_UNSPECIFIED }), undefined);
    assert.deepEqual(fromPodEvent({ ...base, kind: Kind.REMOVED }), {
      kind: "Removed",
      podUid: "u",
      podName: "web",
      podNamespace: "default",
    });
    assert.equal(fromPodEvent({ ...base, kind: Kind.ADD_OR_UPDATE })?.kind, "AddOrUpdate");
    assert.equal(fromSyncState(99 as ContainerSyncState), undefined);
    assert.equal(fromSyncState(ContainerSyncState.RECONCILED), "Reconciled");
  });
});
