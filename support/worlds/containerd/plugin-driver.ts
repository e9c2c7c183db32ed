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

/** How the plugin is configured for one scenario. */
export interface DriverStartOptions {
  nriSocket: string;
  groupPrefix: string;
  cleanupOnStart?: boolean;
  autoMount?: boolean;
  eventQueueCapacity?: number;
  timeoutMs: number;
}

/**
 * The plugin under test, as the containerd world drives it: either the real daemon binary in a
 * child process (observed over its control socket and JSON log) or the same classes in-process
 * (for fault injection, fs audit, mount control, seeded groups and event back-pressure). Events
 * go to the `onEvent` callback given to the driver's constructor, in emission order.
 */
export interface PluginDriver {
  readonly mode: "daemon" | "in-process";
  /** Starts the plugin; resolves once it registered and the runtime's Synchronize was answered. */
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
