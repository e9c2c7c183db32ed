import { InvalidPluginConfigError } from "./errors.js";
import { SELECT_ALL, type PodFilterConfig } from "./pod-filter.js";

/** Default prefix of every group the plugin creates (`<root>/mon_groups/pod_<uid>`). */
export const DEFAULT_GROUP_PREFIX = "pod_";
/** Default: remove groups with our prefix left by an earlier run, once, before creating any. */
export const DEFAULT_CLEANUP_ON_START = true;
/** Default: mount resctrl at the configured root if it is not mounted there. */
export const DEFAULT_AUTO_MOUNT = true;
/**
 * Default reconcile passes per container. Pass 1 moves the tasks listed at that instant; pass 2
 * catches threads and processes forked while pass 1 ran (a child forked before its parent moved
 * stays behind); pass 3 confirms convergence for workloads that fork during start-up. Upstream used
 * 1 because it reconciled everything inside the 2 s Synchronize call; we bound that call with
 * {@link DEFAULT_SYNC_INLINE_BUDGET_MS}, so the extra passes cost no timeout risk.
 */
export const DEFAULT_MAX_RECONCILE_PASSES = 3;
/** Default capacity of each `events()` subscriber's queue; beyond it events are dropped and counted. */
export const DEFAULT_EVENT_QUEUE_CAPACITY = 1024;
/**
 * Default time Synchronize waits for its pods' group creation and reconciles before replying; the
 * rest continues after the reply. 0: reply right after the bookkeeping. A synchronized pod is
 * already running, so creating its group and moving its tasks before the reply gains nothing
 * (unlike START_CONTAINER, where children inherit the group), while the runtime waits for the
 * reply with a 2 s timeout and holds its plugin-sync lock meanwhile. Both phases yield to the event
 * loop between pods and containers, so NRI requests arriving meanwhile are answered.
 */
export const DEFAULT_SYNC_INLINE_BUDGET_MS = 0;
/** Default number of containers reconciled concurrently after a Synchronize. */
export const DEFAULT_SYNC_CONCURRENCY = 4;

/** Longest accepted group prefix; the same limit `Resctrl` enforces (src/resctrl/sanitize.ts). */
export const MAX_GROUP_PREFIX_LENGTH = 32;
/** Upper bound for `maxReconcilePasses` (each pass reads the cgroup and the group's tasks). */
export const MAX_RECONCILE_PASSES_LIMIT = 100;

/** Policy settings of `ResctrlPlugin`. Every field has a default (the constants above). */
export interface ResctrlPluginConfig {
  groupPrefix: string;
  cleanupOnStart: boolean;
  autoMount: boolean;
  /** Integer ≥ 1 (0 would report success without doing anything, as upstream did). */
  maxReconcilePasses: number;
  /** Integer ≥ 1. */
  eventQueueCapacity: number;
  /** Integer ≥ 0; 0 replies to Synchronize right after the bookkeeping (groups are created after it). */
  syncInlineBudgetMs: number;
  /** Integer 1…64. */
  syncConcurrency: number;
  /** Which pods get a group; the others get no group and no events (`unmonitoredPods()`). */
  podFilter: PodFilterConfig;
  /**
   * Monitor each task inside the RDT control group (class) it lives in: the pod gets one mon group
   * per control group its tasks are in (`<class>/mon_groups/<prefix><uid>`), and startup cleanup
   * also looks inside classes. Off: tasks in a class are reported (container `reason`), not moved.
   */
  followRdtClasses: boolean;
}

/** The defaults as one object. */
export const DEFAULT_PLUGIN_CONFIG: Readonly<ResctrlPluginConfig> = Object.freeze({
  groupPrefix: DEFAULT_GROUP_PREFIX,
  cleanupOnStart: DEFAULT_CLEANUP_ON_START,
  autoMount: DEFAULT_AUTO_MOUNT,
  maxReconcilePasses: DEFAULT_MAX_RECONCILE_PASSES,
  eventQueueCapacity: DEFAULT_EVENT_QUEUE_CAPACITY,
  syncInlineBudgetMs: DEFAULT_SYNC_INLINE_BUDGET_MS,
  syncConcurrency: DEFAULT_SYNC_CONCURRENCY,
  podFilter: SELECT_ALL,
  followRdtClasses: false,
});

const RESERVED_NAMES = new Set(["info", "mon_groups", "mon_data", "tasks", "cpus", "cpus_list", "schemata"]);

/**
 * Fills defaults and validates. Pure; throws {@link InvalidPluginConfigError} naming the first bad
 * field. The prefix must be non-empty (an empty prefix would make startup cleanup delete every
 * group on the host), at most {@link MAX_GROUP_PREFIX_LENGTH} characters of `[A-Za-z0-9_-]`
 * starting with a letter or digit (no `/`, no `.`), and not a resctrl reserved name.
 */
export function validateConfig(input: Partial<ResctrlPluginConfig> = {}): ResctrlPluginConfig {
  const cfg: ResctrlPluginConfig = { ...DEFAULT_PLUGIN_CONFIG };
  for (const [k, v] of Object.entries(input)) {
    if (v === undefined) continue;
    if (!Object.hasOwn(DEFAULT_PLUGIN_CONFIG, k)) throw new InvalidPluginConfigError(k, "unknown setting");
    (cfg as unknown as Record<string, unknown>)[k] = v;
  }
  const p = cfg.groupPrefix;
  if (typeof p !== "string" || p.length === 0) {
    throw new InvalidPluginConfigError(
      "groupPrefix",
      "must be a non-empty string (an empty prefix matches every group)",
    );
  }
  if (p.length > MAX_GROUP_PREFIX_LENGTH) {
    throw new InvalidPluginConfigError(
      "groupPrefix",
      `must be at most ${MAX_GROUP_PREFIX_LENGTH} characters, got ${p.length}`,
    );
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(p)) {
    throw new InvalidPluginConfigError(
      "groupPrefix",
      `${JSON.stringify(p)} must start with a letter or digit and contain only letters, digits, '_' and '-'`,
    );
  }
  if (RESERVED_NAMES.has(p))
    throw new InvalidPluginConfigError("groupPrefix", `${JSON.stringify(p)} is a resctrl reserved name`);
  for (const k of ["cleanupOnStart", "autoMount", "followRdtClasses"] as const) {
    if (typeof cfg[k] !== "boolean")
      throw new InvalidPluginConfigError(k, `must be a boolean, got ${String(cfg[k])}`);
  }
  checkInt("maxReconcilePasses", cfg.maxReconcilePasses, 1, MAX_RECONCILE_PASSES_LIMIT);
  checkInt("eventQueueCapacity", cfg.eventQueueCapacity, 1, 1_000_000);
  checkInt("syncInlineBudgetMs", cfg.syncInlineBudgetMs, 0, 60_000);
  checkInt("syncConcurrency", cfg.syncConcurrency, 1, 64);
  const f = cfg.podFilter as Partial<PodFilterConfig> | undefined;
  if (
    typeof f !== "object" ||
    f === null ||
    !Array.isArray(f.namespaces) ||
    !Array.isArray(f.excludeNamespaces) ||
    !Array.isArray(f.podLabelSelector)
  )
    throw new InvalidPluginConfigError(
      "podFilter",
      "must have namespaces, excludeNamespaces and podLabelSelector arrays",
    );
  return cfg;
}

function checkInt(field: string, v: unknown, min: number, max: number): void {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new InvalidPluginConfigError(field, `must be an integer in [${min}, ${max}], got ${String(v)}`);
  }
}
