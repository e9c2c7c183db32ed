import { pino, type Logger } from "pino";
import { cleanupPrefixInFs } from "./cleanup.js";
import {
  classGroupPathOf,
  controlGroupsInFs,
  createClassGroupInFs,
  taskControlGroupsInFs,
} from "./classes.js";
import type { ResctrlContext } from "./context.js";
import { createGroupInFs, deleteGroupInFs, groupNameOf, groupPathOf } from "./group.js";
import {
  DEFAULT_PROC_FILESYSTEMS_PATH,
  DEFAULT_PROC_MOUNTS_PATH,
  detectSupportFromFs,
  ensureMountedAt,
} from "./mount.js";
import { monCapabilitiesFromFs, readGroupMonDataFromFs, rmidsInUseFromFs } from "./mon-data.js";
import { llcOccupancyFromFs } from "./occupancy.js";
import type { FsProvider } from "./provider.js";
import { RealFs } from "./real-fs.js";
import { reconcileGroupInFs } from "./reconcile.js";
import { DEFAULT_GROUP_PREFIX, DEFAULT_RESCTRL_ROOT, validatePrefix, validateRoot } from "./sanitize.js";
import { assignTasksInFs, listGroupTasksInFs } from "./tasks.js";
import type {
  AssignmentResult,
  CleanupReport,
  DomainReading,
  GroupMonData,
  MonCapabilities,
  ReconcileResult,
  SupportInfo,
} from "./types.js";
import { InvalidConfigError } from "./errors.js";

/** Configuration of {@link Resctrl}. Every field is optional; defaults are the exported constants. */
export interface ResctrlConfig {
  /** Where resctrl is (to be) mounted. Absolute and normalized. Default {@link DEFAULT_RESCTRL_ROOT}. */
  root?: string;
  /** Prefix of our groups, `[A-Za-z0-9_-]{1,32}`. Default {@link DEFAULT_GROUP_PREFIX}. */
  groupPrefix?: string;
  /** Default {@link DEFAULT_PROC_MOUNTS_PATH}. */
  procMountsPath?: string;
  /** Default {@link DEFAULT_PROC_FILESYSTEMS_PATH}. */
  procFilesystemsPath?: string;
  /** Default: silent. */
  logger?: Logger;
}

/**
 * The resctrl filesystem layer: monitor groups per pod, task assignment, cleanup, occupancy and
 * monitoring readings (`mon_data` counters, capabilities, RMIDs in use).
 *
 * Stateless: the filesystem is the source of truth, every call goes to the {@link FsProvider}.
 * All methods are async and never block the event loop themselves (RealFs uses libuv). Safe to use
 * concurrently; two concurrent calls on the same group see each other's effects like two processes.
 * Every failure rejects with a `ResctrlError` subclass; nothing ever touches a path outside `root`,
 * and only `<root>/mon_groups/<prefix>*` and `<root>/<prefix>*` directories are ever removed.
 */
export class Resctrl {
  readonly root: string;
  readonly groupPrefix: string;
  readonly provider: FsProvider;
  private readonly ctx: ResctrlContext;

  private constructor(fs: FsProvider, config: ResctrlConfig) {
    this.root = validateRoot(config.root ?? DEFAULT_RESCTRL_ROOT);
    this.groupPrefix = validatePrefix(config.groupPrefix ?? DEFAULT_GROUP_PREFIX);
    this.provider = fs;
    this.ctx = {
      fs,
      root: this.root,
      groupPrefix: this.groupPrefix,
      procMountsPath: absolute(config.procMountsPath ?? DEFAULT_PROC_MOUNTS_PATH, "procMountsPath"),
      procFilesystemsPath: absolute(
        config.procFilesystemsPath ?? DEFAULT_PROC_FILESYSTEMS_PATH,
        "procFilesystemsPath",
      ),
      logger: config.logger ?? pino({ level: "silent" }),
    };
  }

  /** A handle over any provider (MemFs in tests). Throws InvalidConfigError on a bad root/prefix. */
  static withProvider(fs: FsProvider, config: ResctrlConfig = {}): Resctrl {
    return new Resctrl(fs, config);
  }

  /** A handle over the real filesystem ({@link RealFs}). Throws InvalidConfigError on a bad root/prefix. */
  static real(config: ResctrlConfig = {}): Resctrl {
    return new Resctrl(new RealFs(), config);
  }

  /**
   * Reads /proc/filesystems and /proc/mounts: `supported` (resctrl listed), `mounted` (at `root`
   * itself, octal escapes decoded), `writable` (`<root>/tasks` opens for write), `monitoring`
   * (`<root>/mon_groups` exists). Rejects with IoError only if a /proc file is unreadable.
   */
  detectSupport(): Promise<SupportInfo> {
    return detectSupportFromFs(this.ctx);
  }

  /**
   * Idempotent. Mounted at root → no-op. Not supported → UnsupportedError (no mount attempted).
   * Not mounted and `!autoMount` → NotMountedError. Otherwise mounts: EACCES/EPERM →
   * NoPermissionError; ENODEV/EINVAL/ENOTSUP/ENOSYS → UnsupportedError; else IoError; still not
   * mounted afterwards → IoError "mount did not take effect".
   */
  ensureMounted(autoMount: boolean): Promise<void> {
    return ensureMountedAt(this.ctx, autoMount);
  }

  /** Pure: prefix + sanitized UID (hash suffix when sanitizing changed the UID). */
  groupNameFor(podUid: string): string {
    return groupNameOf(this.ctx, podUid);
  }

  /** Pure: `<root>/mon_groups/<groupNameFor(uid)>`. */
  groupPathFor(podUid: string): string {
    return groupPathOf(this.ctx, podUid);
  }

  /**
   * mkdir of the pod's monitor group; resolves to its path. Idempotent (EEXIST = success).
   * NotMountedError if `<root>/tasks` or `<root>/mon_groups` is missing; ENOSPC → CapacityError;
   * EACCES/EPERM → NoPermissionError; else IoError (with the kernel's last_cmd_status).
   */
  createGroup(podUid: string): Promise<string> {
    return createGroupInFs(this.ctx, podUid);
  }

  /**
   * rmdir of one of our groups. OutsideRootError (nothing touched) unless the path is exactly
   * `<root>/mon_groups/<prefix><name>`. ENOENT = success; otherwise the shared mapping.
   */
  deleteGroup(groupPath: string): Promise<void> {
    return deleteGroupInFs(this.ctx, groupPath);
  }

  /**
   * Writes each distinct PID (input order, one write each) to `<groupPath>/tasks`. Validates all
   * PIDs first (InvalidPidError, nothing written). ESRCH → gone, EINVAL → foreign, EACCES/EPERM
   * while the tasks file itself opens for write → denied; those continue. Any other failure
   * aborts with a mapped error whose `partial` holds the counts so far and `kernelStatus` the
   * kernel's explanation. OutsideRootError if `groupPath` is not inside root.
   */
  assignTasks(groupPath: string, pids: readonly number[]): Promise<AssignmentResult> {
    return assignTasksInFs(this.ctx, groupPath, pids);
  }

  /** Task IDs listed in `<groupPath>/tasks`, file order. Bad line → IoError (code EINVAL). */
  listGroupTasks(groupPath: string): Promise<number[]> {
    return listGroupTasksInFs(this.ctx, groupPath);
  }

  /**
   * Up to `maxPasses` (integer ≥ 1, else InvalidConfigError) passes of: call `pidSource` (task IDs;
   * empty → EmptyPidSetError), list the group, write the desired tasks that are not in it. Stops
   * as soon as desired ⊆ current. Errors of the source or of a fatal write propagate (the latter
   * with `partial` summed over passes).
   */
  reconcileGroup(
    groupPath: string,
    pidSource: () => Promise<number[]>,
    maxPasses: number,
  ): Promise<ReconcileResult> {
    return reconcileGroupInFs(this.ctx, groupPath, pidSource, maxPasses);
  }

  /**
   * Removes every `<prefix>*` directory directly under root (except info/mon_data/mon_groups) and
   * directly under `<root>/mon_groups` (skipped if absent); with `inControlGroups` also directly
   * under every other control group's `mon_groups`; never deeper, nothing else. NotMountedError if
   * `<root>/tasks` is missing; a root listing failure throws; rmdir failures and a `mon_groups`
   * listing failure are counted/recorded in `errors` and the report is still returned.
   */
  cleanupAll(opts: { inControlGroups?: boolean } = {}): Promise<CleanupReport> {
    return cleanupPrefixInFs(this.ctx, opts);
  }

  /**
   * Control groups (RDT classes) directly under the root, as absolute paths, sorted: every
   * directory but info/mon_data/mon_groups. Listing errors → the shared mapping.
   */
  controlGroups(): Promise<string[]> {
    return controlGroupsInFs(this.ctx);
  }

  /**
   * Pure: the pod's monitor group inside control group `ctrl` (the root itself →
   * {@link groupPathFor}; `<root>/<class>` → `<root>/<class>/mon_groups/<groupNameFor(uid)>`).
   * OutsideRootError for any other `ctrl`.
   */
  classGroupPathFor(podUid: string, ctrl: string): string {
    return classGroupPathOf(this.ctx, podUid, ctrl);
  }

  /**
   * mkdir of the pod's monitor group inside control group `ctrl` (see {@link classGroupPathFor});
   * idempotent. A control group that is gone (no `<ctrl>/mon_groups`) → NotMountedError with code
   * ENOENT; otherwise the same failures as {@link createGroup} (ENOSPC → CapacityError, …).
   */
  createClassGroup(podUid: string, ctrl: string): Promise<string> {
    return createClassGroupInFs(this.ctx, podUid, ctrl);
  }

  /**
   * The control group (absolute path; the root for the default group) of each task: from
   * `/proc/<tid>/cpu_resctrl_groups` where the kernel provides it (a task that exited is left out),
   * else from the control groups' `tasks` files (a task found in none is the root's). Never
   * touches a group.
   */
  taskControlGroups(tids: readonly number[]): Promise<Map<number, string>> {
    return taskControlGroupsInFs(this.ctx, tids);
  }

  /** One reading per `mon_L3_*` domain of `<groupPath>/mon_data`; non-numeric values → `bytes: null`. */
  llcOccupancy(groupPath: string): Promise<DomainReading[]> {
    return llcOccupancyFromFs(this.ctx, groupPath);
  }

  /**
   * What the kernel offers for monitoring: every `info/<RESOURCE>_MON/mon_features` (resource →
   * events; a `_MON` directory without the file is left out) and `info/L3_MON/num_rmids` when
   * present and numeric. No monitoring at all (no `info`, or no `_MON` directory) → `{ features: {} }`.
   * Rejects only if resctrl is not mounted (NotMountedError: `<root>/tasks` missing) or a file that
   * exists cannot be read/listed (shared errno mapping: NoPermissionError, IoError).
   */
  monCapabilities(): Promise<MonCapabilities> {
    return monCapabilitiesFromFs(this.ctx);
  }

  /**
   * Readings of one group (the root, a control group, or a mon group under any `mon_groups/`) for
   * the events `caps` offers: one listing of `<groupPath>/mon_data`, then every
   * `mon_<RESOURCE>_<id>/<event>` file of the offered resources, in parallel. A sample is the sum
   * over ALL domains of its resource and is present only if every one of them read a decimal
   * number; otherwise the (resource, event) is listed in `unreadable` with the reason (the kernel's
   * "Unavailable"/"Error", an errno such as EIO or ENOENT, a non-number, no domain at all), never
   * reported as 0. Rejects with OutsideRootError (nothing read) if `groupPath` is outside the root
   * or not a group path, InvalidConfigError if `caps` holds a name that is not `[A-Za-z0-9_]+`,
   * and IoError with code ENOENT if the group is gone (the shared mapping for other listing errors).
   */
  readGroupMonData(groupPath: string, caps: MonCapabilities): Promise<GroupMonData> {
    return readGroupMonDataFromFs(this.ctx, groupPath, caps);
  }

  /**
   * RMIDs in use, counted from the tree: 1 (the root group) + every control group directly under
   * the root + every directory in the root's and each control group's `mon_groups/`. A snapshot:
   * groups created or removed during the count may or may not be seen. RMIDs a removed group freed
   * that are still in limbo (waiting for their cache occupancy to drain) are not in the tree, so
   * they are NOT counted, although `mkdir` cannot reuse them yet. NotMountedError if `<root>/tasks`
   * is missing; listing errors use the shared mapping (a control group gone meanwhile counts no
   * mon groups).
   */
  rmidsInUse(): Promise<number> {
    return rmidsInUseFromFs(this.ctx);
  }
}

function absolute(path: string, what: string): string {
  if (typeof path !== "string" || !path.startsWith("/")) {
    throw new InvalidConfigError(`failed to validate ${what} "${String(path)}": must be an absolute path`);
  }
  return path;
}
