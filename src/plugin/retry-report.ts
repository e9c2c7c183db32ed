/** One entry that failed during `retryAllOnce`; the pass continued past it. */
export interface RetryFailure {
  target: "pod" | "container";
  /** Pod UID or container id. */
  id: string;
  /** Error class name, e.g. "CapacityError", "CgroupGoneError". */
  error: string;
  message: string;
}

/** What one `retryAllOnce` pass did. */
export interface RetryReport {
  /** Failed pods whose group creation was attempted (stops after the first capacity error). */
  groupAttempts: number;
  /** Of those, groups now Exists. */
  groupsCreated: number;
  /** Failed pods not attempted because capacity ran out earlier in this pass. */
  groupsSkipped: number;
  /** True if a CapacityError stopped group creation in this pass. */
  stoppedOnCapacity: boolean;
  /** Partial containers (of pods whose group exists) whose reconcile was attempted. */
  containerAttempts: number;
  /** Of those, containers now Reconciled. */
  containersReconciled: number;
  /** Pods without containers removed because all their sandboxes were gone (runtime forgot them). */
  podsPruned: number;
  /** Per-entry errors; never aborts the pass. */
  failures: RetryFailure[];
}

/** An empty report. */
export function emptyRetryReport(): RetryReport {
  return {
    groupAttempts: 0,
    groupsCreated: 0,
    groupsSkipped: 0,
    stoppedOnCapacity: false,
    containerAttempts: 0,
    containersReconciled: 0,
    podsPruned: 0,
    failures: [],
  };
}
