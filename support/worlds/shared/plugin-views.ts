import { ContainerSyncState, GroupState, type PodState } from "../../../src/control/gen/control/control.js";
import type { PodResctrlEvent, PodSnapshot } from "../../../src/plugin/events.js";
import type { UnnumberedPodEvent } from "../event-log.js";
import type { ContainerStateView, PodView } from "../types.js";

/** Maps a plugin pod UID to the scenario's pod name; throws for a UID the world does not know. */
export type PodNameOfUid = (uid: string) => string;

/**
 * A plugin event in scenario terms (pod name instead of UID; the group report copied, so the
 * event log never shares an object with the plugin). Pure; throws only if `nameOfUid` throws.
 */
export function scenarioEvent(e: PodResctrlEvent, nameOfUid: PodNameOfUid): UnnumberedPodEvent {
  const pod = nameOfUid(e.podUid);
  if (e.kind === "Removed") return { kind: "Removed", pod };
  const { groupState: group, totalContainers: total, reconciledContainers: reconciled } = e;
  return { kind: "AddOrUpdate", pod, group: { ...group }, total, reconciled };
}

/** One entry of the plugin's `snapshot()` in scenario terms. Pure; throws only if `nameOfUid` throws. */
export function scenarioPodView(s: PodSnapshot, nameOfUid: PodNameOfUid): PodView {
  return {
    pod: nameOfUid(s.podUid),
    group: s.groupState,
    total: s.totalContainers,
    reconciled: s.reconciledContainers,
  };
}

/** One group of a pod as the plugin's state lists it, before a world names its class and reads its tasks. */
export interface PluginPodGroup {
  /** The control group it lives in: the resctrl root, or `<root>/<class>`. */
  controlGroup: string;
  /** Its directory ("" for a Failed group that has none). */
  path: string;
  state: "Exists" | "Failed";
}

/**
 * The pod's groups in an in-process plugin's snapshot: `groups` (the root's first) when it has
 * class groups, else its one group in the root. Pure.
 */
export function snapshotPodGroups(s: PodSnapshot, root: string): PluginPodGroup[] {
  if (s.groups && s.groups.length > 0)
    return s.groups.map((g) => ({ controlGroup: g.controlGroup, path: g.path, state: g.state }));
  const g = s.groupState;
  return [{ controlGroup: root, path: g.kind === "Exists" ? g.path : "", state: g.kind }];
}

/** The same from the control API's `PodState` (`groups`, else `group_state` / `group_path`). Pure. */
export function wirePodGroups(p: PodState, root: string): PluginPodGroup[] {
  const state = (s: GroupState): "Exists" | "Failed" => (s === GroupState.EXISTS ? "Exists" : "Failed");
  if (p.groups.length > 0)
    return p.groups.map((g) => ({ controlGroup: g.controlGroup, path: g.path, state: state(g.state) }));
  const exists = p.groupState === GroupState.EXISTS;
  return [{ controlGroup: root, path: exists ? p.groupPath : "", state: state(p.groupState) }];
}

/**
 * The container `containerId` in an in-process plugin's snapshot of its pod, or undefined when the
 * snapshot does not list it. Pure.
 */
export function snapshotContainerState(s: PodSnapshot, containerId: string): ContainerStateView | undefined {
  const c = s.containers.find((x) => x.id === containerId);
  return c && { state: c.state, reason: c.reason };
}

/** Wire container states by their plugin names. */
const SYNC_STATE_NAMES: Readonly<Partial<Record<ContainerSyncState, string>>> = {
  [ContainerSyncState.NO_POD]: "NoPod",
  [ContainerSyncState.PARTIAL]: "Partial",
  [ContainerSyncState.RECONCILED]: "Reconciled",
  [ContainerSyncState.PENDING]: "Pending",
  [ContainerSyncState.STOPPED]: "Stopped",
};

/** The same from the control API's `PodState` (an empty `reason` is none). Pure. */
export function wireContainerState(p: PodState, containerId: string): ContainerStateView | undefined {
  const c = p.containers.find((x) => x.containerId === containerId);
  return (
    c && {
      state: SYNC_STATE_NAMES[c.state] ?? `unknown (${c.state})`,
      reason: c.reason === "" ? undefined : c.reason,
    }
  );
}
