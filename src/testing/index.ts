export {
  MemFs,
  MEMFS_DEFAULT_NUM_RMIDS,
  MEMFS_DEFAULT_L3_DOMAINS,
  type MemFsOptions,
  type MemFsResctrlOptions,
  type MemFsLogEntry,
  type MemFsOp,
  type DeniableOp,
} from "./mem-fs.js";
export { MockPidSource, type MockPidAnswer } from "./mock-pid-source.js";
