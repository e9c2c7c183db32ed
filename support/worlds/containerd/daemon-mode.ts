import { symlink } from "node:fs/promises";
import { join } from "node:path";
import { GroupState } from "../../../src/control/gen/control/control.js";
import { groupReport, PluginDaemon } from "../../daemon/plugin-daemon.js";
import { EMULATED_RESCTRL_ROOT } from "../shared/emulated-resctrl.js";
import { effectiveFollowRdtClasses } from "../shared/follow-rdt-classes.js";
import { effectiveRetryInterval } from "../shared/retry-interval.js";
import type { LogRecord, MetricSample, ProbeAnswer, RetryOutcome } from "../types.js";
import {
  PLUGIN_IDX,
  PLUGIN_NAME,
  type ModeStartOptions,
  type EventSink,
  type PluginMode,
  type PluginPodState,
} from "./plugin-mode.js";

/**
 * RMIDs of the emulated resctrl (`--memory-rmids`): as many as one L3 domain of the hardware
 * world's m7i.metal-24xl has, so a scenario with a busy node's 150 pods fits as it would there.
 */
export const EMULATED_RMIDS = 448;

/**
 * The real `nri-resctrl-plugin` daemon, run by the shared daemon driver ({@link PluginDaemon}):
 * `--resctrl-provider memory` (no resctrl on these VMs), the real cgroup PID source, a private
 * control socket. Its pod events come from WatchEvents, subscribed BEFORE the daemon can reach
 * the runtime: the daemon is pointed at a symlink in the scenario dir that is created only once
 * the watch is up (the daemon's reconnect backoff retries until then), so even the first
 * Synchronize's events are seen. When the runtime is down at start (`until:
 * "waiting-for-runtime"`) the link is created before the daemon starts: nothing can reach it
 * before the runtime comes up, and every failed connect in its log is then the daemon's own.
 * Ownership: the daemon (process, control channel, watch); {@link stop} ends it.
 */
export class DaemonMode implements PluginMode {
  readonly mode = "daemon";
  #daemon: PluginDaemon | undefined;
  /** Log records before this index were written before the world linked the NRI socket. */
  #linkedAt = 0;
  #link = "";
  #timeoutMs = 30_000;

  constructor(
    private readonly tmpDir: string,
    private readonly onEvent: EventSink,
  ) {}

  async start(o: ModeStartOptions): Promise<void> {
    const link = join(this.tmpDir, "nri.sock");
    const runtimeDown = o.until === "waiting-for-runtime";
    if (runtimeDown) {
      o.beforeConnect?.();
      await symlink(o.nriSocket, link);
      this.#link = link;
    }
    const daemon = await PluginDaemon.start({
      nriSocket: link,
      pluginName: PLUGIN_NAME,
      pluginIdx: PLUGIN_IDX,
      groupPrefix: o.groupPrefix,
      // Explicit, so no NRI_RESCTRL_* variable of the environment changes them.
      cleanupOnStart: o.cleanupOnStart ?? true,
      autoMount: o.autoMount ?? true,
      resctrlRoot: EMULATED_RESCTRL_ROOT,
      provider: "memory",
      memoryRmids: EMULATED_RMIDS,
      controlSocket: join(this.tmpDir, "control.sock"),
      // Unset: no flag, the daemon's own default (10 s), as users get it.
      retryIntervalMs: effectiveRetryInterval(o.retryIntervalMs).ms,
      namespaces: o.namespaces,
      excludeNamespaces: o.excludeNamespaces,
      podLabelSelector: o.podLabelSelector,
      // Explicit too (see above); SCENARIO_FORCE_FOLLOW_RDT_CLASSES still applies.
      followRdtClasses: effectiveFollowRdtClasses(o.followRdtClasses) ?? false,
    });
    this.#daemon = daemon;
    this.#timeoutMs = o.timeoutMs;
    const deadline = Date.now() + o.timeoutMs;
    const left = (): number => Math.max(1, deadline - Date.now());
    await daemon.connect(left());
    await daemon.watchEvents(this.onEvent);
    if (runtimeDown) {
      await daemon.waitUntilWaitingForRuntime(left());
      return;
    }
    o.beforeConnect?.();
    this.#link = link;
    this.#linkedAt = daemon.records.length;
    await symlink(o.nriSocket, link);
    await daemon.waitForSyncs(1, left());
  }

  async stop(): Promise<void> {
    await this.#daemon?.stop();
  }

  async state(): Promise<PluginPodState[]> {
    return (await this.#d().state()).pods.map((p) => ({
      podUid: p.podUid,
      group: groupReport(p.groupState, p.groupPath),
      total: p.totalContainers,
      reconciled: p.reconciledContainers,
      tasks: p.tasksError === "" ? [...p.tasks] : undefined,
    }));
  }

  async groupExists(path: string): Promise<boolean> {
    const s = await this.#d().state();
    return s.pods.some(
      (p) => p.groupState === GroupState.EXISTS && p.groupPath === path && p.tasksError === "",
    );
  }

  retryGroupCreation(podUid: string): Promise<RetryOutcome> {
    return this.#d().retryGroupCreation(podUid);
  }

  retryContainer(containerId: string): Promise<RetryOutcome> {
    return this.#d().retryContainer(containerId);
  }

  retryAllOnce(): Promise<RetryOutcome> {
    return this.#d().retryAllOnce();
  }

  droppedEvents(): Promise<number> {
    return this.#d().droppedEvents();
  }

  /**
   * The daemon's log. Its failed connects to the NRI socket symlink before the world created it
   * are the world's doing (see the class comment): they are kept, but at info level with
   * `worldCaused` and the original level, so they do not count as plugin errors.
   */
  logLines(): LogRecord[] {
    return (this.#daemon?.records ?? []).map((r, i) =>
      i < this.#linkedAt && isLinkNotYetThere(r, this.#link)
        ? {
            ...r,
            level: 30,
            originalLevel: r.level,
            worldCaused: "the world had not linked the NRI socket yet",
          }
        : r,
    );
  }

  syncCount(): number {
    return this.#daemon?.syncCount() ?? 0;
  }

  scrapeMetrics(): Promise<MetricSample[]> {
    return this.#d().scrapeMetrics(this.#timeoutMs);
  }

  probe(path: string): Promise<ProbeAnswer> {
    return this.#d().httpGet(path, this.#timeoutMs);
  }

  #d(): PluginDaemon {
    if (!this.#daemon) throw new Error("failed to reach the daemon: it was not started");
    return this.#daemon;
  }
}

/** A record about a failed connect (ENOENT) to the not yet created NRI socket symlink `link`. */
function isLinkNotYetThere(r: LogRecord, link: string): boolean {
  const text = JSON.stringify(r.err ?? "");
  return link !== "" && text.includes("ENOENT") && text.includes(link);
}
