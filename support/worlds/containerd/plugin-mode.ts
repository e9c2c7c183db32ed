import type { PodResctrlEvent, ResctrlGroupState } from "../../../src/plugin/events.js";
import type { LogRecord, MetricSample, ProbeAnswer, RetryOutcome } from "../types.js";

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
export interface ModeStartOptions {
  nriSocket: string;
  groupPrefix: string;
  cleanupOnStart?: boolean;
  autoMount?: boolean;
  eventQueueCapacity?: number;
  /** The scenario's sweep interval (undefined: the daemon's default; run-wide overrides still apply). */
  retryIntervalMs?: number;
  /** Pod filters, with the world's namespace names (already mapped from the scenario's). */
  namespaces?: readonly string[];
  excludeNamespaces?: readonly string[];
  podLabelSelector?: string;
  /** `--follow-rdt-classes` (undefined: the plugin's default; the run-wide override still applies). */
  followRdtClasses?: boolean;
  timeoutMs: number;
  /**
   * Called once, right before the plugin can first reach the runtime's NRI socket (the daemon:
   * before its socket link is created; in-process: before the stub starts). Scenarios use it to
   * make a container exit while the plugin registers.
   */
  beforeConnect?: () => void;
  /**
   * When {@link PluginMode.start} resolves: "synchronized" (default) once the runtime's
   * Synchronize was answered; "waiting-for-runtime" once the plugin logged that it waits for the
   * runtime (the runtime is down; support/daemon/daemon-log.ts `WAITING_FOR_RUNTIME_MSG`), still running.
   */
  until?: "synchronized" | "waiting-for-runtime";
}

/**
 * The plugin under test, as the containerd world drives it: either the real daemon binary in a
 * child process (daemon-mode.ts, over the shared daemon driver support/daemon/) or the same
 * classes in-process (inproc-mode.ts: for fault injection, fs audit, mount control, seeded
 * groups and event back-pressure). Events go to the `onEvent` callback given to the mode's
 * constructor, in emission order.
 */
export interface PluginMode {
  readonly mode: "daemon" | "in-process";
  /**
   * Starts the plugin; resolves once it registered and the runtime's Synchronize was answered, or
   * with `until: "waiting-for-runtime"` once it logged that it waits for the runtime. Rejects if
   * the plugin ended or did not get there within `timeoutMs`.
   */
  start(o: ModeStartOptions): Promise<void>;
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
  /** GET /metrics of the plugin's HTTP endpoint, parsed; rejects unless 200. */
  scrapeMetrics(): Promise<MetricSample[]>;
  /** GET /readyz or /healthz of the plugin's HTTP endpoint. */
  probe(path: string): Promise<ProbeAnswer>;
}

/** Receives the plugin's events, in order. */
export type EventSink = (e: PodResctrlEvent) => void;
