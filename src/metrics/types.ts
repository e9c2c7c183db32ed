/**
 * The structural views `src/metrics` reads. The plugin (`ResctrlPlugin`), the resctrl layer
 * (`Resctrl`) and the daemon's NRI connection satisfy them; nothing here imports those modules, so
 * the metrics layer depends on shapes, not on classes.
 */

/** A container's sync state, as in `src/plugin/events.ts` (`ContainerSyncState`). */
export type MetricsContainerState = "NoPod" | "Pending" | "Partial" | "Reconciled" | "Stopped";

/** The subset of a `PodSnapshot` the metrics read. */
export interface MetricsPodSnapshot {
  podUid: string;
  podName: string;
  podNamespace: string;
  groupState: { kind: "Exists"; path: string } | { kind: "Failed" };
  containers: Array<{ state: MetricsContainerState }>;
  /** Every group of the pod when it has several (RDT classes followed); the readings are summed over them. */
  groups?: Array<{ path: string; state: "Exists" | "Failed" }>;
}

/** The plugin's view. */
export interface MetricsPluginView {
  /** Every known pod with its group state and containers. */
  snapshot(): MetricsPodSnapshot[];
  /** Containers not (yet) in a pod: NoPod ones, or Stopped before their pod appeared. */
  unassignedContainers(): Array<{ state: string }>;
  /** Pods the namespace/label filters leave out. */
  unmonitoredPods(): Array<{ podUid: string; podName: string; podNamespace: string }>;
  readonly stats: {
    groupCreateFailures: { capacity: number; other: number };
    retrySweeps: number;
    podsPruned: number;
    /** Containers counted Stopped because their cgroup and process vanished without a STOP_CONTAINER. */
    containersVanished: number;
  };
  /** Events dropped because a subscriber's queue was full. */
  readonly droppedEvents: number;
  health(): { resctrl: "unknown" | "usable" | "unusable"; reason?: string };
}

/** One monitoring reading of a group, summed over the resource's domains. */
export interface MonSample {
  resource: string;
  event: string;
  value: number;
}

/** What reading one group's `mon_data` gave: the samples, and the files that could not be read. */
export interface GroupMonData {
  samples: MonSample[];
  unreadable: Array<{ resource: string; event: string; reason: string }>;
}

/** The monitoring features the kernel offers (resource → events), and the RMID count when known. */
export interface MonCapabilities {
  features: Record<string, string[]>;
  numRmids?: number;
}

/** The resctrl layer's readings. */
export interface MonDataReader {
  monCapabilities(): Promise<MonCapabilities>;
  readGroupMonData(groupPath: string, caps: MonCapabilities): Promise<GroupMonData>;
  rmidsInUse(): Promise<number>;
}

/** The NRI connection, as the daemon tracks it from the stub's events. */
export interface RuntimeStatusView {
  connected(): boolean;
  synchronized(): boolean;
  reconnects(): number;
}
