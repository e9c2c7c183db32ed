import { retryWhileLimbo } from "../../daemon/classify.js";
import type { DaemonOptions } from "../../daemon/daemon-args.js";
import { podEventFromLog, type LoggedPodEvent } from "../../daemon/daemon-log.js";
import { groupReport, PluginDaemon } from "../../daemon/plugin-daemon.js";
import type { State } from "../../../src/control/gen/control/control.js";
import type { EventLog } from "../event-log.js";
import type { MetricSample, PodView, ProbeAnswer, RetryOutcome } from "../types.js";

/** Events of pods the world does not know that are kept, in case the UID becomes known later. */
export const MAX_UNMAPPED_EVENTS = 1000;

/** Options of {@link PluginHandle.start}. */
export interface PluginHandleOptions {
  daemon: DaemonOptions;
  /** Deadline of the control-socket connect and of the first Synchronize. */
  timeoutMs: number;
  /** Pod UID → scenario pod name (owned by the world; read on every event). */
  uidToPod: ReadonlyMap<string, string>;
  /** Where translated events go. */
  log: EventLog;
  /**
   * True once scenario capacity was freed and the world saw the limbo drain: "capacity, RMIDs in
   * limbo" answers are then retried until the deadline (the kernel frees such RMIDs by itself).
   */
  capacityFreed: () => boolean;
}

/**
 * The hardware world's use of the daemon driver ({@link PluginDaemon}): pod events read from the
 * daemon's log (complete from the first Synchronize on, unlike a control-API watch opened after
 * startup) and named as in the scenario, retries that wait out a limbo the world drained, and
 * snapshots in scenario names. Ownership: the daemon; {@link stop} ends it and never rejects.
 */
export class PluginHandle {
  readonly #unmapped: LoggedPodEvent[] = [];

  #daemon!: PluginDaemon;

  private constructor(private readonly o: PluginHandleOptions) {}

  /** Starts the daemon; resolves once the control API answers and the runtime synchronized it. */
  static async start(o: PluginHandleOptions): Promise<PluginHandle> {
    const h = new PluginHandle(o);
    h.#daemon = await PluginDaemon.start(o.daemon, (r) => {
      try {
        const e = podEventFromLog(r);
        if (e) h.#onEvent(e);
      } catch (err) {
        console.warn(`[hardware world] ${(err as Error).message}`);
      }
    });
    try {
      await h.#daemon.connect(o.timeoutMs);
      await h.#daemon.waitForSyncs(1, o.timeoutMs);
    } catch (e) {
      await h.stop();
      throw e;
    }
    return h;
  }

  /** Every log record of the daemon so far. */
  get records(): readonly Record<string, unknown>[] {
    return this.#daemon.records;
  }

  /** Re-translates events that arrived before their pod's UID was known. */
  replayUnmapped(): void {
    for (const e of this.#unmapped.splice(0)) this.#onEvent(e);
  }

  retryGroupCreation(uid: string): Promise<RetryOutcome> {
    return this.#retry(() => this.#daemon.retryGroupCreation(uid));
  }

  retryContainer(containerId: string): Promise<RetryOutcome> {
    return this.#retry(() => this.#daemon.retryContainer(containerId));
  }

  /** Only after a drain does a sweep that stopped at RMIDs in limbo answer so, to be repeated. */
  retryAllOnce(): Promise<RetryOutcome> {
    return this.#retry(() => this.#daemon.retryAllOnce({ limboIsFailure: this.o.capacityFreed() }));
  }

  /** The daemon's state (GetState), pods named as in the scenario; unknown UIDs are skipped. */
  async snapshot(): Promise<PodView[]> {
    const state = await this.#daemon.state();
    return state.pods.flatMap((p) => {
      const pod = this.o.uidToPod.get(p.podUid);
      return pod === undefined
        ? []
        : [
            {
              pod,
              group: groupReport(p.groupState, p.groupPath),
              total: p.totalContainers,
              reconciled: p.reconciledContainers,
            },
          ];
    });
  }

  /** The daemon's whole state (GetState), as the control API answers it. */
  state(): Promise<State> {
    return this.#daemon.state();
  }

  /** Events the daemon dropped because a subscriber queue was full (GetState). */
  droppedEvents(): Promise<number> {
    return this.#daemon.droppedEvents();
  }

  /** GET /metrics of the daemon's HTTP endpoint (`--http-listen 127.0.0.1:0`, its port from the log), parsed. */
  scrapeMetrics(): Promise<MetricSample[]> {
    return this.#daemon.scrapeMetrics(this.o.timeoutMs);
  }

  /** GET `path` of the daemon's HTTP endpoint. */
  httpGet(path: string): Promise<ProbeAnswer> {
    return this.#daemon.httpGet(path, this.o.timeoutMs);
  }

  /** How many times the runtime synchronized the daemon (its "runtime synchronized" log lines). */
  syncCount(): number {
    return this.#daemon.syncCount();
  }

  /** Stops the daemon and its control channel. Idempotent; never rejects. */
  async stop(): Promise<void> {
    await this.#daemon.stop();
  }

  #onEvent(e: LoggedPodEvent): void {
    const pod = this.o.uidToPod.get(e.podUid);
    if (pod === undefined) {
      // Another pod on the node (kube-system), or one of ours whose UID is not known yet.
      this.#unmapped.push(e);
      if (this.#unmapped.length > MAX_UNMAPPED_EVENTS) this.#unmapped.shift();
      return;
    }
    if (e.kind === "Removed") this.o.log.record({ kind: "Removed", pod });
    else
      this.o.log.record({
        kind: "AddOrUpdate",
        pod,
        group: e.group,
        total: e.total,
        reconciled: e.reconciled,
      });
  }

  /**
   * After capacity was freed and drained, an RMID may still be in limbo for up to a kernel limbo
   * check (the world's drain probe put it back): keep retrying (until the deadline) while the
   * answer is "RMIDs in limbo". Otherwise answer at once: a scenario that holds RMIDs in limbo on
   * purpose must see the limbo answer.
   */
  #retry(attempt: () => Promise<RetryOutcome>): Promise<RetryOutcome> {
    return this.o.capacityFreed() ? retryWhileLimbo(attempt, this.o.timeoutMs) : attempt();
  }
}
