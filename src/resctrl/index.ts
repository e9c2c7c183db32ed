export type { FsProvider } from "./provider.js";
export { RealFs, DEFAULT_MOUNT_COMMAND, READ_UTF8, mountFailureCode, type RealFsOptions } from "./real-fs.js";
export { Resctrl, type ResctrlConfig } from "./resctrl.js";
export {
  ResctrlError,
  NotMountedError,
  NoPermissionError,
  CapacityError,
  RmidLimboError,
  IoError,
  UnsupportedError,
  EmptyPidSetError,
  InvalidPidError,
  InvalidConfigError,
  OutsideRootError,
  errnoCode,
  errnoError,
  type ResctrlErrorOptions,
} from "./errors.js";
export {
  DEFAULT_RESCTRL_ROOT,
  DEFAULT_GROUP_PREFIX,
  MAX_GROUP_PREFIX_LENGTH,
  MAX_UID_PART_LENGTH,
  UID_HASH_LENGTH,
  sanitizeUid,
  validatePrefix,
  validateRoot,
} from "./sanitize.js";
export { DEFAULT_PROC_MOUNTS_PATH, DEFAULT_PROC_FILESYSTEMS_PATH, decodeMountField } from "./mount.js";
export { L3_DOMAIN_PREFIX } from "./occupancy.js";
export { MON_DOMAIN_DIR } from "./mon-data.js";
export { parseCpuResctrlGroups } from "./classes.js";
export { isControlGroupName } from "./group.js";
export { sortIds } from "./tasks.js";
export type {
  SupportInfo,
  AssignmentResult,
  ReconcileResult,
  CleanupReport,
  DomainReading,
  MonSample,
  MonUnreadable,
  GroupMonData,
  MonCapabilities,
  PidFailure,
  PidOutcome,
} from "./types.js";
