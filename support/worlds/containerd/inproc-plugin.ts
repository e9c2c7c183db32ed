import { existsSync } from "node:fs";
import type { Logger } from "pino";
import { NriStub } from "../../../src/nri/index.js";
import { ResctrlPlugin } from "../../../src/plugin/plugin.js";
import { RealCgroupPidSource } from "../../../src/plugin/real-pid-source.js";
import { Resctrl } from "../../../src/resctrl/index.js";
import { MemFs } from "../../../src/testing/mem-fs.js";
import { EventConsumer } from "../mock/event-consumer.js";
import { FsAudit } from "../mock/fs-audit.js";
import { memoryLogger } from "../mock/memory-logger.js";
import { auditedRetry } from "../retry-outcome.js";
import type { LogRecord, RetryOutcome } from "../types.js";
import {
  CONTAINERD_WORLD_RESCTRL_ROOT,
  isWaitingForRuntime,
  PLUGIN_IDX,
  PLUGIN_NAME,
  type DriverStartOptions,
  type EventSink,
  type PluginDriver,
  type PluginPodState,
} from "./plugin-driver.js";

/** Reconnect backoff of the in-process stub (short: scenarios wait for it). */
export const INPROC_RECONNECT = { initialMs: 100, maxMs: 2000 } as const;
/** Poll interval while waiting for a log line of the in-process plugin. */
export const INPROC_POLL_MS = 20;
/**
 * Prefix of the helper monitoring groups that take the last RMIDs when a scenario exhausts them:
 * another tenant's prefix, so the plugin's startup cleanup keeps them (as in the mock and
 * hardware worlds).
 */
export const RMID_FILLER_PREFIX = "rmidfill_";

/**
 * The plugin's own classes in this process, on the real NRI socket of the real containerd, with
 * the real cgroup PID source (threads read from /proc), and resctrl modelled by {@link MemFs}
 * (which can be left unmounted, seeded with groups, run out of RMIDs, and audited). Like a kernel
 * that monitors LLC occupancy, the MemFs keeps a freed RMID in limbo until drained
 * ({@link drainRmidLimbo}); without an RMID limit (the default) that never matters. The MemFs
 * exists from construction so a scenario can arrange it before {@link start}.
 * Ownership: plugin, stub, consumer; {@link stop} closes them.
 */
export class InProcessPlugin implements PluginDriver {
  readonly mode = "in-process";
  readonly fs: MemFs;
  readonly resctrl: Resctrl;
  readonly audit: FsAudit;
  readonly #logger: Logger;
  readonly #records: LogRecord[];
  /** Helper groups that hold the last RMIDs ({@link exhaustRmids}). */
  readonly #fillers: string[] = [];
  #plugin: ResctrlPlugin | undefined;
  #stub: NriStub | undefined;
  #consumer: EventConsumer | undefined;
  #syncs = 0;
  /** MemFs log index when the plugin started (the world's own seeding is not audited). */
  startMark = 0;

  constructor(
    groupPrefix: string,
    private readonly onEvent: EventSink,
  ) {
    ({ logger: this.#logger, records: this.#records } = memoryLogger());
    this.fs = MemFs.withResctrl({
      root: CONTAINERD_WORLD_RESCTRL_ROOT,
      pidExists: (pid) => existsSync(`/proc/${pid}`),
      rmidLimboMs: Infinity,
    });
    this.resctrl = Resctrl.withProvider(this.fs, {
      root: CONTAINERD_WORLD_RESCTRL_ROOT,
      groupPrefix,
      logger: this.#logger,
    });
    this.audit = new FsAudit(this.fs.log, CONTAINERD_WORLD_RESCTRL_ROOT);
  }

  async start(o: DriverStartOptions): Promise<void> {
    const cfg = {
      cleanupOnStart: o.cleanupOnStart,
      autoMount: o.autoMount,
      eventQueueCapacity: o.eventQueueCapacity,
    };
    const pids = new RealCgroupPidSource({ logger: this.#logger });
    const plugin = ResctrlPlugin.withPidSource(cfg, this.resctrl, pids, { logger: this.#logger });
    this.#plugin = plugin;
    plugin.onEvent(this.onEvent);
    this.startMark = this.audit.mark();
    const stub = new NriStub(plugin, {
      name: PLUGIN_NAME,
      idx: PLUGIN_IDX,
      socketPath: o.nriSocket,
      logger: this.#logger.child({ side: "stub" }),
      reconnect: INPROC_RECONNECT,
    });
    this.#stub = stub;
    stub.on("synchronized", () => (this.#syncs += 1));
    stub.on("error", (err: unknown) => this.#logger.warn({ err }, "nri stub error"));
    o.beforeConnect?.();
    const registered = stub.start();
    if (o.until === "waiting-for-runtime") {
      // Registration completes once the runtime comes up (or fails when stop() comes first).
      registered.catch(() => undefined);
      const deadline = Date.now() + o.timeoutMs;
      while (!this.#records.some(isWaitingForRuntime)) {
        if (Date.now() > deadline)
          throw new Error(
            `failed to start the plugin: no "waiting for the runtime …" in its log within ${o.timeoutMs} ms while the runtime is down`,
          );
        await new Promise((r) => setTimeout(r, INPROC_POLL_MS));
      }
      return;
    }
    await registered;
    await stub.waitSynchronized(o.timeoutMs);
  }

  /**
   * Exhausts RMIDs as the mock and hardware worlds do: the limit becomes what is in use (limbo
   * included) plus one, and one more helper monitoring group ({@link RMID_FILLER_PREFIX}) takes the
   * last RMID. From then on a group mkdir answers ENOSPC, or EBUSY while freed RMIDs are in limbo,
   * as the kernel does. Callable before or after {@link start}, and again.
   */
  async exhaustRmids(): Promise<void> {
    this.fs.rmidCapacity = this.fs.rmidsInUse() + 1;
    const path = `${CONTAINERD_WORLD_RESCTRL_ROOT}/mon_groups/${RMID_FILLER_PREFIX}${this.#fillers.length}`;
    await this.fs.createDir(path);
    this.#fillers.push(path);
  }

  /** Removes the helper groups: their RMIDs go into limbo, the limit stays (EBUSY until drained). */
  async freeRmidsIntoLimbo(): Promise<void> {
    for (const p of this.#fillers.splice(0)) await this.fs.removeDir(p);
  }

  /** The cache occupancy of the RMIDs in limbo fell below the threshold: they are free now. */
  drainRmidLimbo(): void {
    this.fs.drainRmidLimbo();
  }

  /** Frees the helper groups' RMIDs for good: removed, drained, and no limit any more. */
  async freeRmids(): Promise<void> {
    await this.freeRmidsIntoLimbo();
    this.drainRmidLimbo();
    this.fs.rmidCapacity = undefined;
  }

  async stop(): Promise<void> {
    this.#consumer?.close();
    await this.#stub?.stop().catch(() => undefined);
    await this.#plugin?.close().catch(() => undefined);
  }

  async state(): Promise<PluginPodState[]> {
    const p = this.plugin();
    return Promise.all(
      p.snapshot().map(async (s) => ({
        podUid: s.podUid,
        group: s.groupState,
        total: s.totalContainers,
        reconciled: s.reconciledContainers,
        tasks: await p.groupTasks(s.podUid).catch(() => undefined),
      })),
    );
  }

  async groupExists(path: string): Promise<boolean> {
    return this.fs.isDir(path);
  }

  retryGroupCreation(podUid: string): Promise<RetryOutcome> {
    return this.#retry(async () => ({ ok: true, group: await this.plugin().retryGroupCreation(podUid) }));
  }

  retryContainer(containerId: string): Promise<RetryOutcome> {
    return this.#retry(async () => (await this.plugin().retryContainerReconcile(containerId), { ok: true }));
  }

  retryAllOnce(): Promise<RetryOutcome> {
    return this.#retry(async () => (await this.plugin().retryAllOnce(), { ok: true }));
  }

  /** MemFs log indexes [before, after] of the last retry (for fs-audit questions). */
  lastRetry: [number, number] = [0, 0];

  async droppedEvents(): Promise<number> {
    return this.plugin().droppedEvents;
  }

  logLines(): LogRecord[] {
    return this.#records;
  }

  syncCount(): number {
    return this.#syncs;
  }

  /** An external consumer of the plugin's bounded event stream, stalled until it resyncs. */
  consumer(translate: ConstructorParameters<typeof EventConsumer>[1]): EventConsumer {
    this.#consumer ??= new EventConsumer(this.plugin(), translate);
    return this.#consumer;
  }

  existingConsumer(): EventConsumer {
    if (!this.#consumer)
      throw new Error(
        "failed to use the event consumer: none was attached (Given a consumer that does not read its events)",
      );
    return this.#consumer;
  }

  plugin(): ResctrlPlugin {
    if (!this.#plugin)
      throw new Error("failed to reach the plugin: it was not started (Given the plugin is running)");
    return this.#plugin;
  }

  #retry(run: () => Promise<RetryOutcome>): Promise<RetryOutcome> {
    return auditedRetry(this.audit, run, (span) => (this.lastRetry = span));
  }
}
