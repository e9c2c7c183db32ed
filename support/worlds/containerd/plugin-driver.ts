import type { PodResctrlEvent, ResctrlGroupState } from "../../../src/plugin/events.js";
import type { LogRecord, RetryOutcome } from "../types.js";

/** The resctrl root both plugin modes use (an in-memory model: these VMs have no resctrl). */
export const CONTAINERD_WORLD_RESCTRL_ROOT = "/sys/fs/resctrl";
/** Prefix of seeded groups owned by "other" (as in the mock world). */
export const FOREIGN_GROUP_PREFIX = "other_";
/** NRI plugin name and index of the plugin under test (registered as `10-resctrl`). */
export const PLUGIN_NAME = "resctrl";
export const PLUGIN_IDX = "10";

/** One pod as the plugin's own state reports it, with its group's current tasks. */
export interface PluginPodState {
  podUid: string;
  group: ResctrlGroupState;
  total: number;
  reconciled: number;
  /** The group's tasks as the resctrl provider lists them (exited threads included); undefined if unreadable. */
  tasks: number[] | undefined;
}

/**
 * The start of the message the daemon logs (info level) each time it finds the runtime's socket
 * absent: `waiting for the runtime at <socket>, next attempt in …`.
 */
export const WAITING_FOR_RUNTIME_MSG = "waiting for the runtime";

/** Whether a log record says the plugin waits for the runtime ({@link WAITING_FOR_RUNTIME_MSG}). Pure. */
export function isWaitingForRuntime(r: LogRecord): boolean {
  return typeof r.msg === "string" && r.msg.startsWith(WAITING_FOR_RUNTIME_MSG);
}

/** How the plugin is configured for one scenario. */
export interface DriverStartOptions {
  nriSocket: string;
  groupPrefix: string;
  cleanupOnStart?: boolean;
  autoMount?: boolean;
  eventQueueCapacity?: number;
  timeoutMs: number;
  /**
   * Called once, right before the plugin can first reach the runtime's NRI socket (the daemon:
   * before its socket link is created; in-process: before the stub starts). Scenarios use it to
   * make a container exit while the plugin registers.
   */
  beforeConnect?: () => void;
  /**
   * When {@link PluginDriver.start} resolves: "synchronized" (default) once the runtime's
   * Synchronize was answered; "waiting-for-runtime" once the plugin logged that it waits for the
   * runtime (the runtime is down; see {@link WAITING_FOR_RUNTIME_MSG}), still running.
   */
  until?: "synchronized" | "waiting-for-runtime";
}

/**
 * The plugin under test, as the containerd world drives it: either the real daemon binary in a
 * child process (observed over its control socket and JSON log) or the same classes in-process
 * (for fault injection, fs audit, mount control, seeded groups and event back-pressure). Events
 * go to the `onEvent` callback given to the driver's constructor, in emission order.
 */
export interface PluginDriver {
  readonly mode: "daemon" | "in-process";
  /**
   * Starts the plugin; resolves once it registered and the runtime's Synchronize was answered, or
   * with `until: "waiting-for-runtime"` once it logged that it waits for the runtime. Rejects if
   * the plugin ended or did not get there within `timeoutMs`.
   */
  start(o: DriverStartOptions): Promise<void>;
  /** Stops it (idempotent, never rejects). */
  stop(): Promise<void>;
  /** The plugin's state now, one entry per pod UID it knows. */
  state(): Promise<PluginPodState[]>;
  /** Whether the group directory `path` exists in the plugin's resctrl provider now. */
  groupExists(path: string): Promise<boolean>;
  retryGroupCreation(podUid: string): Promise<RetryOutcome>;
  retryContainer(containerId: string): Promise<RetryOutcome>;
  retryAllOnce(): Promise<RetryOutcome>;
  /** Events dropped because a subscriber queue was full. */
  droppedEvents(): Promise<number>;
  /** The plugin's structured log so far. */
  logLines(): LogRecord[];
  /** How many times the runtime has synchronized the plugin (1 after start, +1 per reconnect). */
  syncCount(): number;
}

/** Receives the plugin's events, in order. */
export type EventSink = (e: PodResctrlEvent) => void;

/** Maps an in-process retry's rejection to the scenario vocabulary (shared with the mock world). */
export { classifyRetryError } from "../retry-outcome.js";
