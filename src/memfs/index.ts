/**
 * The in-memory resctrl provider: `MemFs`, a model of the kernel's resctrl filesystem (groups,
 * tasks, RMIDs with limbo, mount state, `mon_data`) with fault injection and a call log. The
 * daemon ships it (`--resctrl-provider memory`); tests and users' tests use it as a fake kernel.
 */
export {
  MemFs,
  MEMFS_DEFAULT_NUM_RMIDS,
  MEMFS_DEFAULT_L3_DOMAINS,
  MEMFS_DEFAULT_MON_FEATURES,
  type MonReading,
  type MemFsOptions,
  type MemFsResctrlOptions,
  type MemFsLogEntry,
  type MemFsOp,
  type DeniableOp,
} from "./mem-fs.js";
