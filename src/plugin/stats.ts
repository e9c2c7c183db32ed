/**
 * Running totals of the plugin, for metrics (`nri_resctrl_*_total`). Monotonic for the life of
 * the plugin instance; read-only to consumers.
 */
export interface PluginStats {
  /** Group creations that failed (first attempt or retry): RMIDs exhausted/in limbo vs anything else. */
  groupCreateFailures: { capacity: number; other: number };
  /** Periodic sweeps run (`ResctrlPlugin.sweep`). */
  retrySweeps: number;
  /** Pods removed because their sandbox was gone without a REMOVE_POD_SANDBOX (sweep or retryAllOnce). */
  podsPruned: number;
  /** Containers counted Stopped because their cgroup and process vanished without a STOP_CONTAINER. */
  containersVanished: number;
}

/** All zero. */
export function emptyPluginStats(): PluginStats {
  return {
    groupCreateFailures: { capacity: 0, other: 0 },
    retrySweeps: 0,
    podsPruned: 0,
    containersVanished: 0,
  };
}
