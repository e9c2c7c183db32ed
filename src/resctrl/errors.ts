import type { AssignmentResult } from "./types.js";

/** Options shared by every {@link ResctrlError}. */
export interface ResctrlErrorOptions {
  /** The filesystem path the failing operation touched. */
  path?: string;
  /** errno name of the underlying failure (`"ENOSPC"`, …), when there was one. */
  code?: string;
  /** errno number (negative, as Node reports it), when known. */
  errno?: number;
  /** Text of `<root>/info/last_cmd_status` read after a failed write, when readable. */
  kernelStatus?: string;
  /** Counts gathered before a task assignment aborted (see `Resctrl.assignTasks`). */
  partial?: AssignmentResult;
  /** The original error. */
  cause?: unknown;
}

/**
 * Base class of every error thrown by `src/resctrl`. Carries the path, the errno name/number and,
 * for failed writes, the kernel's own explanation from `info/last_cmd_status`. Message format:
 * `failed to <verb> <object> <id>: <reason>`.
 */
export class ResctrlError extends Error {
  readonly path?: string;
  readonly code?: string;
  readonly errno?: number;
  kernelStatus?: string;
  /** Counts that survived an aborted assignment; set by `assignTasks`/`reconcileGroup`. */
  partial?: AssignmentResult;

  constructor(message: string, options: ResctrlErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.path = options.path;
    this.code = options.code;
    this.errno = options.errno;
    this.kernelStatus = options.kernelStatus;
    this.partial = options.partial;
  }
}

/** The resctrl filesystem is not mounted at the configured root (or the root does not look mounted). */
export class NotMountedError extends ResctrlError {}
/** EACCES / EPERM from the kernel. */
export class NoPermissionError extends ResctrlError {}
/** ENOSPC: the kernel ran out of RMIDs (monitor groups) or CLOSIDs. Retrying later may succeed. */
export class CapacityError extends ResctrlError {}
/**
 * EBUSY from a monitoring-group mkdir: no RMID is free, but some are in "limbo" (freed by a
 * removed group, waiting until their cache occupancy falls below
 * `info/L3_MON/max_threshold_occupancy`; the kernel rechecks about once a second). A capacity
 * error that goes away by itself: retry later.
 */
export class RmidLimboError extends CapacityError {}
/** Any other failure of a filesystem operation, including unparsable kernel files. */
export class IoError extends ResctrlError {}
/** The kernel has no resctrl support (not in /proc/filesystems, or mount said ENODEV/EINVAL/ENOSYS/ENOTSUP). */
export class UnsupportedError extends ResctrlError {}
/** `reconcileGroup`: the PID source returned no task at all. */
export class EmptyPidSetError extends ResctrlError {}
/** A PID that is not a positive safe integer was passed (0 would mean "the current task" to the kernel). */
export class InvalidPidError extends ResctrlError {}
/** Bad configuration or argument: prefix, root, maxPasses. */
export class InvalidConfigError extends ResctrlError {}
/** A path given to the layer is not one it is allowed to touch (outside the root, or not one of our groups). */
export class OutsideRootError extends ResctrlError {}

/**
 * Narrows a caught value to its errno name: `"ENOENT"` for a Node fs error, `undefined` for
 * anything without a string `code` that looks like an errno (`E` + capitals). Never throws.
 */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/** The numeric errno of a caught value, if it carries one. Never throws. */
export function errnoNumber(err: unknown): number | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const n = (err as { errno?: unknown }).errno;
  return typeof n === "number" ? n : undefined;
}

/** The message of a caught value, whatever it is. Never throws. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Describes what failed, for {@link mapFsError}. */
export interface FailureSite {
  /** e.g. `"create"`. */
  verb: string;
  /** e.g. `"monitor group"`. */
  object: string;
  /** e.g. the group name or path. */
  id: string;
  /** The path the failing call touched. */
  path: string;
  kernelStatus?: string;
}

/**
 * The shared errno mapping: EACCES/EPERM → {@link NoPermissionError}, ENOSPC → {@link CapacityError},
 * anything else (including non-errno errors) → {@link IoError}. Keeps code, errno and cause.
 */
export function mapFsError(err: unknown, site: FailureSite): ResctrlError {
  const code = errnoCode(err);
  const opts: ResctrlErrorOptions = {
    path: site.path,
    code,
    errno: errnoNumber(err),
    kernelStatus: site.kernelStatus,
    cause: err,
  };
  const status = site.kernelStatus ? ` (kernel: ${site.kernelStatus})` : "";
  const msg = `failed to ${site.verb} ${site.object} ${site.id}: ${code ?? errorMessage(err)} at ${site.path}${status}`;
  switch (code) {
    case "EACCES":
    case "EPERM":
      return new NoPermissionError(msg, opts);
    case "ENOSPC":
      return new CapacityError(msg, opts);
    default:
      return new IoError(msg, opts);
  }
}

/** Builds a Node-style errno error (`code`, `errno`, `syscall`, `path`); used by providers. */
export function errnoError(code: string, message: string, path?: string): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(`${code}: ${message}${path ? `, '${path}'` : ""}`);
  e.code = code;
  const n = ERRNO_NUMBERS[code];
  if (n !== undefined) e.errno = -n;
  if (path !== undefined) e.path = path;
  return e;
}

const ERRNO_NUMBERS: Readonly<Record<string, number>> = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EIO: 5,
  EACCES: 13,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENOSPC: 28,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ENOTSUP: 95,
  EOPNOTSUPP: 95,
};
