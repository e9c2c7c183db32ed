/**
 * What the plugin needs from the resctrl layer. `Resctrl` (src/resctrl) satisfies it structurally;
 * declaring it here keeps the policy testable and documents the exact surface the plugin uses.
 */

/** Counters of a startup cleanup sweep (`Resctrl.cleanupAll()`). */
export interface CleanupReportLike {
  removed: number;
  removalFailures: number;
  removalRace: number;
  nonPrefixGroups: number;
}

/** Result of `Resctrl.reconcileGroup`. Only `converged` decides Reconciled vs Partial. */
export interface ReconcileOutcomeLike {
  assigned: number;
  missing: number;
  foreign?: number;
  passes?: number;
  converged: boolean;
  /** The last failed outcome of each task not in the group (foreign = in another control group). */
  failedPids?: ReadonlyArray<{ pid: number; outcome: string }>;
}

/** The resctrl operations the plugin performs. All may reject with the resctrl layer's typed errors. */
export interface ResctrlPort {
  readonly root: string;
  readonly groupPrefix: string;
  ensureMounted(autoMount: boolean): Promise<unknown>;
  /** With `inControlGroups`, also our groups inside every RDT class's mon_groups. */
  cleanupAll(opts?: { inControlGroups?: boolean }): Promise<CleanupReportLike>;
  /** RDT control groups (classes) directly under the root, absolute paths. */
  controlGroups(): Promise<string[]>;
  /** The pod's group inside control group `ctrl` (the root → `groupPathFor`). Pure. */
  classGroupPathFor(podUid: string, ctrl: string): string;
  /** Creates (or adopts) the pod's group inside control group `ctrl`; rejects if the class is gone. */
  createClassGroup(podUid: string, ctrl: string): Promise<string>;
  /** Control group (absolute path; the root = default group) of each task; exited tasks may be missing. */
  taskControlGroups(tids: readonly number[]): Promise<Map<number, string>>;
  groupPathFor(podUid: string): string;
  /** Creates (or adopts, on EEXIST) the pod's group; resolves to its path. */
  createGroup(podUid: string): Promise<string>;
  /** Removes a group; ENOENT counts as success. */
  deleteGroup(path: string): Promise<unknown>;
  listGroupTasks(path: string): Promise<number[]>;
  /** Moves the tasks `source` reports into the group, re-reading up to `maxPasses` times. */
  reconcileGroup(
    path: string,
    source: () => Promise<number[]>,
    maxPasses: number,
  ): Promise<ReconcileOutcomeLike>;
}

/**
 * True for the resctrl layer's capacity errors, matched by name so the check also works across
 * duplicated module instances: `CapacityError` (ENOSPC: RMIDs exhausted) and `RmidLimboError`
 * (EBUSY: no RMID free while freed ones wait in limbo; transient).
 */
export function isCapacityError(e: unknown): boolean {
  return e instanceof Error && (e.name === "CapacityError" || e.name === "RmidLimboError");
}

/** True for `RmidLimboError`: capacity that frees itself once the limbo drains. */
export function isRmidLimboError(e: unknown): boolean {
  return e instanceof Error && e.name === "RmidLimboError";
}
