import type {
  ContainerSnapshot,
  ContainerSyncState as PluginSyncState,
  PodResctrlEvent,
  PodSnapshot,
} from "../plugin/events.js";
import type { RetryReport } from "../plugin/retry-report.js";
import {
  ContainerSyncState,
  GroupState,
  Kind,
  type ContainerState,
  type PodEvent,
  type PodState,
  type RetryReport as PbRetryReport,
} from "./gen/control/control.js";

const SYNC: Record<PluginSyncState, ContainerSyncState> = {
  NoPod: ContainerSyncState.NO_POD,
  Pending: ContainerSyncState.PENDING,
  Partial: ContainerSyncState.PARTIAL,
  Reconciled: ContainerSyncState.RECONCILED,
  Stopped: ContainerSyncState.STOPPED,
};

/** Plugin event → wire event. Pure. */
export function toPodEvent(e: PodResctrlEvent, fromSnapshot = false): PodEvent {
  if (e.kind === "Removed") {
    return {
      podUid: e.podUid,
      kind: Kind.REMOVED,
      groupState: GroupState.GROUP_STATE_UNSPECIFIED,
      groupPath: "",
      totalContainers: 0,
      reconciledContainers: 0,
      fromSnapshot,
      podName: e.podName,
      podNamespace: e.podNamespace,
    };
  }
  return {
    podUid: e.podUid,
    kind: Kind.ADD_OR_UPDATE,
    groupState: e.groupState.kind === "Exists" ? GroupState.EXISTS : GroupState.FAILED,
    groupPath: e.groupState.kind === "Exists" ? e.groupState.path : "",
    totalContainers: e.totalContainers,
    reconciledContainers: e.reconciledContainers,
    fromSnapshot,
    podName: e.podName,
    podNamespace: e.podNamespace,
  };
}

/** Snapshot of one pod → the ADD_OR_UPDATE that opens a WatchEvents stream. Pure. */
export function snapshotEvent(p: PodSnapshot): PodEvent {
  return toPodEvent(
    {
      kind: "AddOrUpdate",
      podUid: p.podUid,
      podName: p.podName,
      podNamespace: p.podNamespace,
      groupState: p.groupState,
      totalContainers: p.totalContainers,
      reconciledContainers: p.reconciledContainers,
    },
    true,
  );
}

/** Wire event → plugin event (for consumers that want the typed union). Unknown kinds → undefined. */
export function fromPodEvent(e: PodEvent): PodResctrlEvent | undefined {
  if (e.kind === Kind.REMOVED)
    return { kind: "Removed", podUid: e.podUid, podName: e.podName, podNamespace: e.podNamespace };
  if (e.kind !== Kind.ADD_OR_UPDATE) return undefined;
  return {
    kind: "AddOrUpdate",
    podUid: e.podUid,
    podName: e.podName,
    podNamespace: e.podNamespace,
    groupState:
      e.groupState === GroupState.EXISTS ? { kind: "Exists", path: e.groupPath } : { kind: "Failed" },
    totalContainers: e.totalContainers,
    reconciledContainers: e.reconciledContainers,
  };
}

/** Plugin container state → wire. Pure. */
export function toContainerState(c: ContainerSnapshot): ContainerState {
  return {
    containerId: c.id,
    name: c.name,
    podSandboxId: c.podSandboxId,
    state: SYNC[c.state],
    reason: c.reason ?? "",
  };
}

/** Wire sync state → plugin sync state (undefined for UNSPECIFIED or unknown values). */
export function fromSyncState(s: ContainerSyncState): PluginSyncState | undefined {
  for (const [k, v] of Object.entries(SYNC)) if (v === s) return k as PluginSyncState;
  return undefined;
}

/** Plugin pod snapshot (+ the group's tasks) → wire. Pure. */
export function toPodState(p: PodSnapshot, tasks: number[], tasksError = ""): PodState {
  return {
    podUid: p.podUid,
    groupState: p.groupState.kind === "Exists" ? GroupState.EXISTS : GroupState.FAILED,
    groupPath: p.groupState.kind === "Exists" ? p.groupState.path : "",
    totalContainers: p.totalContainers,
    reconciledContainers: p.reconciledContainers,
    containers: p.containers.map(toContainerState),
    tasks,
    sandboxIds: p.sandboxIds,
    tasksError,
    groupError: p.groupError ?? "",
    podName: p.podName,
    podNamespace: p.podNamespace,
    groups: (p.groups ?? []).map((g) => ({
      controlGroup: g.controlGroup,
      path: g.path,
      state: g.state === "Exists" ? GroupState.EXISTS : GroupState.FAILED,
      error: g.error ?? "",
    })),
  };
}

/** Retry report → wire. Pure. */
export function toRetryReport(r: RetryReport): PbRetryReport {
  return { ...r, failures: r.failures.map((f) => ({ ...f })) };
}
