/** What `Resctrl.detectSupport` found. Plain data, no behaviour. */
export interface SupportInfo {
  /** The kernel lists `resctrl` in /proc/filesystems (or it is mounted at the root anyway). */
  supported: boolean;
  /** resctrl is mounted at the configured root itself (not merely somewhere). */
  mounted: boolean;
  /** The configured root, when `mounted`. */
  mountPoint?: string;
  /** resctrl mounts at other places than the configured root (decoded), for diagnostics. */
  otherMountPoints: string[];
  /** `<root>/tasks` can be opened for writing. */
  writable: boolean;
  /** `<root>/mon_groups` exists (the CPU supports monitoring). */
  monitoring: boolean;
}

/** How one task write ended when it did not succeed. */
export type PidOutcome = "gone" | "foreign" | "denied";

/** One PID whose write did not take effect. */
export interface PidFailure {
  pid: number;
  /** gone = ESRCH (task exited); foreign = EINVAL (task in another control group); denied = EACCES/EPERM for this task. */
  outcome: PidOutcome;
}

/** Result of `Resctrl.assignTasks`. Counts always sum to the number of distinct PIDs handled. */
export interface AssignmentResult {
  /** Tasks written successfully. */
  assigned: number;
  /** ESRCH: the task no longer exists. */
  missing: number;
  /** EINVAL: the task belongs to another control group (the kernel refuses to move it into this mon group). */
  foreign: number;
  /** EACCES/EPERM for this task while the tasks file itself is writable. */
  denied: number;
  /** Every PID that was not assigned, in input order. */
  failedPids: PidFailure[];
}

/**
 * Result of `Resctrl.reconcileGroup`.
 *
 * `assigned` sums successful writes over all passes. `missing` is the number of desired tasks NOT
 * in the group at the final check (`missingPids.length`), unlike `AssignmentResult.missing`.
 * `foreign`/`denied` count those missing tasks whose last write failed that way; `failedPids`
 * holds the last failed outcome of each missing task that was written.
 */
export interface ReconcileResult extends AssignmentResult {
  /** Passes run (each pass = one PID-source call). */
  passes: number;
  /** Every desired task was in the group at the final check. */
  converged: boolean;
  /** Size of the last desired set. */
  desired: number;
  /** Desired tasks not in the group at the final check, ascending. */
  missingPids: number[];
}

/** Result of `Resctrl.cleanupAll`. */
export interface CleanupReport {
  /** Groups with our prefix removed. */
  removed: number;
  /** Groups with our prefix whose rmdir failed (not ENOENT). */
  removalFailures: number;
  /** Groups listed but gone before rmdir (ENOENT). */
  removalRace: number;
  /** Groups without our prefix, left alone. */
  nonPrefixGroups: number;
  /** One line per failure (rmdir failures, a failed `mon_groups` listing). Empty when all went well. */
  errors: string[];
}

/** One L3 monitoring domain's occupancy reading. */
export interface DomainReading {
  /** Directory name, e.g. `mon_L3_00`. */
  domainId: string;
  /** Occupancy in bytes, or null when the kernel reported a non-numeric value. */
  bytes: number | null;
  /** The kernel's text when not numeric (`"Unavailable"`, `"Error"`, …). Absent when `bytes` is a number. */
  status?: "Unavailable" | "Error" | (string & {});
}

/**
 * One monitoring reading of a group (`Resctrl.readGroupMonData`): `value` is the event's counter
 * summed over every domain of `resource` (every `mon_data/mon_<resource>_<id>/<event>` file).
 */
export interface MonSample {
  /** The resource part of the domain directory names, e.g. `"L3"` or `"PERF_PKG"`. */
  resource: string;
  /** The event file name, e.g. `"llc_occupancy"`, `"mbm_total_bytes"`. */
  event: string;
  /** The sum over all domains. Above 2^53 precision is that of a float64 (what Prometheus keeps). */
  value: number;
}

/**
 * A (resource, event) that `Resctrl.readGroupMonData` left out of the samples because at least one
 * domain could not be read as a number. Never reported as 0.
 */
export interface MonUnreadable {
  resource: string;
  event: string;
  /**
   * Why, one part per failing domain joined with `"; "`, each naming its domain directory: the
   * kernel's text (`"Unavailable"`, `"Error"`), an errno name (`"EIO"`, `"ENOENT"` for a missing
   * file, …), `not a number "<text>"`, or `no mon_<resource>_* domain in mon_data`.
   */
  reason: string;
}

/** Result of `Resctrl.readGroupMonData`. Both lists follow the order of the capabilities given. */
export interface GroupMonData {
  samples: MonSample[];
  unreadable: MonUnreadable[];
}

/** What the kernel offers for monitoring (`Resctrl.monCapabilities`). Plain data. */
export interface MonCapabilities {
  /**
   * Resource → events, from every `info/<RESOURCE>_MON/mon_features` (one event per line, kernel
   * order, duplicates dropped). Resources sorted by name. Empty when the kernel monitors nothing.
   */
  features: Record<string, string[]>;
  /** `info/L3_MON/num_rmids`, when present and a number. */
  numRmids?: number;
  /**
   * Resource → its domain directories (`mon_L3_00`, …), listed once from the root's `mon_data`
   * (every group has the same domains). When present, `readGroupMonData` reads the files directly
   * instead of listing each group's `mon_data` first.
   */
  domains?: Record<string, string[]>;
}
