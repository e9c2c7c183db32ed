import { ControlClient } from "../../../src/control/client.js";
import { GroupState } from "../../../src/control/gen/control/control.js";
import type { EventLog } from "../event-log.js";
import type { GroupReport, PodView, RetryOutcome } from "../types.js";
import { DaemonProcess, type DaemonOptions } from "./daemon-process.js";
import { podEventFromLog, type LoggedPodEvent } from "./log-events.js";
import { classifyGrpcError, retryWhileLimbo } from "./retry.js";

/** Events of pods the world does not know that are kept, in case the UID becomes known later. */
export const MAX_UNMAPPED_EVENTS = 1000;
/** The daemon logs this (stub and CLI) once the runtime's Synchronize was answered. */
export const SYNCHRONIZED_LOG = "synchronized";
/** The CLI's log line for each Synchronize (once per registration, reconnects included). */
export const RUNTIME_SYNCHRONIZED_LOG = "runtime synchronized";

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
 * The daemon of one scenario and the ways to observe and drive it: pod events read from its log
 * (complete from the first Synchronize on, unlike a control-API watch opened after startup),
 * retries and snapshots over its control API. Ownership: owns the process and the gRPC channel;
 * {@link stop} releases both and never rejects.
 */
export class PluginHandle {
  readonly #unmapped: LoggedPodEvent[] = [];
  #daemon!: DaemonProcess;
  #client: ControlClient | undefined;

  private constructor(private readonly o: PluginHandleOptions) {}

  /** Starts the daemon; resolves once the control API answers and the runtime synchronized it. */
  static async start(o: PluginHandleOptions): Promise<PluginHandle> {
    const h = new PluginHandle(o);
    h.#daemon = DaemonProcess.start(o.daemon, (r) => {
      try {
        const e = podEventFromLog(r);
        if (e) h.#onEvent(e);
      } catch (err) {
        console.warn(`[hardware world] ${(err as Error).message}`);
      }
    });
    try {
      h.#client = await h.#connect();
      await h.#daemon.waitForLog(SYNCHRONIZED_LOG, o.timeoutMs);
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
    return this.#retry(async () => {
      const s = await this.#c().retryGroupCreation(uid);
      return { ok: true, group: groupReport(s.groupState, s.groupPath) };
    }, "pod-not-found");
  }

  retryContainer(containerId: string): Promise<RetryOutcome> {
    return this.#retry(
      async () => (await this.#c().retryContainerReconcile(containerId), { ok: true }),
      "container-not-found",
    );
  }

  retryAllOnce(): Promise<RetryOutcome> {
    return this.#retry(async () => {
      const r = await this.#c().retryAllOnce();
      // A sweep "succeeds" whatever it met (as in the other worlds); only after a drain does one
      // that stopped at RMIDs in limbo answer so, to be repeated.
      const limbo =
        r.report?.stoppedOnCapacity && r.report.failures.some((f) => f.error === "RmidLimboError");
      if (this.o.capacityFreed() && limbo)
        return {
          ok: false,
          error: "capacity",
          limbo: true,
          message: "retry sweep stopped at RMIDs in limbo",
        };
      return { ok: true };
    }, "other");
  }

  /** The daemon's state (GetState), pods named as in the scenario; unknown UIDs are skipped. */
  async snapshot(): Promise<PodView[]> {
    const state = await this.#c().getState();
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

  /** Events the daemon dropped because a subscriber queue was full (GetState). */
  async droppedEvents(): Promise<number> {
    return Number((await this.#c().getState()).droppedEvents);
  }

  /** How many times the runtime synchronized the daemon (its "runtime synchronized" log lines). */
  syncCount(): number {
    return this.#daemon.records.filter((r) => r.msg === RUNTIME_SYNCHRONIZED_LOG).length;
  }

  /** Closes the control channel and stops the daemon. Idempotent; never rejects. */
  async stop(): Promise<void> {
    this.#client?.close();
    this.#client = undefined;
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

  async #connect(): Promise<ControlClient> {
    const socket = this.o.daemon.controlSocket;
    const deadline = Date.now() + this.o.timeoutMs;
    for (;;) {
      try {
        return await ControlClient.connect(socket, 1_000);
      } catch (e) {
        const ended = this.#daemon.exitReason;
        if (ended || Date.now() >= deadline) {
          throw new Error(
            `failed to connect to the daemon's control socket ${socket}${ended ? `: the daemon ended (${ended})` : ""}; last output: ${this.#daemon.tail()}`,
            { cause: e },
          );
        }
      }
    }
  }

  async #retry(
    call: () => Promise<RetryOutcome>,
    notFound: "pod-not-found" | "container-not-found" | "other",
  ): Promise<RetryOutcome> {
    // After capacity was freed and drained, an RMID may still be in limbo for up to a kernel limbo
    // check (the world's drain probe put it back): keep retrying (until the deadline) while the
    // answer is "RMIDs in limbo". Otherwise, and for any other answer, answer at once: a scenario
    // that holds RMIDs in limbo on purpose must see the limbo answer.
    const attempt = (): Promise<RetryOutcome> => call().catch((e: unknown) => classifyGrpcError(e, notFound));
    return this.o.capacityFreed() ? retryWhileLimbo(attempt, this.o.timeoutMs) : attempt();
  }

  #c(): ControlClient {
    if (!this.#client) throw new Error("failed to reach the plugin: its control channel is closed");
    return this.#client;
  }
}

/** Wire group state → scenario group report. Pure. */
export function groupReport(state: GroupState, path: string): GroupReport {
  return state === GroupState.EXISTS ? { kind: "Exists", path } : { kind: "Failed" };
}
