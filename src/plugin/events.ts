/**
 * The plugin's public event model: one stream of per-pod events that a consumer (the daemon's
 * control API, a collector, a test) folds into its own view of "which pod has which resctrl group".
 *
 * Events are emitted only when something a consumer can observe changed (group state, group path,
 * either counter) and `Removed` only for a pod the plugin knew. A consumer that lost events (see
 * `droppedEvents`) resynchronizes with `ResctrlPlugin.snapshot()`.
 */

/** The resctrl monitoring group of a pod: created at `path`, or creation failed (retry later). */
export type ResctrlGroupState = { kind: "Exists"; path: string } | { kind: "Failed" };

/** A pod was added or one of its observable properties changed. Counters are after the change. */
export interface PodResctrlAddOrUpdate {
  kind: "AddOrUpdate";
  podUid: string;
  /** Kubernetes pod name and namespace, from the NRI PodSandbox (newest sandbox of the UID). */
  podName: string;
  podNamespace: string;
  groupState: ResctrlGroupState;
  /** Containers of the pod the plugin counts: created or running (not stopped) and past their first reconcile. */
  totalContainers: number;
  /** Of those, the containers whose tasks are all in the pod's group. */
  reconciledContainers: number;
}

/** The pod (all its sandboxes) is gone; its group was removed (or the removal was attempted). */
export interface PodResctrlRemoved {
  kind: "Removed";
  podUid: string;
  podName: string;
  podNamespace: string;
}

/** Everything the plugin emits. */
export type PodResctrlEvent = PodResctrlAddOrUpdate | PodResctrlRemoved;

/**
 * Where a container stands:
 * - `NoPod`: seen before its pod; not counted; promoted when the pod appears.
 * - `Pending`: known, first reconcile not finished yet (e.g. queued after a Synchronize); not counted.
 * - `Partial`: counted in `totalContainers`; the group failed or some tasks are not in it.
 * - `Reconciled`: counted in both counters; never demoted by a reconcile.
 * - `Stopped`: the container stopped (exited, crashed, completed, or was stopped); not counted, kept
 *   until REMOVE_CONTAINER so a late START of it is recognised; never counted again.
 */
export type ContainerSyncState = "NoPod" | "Pending" | "Partial" | "Reconciled" | "Stopped";

/** One container in a {@link PodSnapshot}. */
export interface ContainerSnapshot {
  id: string;
  name: string;
  podSandboxId: string;
  state: ContainerSyncState;
  /**
   * Why it is not Reconciled, when the plugin knows better than "some tasks are not in the group":
   * e.g. tasks in an RDT control group (class) while `followRdtClasses` is off.
   */
  reason?: string;
}

/** One resctrl monitoring group of a pod (with `followRdtClasses`, one per control group). */
export interface PodGroupSnapshot {
  /** The control group it lives in: the resctrl root, or `<root>/<class>`. */
  controlGroup: string;
  path: string;
  state: "Exists" | "Failed";
  /** Why creating it failed. */
  error?: string;
}

/** A pod's complete state at one instant, as returned by `ResctrlPlugin.snapshot()`. */
export interface PodSnapshot {
  podUid: string;
  /** Kubernetes pod name and namespace, from the NRI PodSandbox (newest sandbox of the UID). */
  podName: string;
  podNamespace: string;
  /** Sandbox ids currently known for this pod UID (normally one; two while a sandbox is recreated). */
  sandboxIds: string[];
  groupState: ResctrlGroupState;
  /** Why the group is Failed (e.g. "RMIDs in limbo: …", "RMIDs exhausted …"); absent while it exists. */
  groupError?: string;
  totalContainers: number;
  reconciledContainers: number;
  containers: ContainerSnapshot[];
  /**
   * Every group of the pod, the root's first — present when the pod has groups in RDT classes
   * (`followRdtClasses`). `groupState` is the group in the control group of the pod's first container.
   */
  groups?: PodGroupSnapshot[];
}

/** A pod the namespace/label filters leave out: no group, no events, only counted. */
export interface UnmonitoredPodSnapshot {
  podUid: string;
  podName: string;
  podNamespace: string;
  sandboxIds: string[];
}
