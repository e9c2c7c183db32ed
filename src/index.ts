/**
 * Public API of the `nri-resctrl-plugin` package: the policy layer (ResctrlPlugin, events,
 * config, PID sources), the control API client/server, and the lower layers it is built on
 * (resctrl filesystem layer, NRI stub). The in-memory resctrl provider is `src/memfs` (MemFs); test doubles live in `src/testing` (MockPidSource, and MemFs again).
 */
export {
  ResctrlPlugin,
  RESCTRL_PLUGIN_EVENT_MASK,
  type ResctrlPluginOptions,
  type ResctrlPluginCreateOptions,
} from "./plugin/plugin.js";
export type {
  PodResctrlEvent,
  PodResctrlAddOrUpdate,
  PodResctrlRemoved,
  ResctrlGroupState,
  ContainerSyncState,
  PodSnapshot,
  ContainerSnapshot,
} from "./plugin/events.js";
export {
  validateConfig,
  DEFAULT_PLUGIN_CONFIG,
  DEFAULT_GROUP_PREFIX,
  DEFAULT_CLEANUP_ON_START,
  DEFAULT_AUTO_MOUNT,
  DEFAULT_MAX_RECONCILE_PASSES,
  DEFAULT_EVENT_QUEUE_CAPACITY,
  DEFAULT_SYNC_INLINE_BUDGET_MS,
  DEFAULT_SYNC_CONCURRENCY,
  type ResctrlPluginConfig,
} from "./plugin/config.js";
export {
  PluginError,
  PodNotFoundError,
  ContainerNotFoundError,
  InvalidPluginConfigError,
  CgroupPathError,
  CgroupGoneError,
  CgroupReadError,
  GroupNameCollisionError,
} from "./plugin/errors.js";
export type { EventSubscription } from "./plugin/event-bus.js";
export type { RetryReport, RetryFailure } from "./plugin/retry-report.js";
export type { ResctrlPort, CleanupReportLike, ReconcileOutcomeLike } from "./plugin/resctrl-port.js";
export type { CgroupPidSource } from "./plugin/pid-source.js";
export {
  RealCgroupPidSource,
  DEFAULT_PROC_ROOT,
  V1_HIERARCHIES,
  type RealCgroupPidSourceOptions,
} from "./plugin/real-pid-source.js";
export { containerCgroupPath, expandSlice, DEFAULT_CGROUP_ROOT } from "./plugin/cgroup-path.js";
export * as control from "./control/index.js";
export * as resctrl from "./resctrl/index.js";
export * as nri from "./nri/index.js";
export * as memfs from "./memfs/index.js";
export * as testing from "./testing/index.js";
