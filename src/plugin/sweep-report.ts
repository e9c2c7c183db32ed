import type { RetryReport } from "./retry-report.js";

/** What one `ResctrlPlugin.sweep()` did. */
export interface SweepReport {
  /** Counted containers found gone (cgroup and process) without a STOP_CONTAINER; now Stopped. */
  containersVanished: number;
  /** Pods removed because every sandbox was gone and no live container was left (Removed emitted). */
  podsPruned: number;
  /** Sandboxes of unmonitored (filtered-out) pods forgotten because they are gone. */
  unmonitoredForgotten: number;
  /** The retry pass (undefined when the sweep did nothing: before the first runtime contact). */
  retry: RetryReport | undefined;
  durationMs: number;
}
