import { existsSync } from "node:fs";
import type { Logger } from "pino";
import { NriStub } from "../../../src/nri/index.js";
import { ResctrlPlugin } from "../../../src/plugin/plugin.js";
import { RealCgroupPidSource } from "../../../src/plugin/real-pid-source.js";
import { isWaitingForRuntime } from "../../daemon/daemon-log.js";
import { auditedRetry } from "../shared/audited-retry.js";
import { DaemonServices } from "../shared/daemon-services.js";
import { EmulatedResctrl } from "../shared/emulated-resctrl.js";
import { ClassPlacingPidSource, EmulatedRdtClasses } from "../shared/emulated-rdt-classes.js";
import { EventConsumer } from "../shared/event-consumer.js";
import { memoryLogger } from "../shared/log-capture.js";
import { inProcessPluginConfig } from "../shared/plugin-config.js";
import type { LogRecord, MetricSample, ProbeAnswer, RetryOutcome } from "../types.js";
import {
  PLUGIN_IDX,
  PLUGIN_NAME,
  type ModeStartOptions,
  type EventSink,
  type PluginMode,
  type PluginPodState,
} from "./plugin-mode.js";

/** Reconnect backoff of the in-process stub (short: scenarios wait for it). */
export const INPROC_RECONNECT = { initialMs: 100, maxMs: 2000 } as const;
/** Poll interval while waiting for a log line of the in-process plugin. */
export const INPROC_POLL_MS = 20;

/**
 * The plugin's own classes in this process, on the real NRI socket of the real containerd, with
 * the real cgroup PID source (threads read from /proc), and resctrl emulated in memory as in the
 * mock world ({@link EmulatedResctrl}: it can be left unmounted, seeded with groups, run out of
 * RMIDs, hold freed RMIDs in limbo, be audited, and hold RDT classes ({@link classes}) whose
 * containers' tasks {@link placement} puts into them before the plugin sees them), and around it
 * what the daemon runs around it ({@link DaemonServices}: the sweep loop, the HTTP endpoint). The
 * emulated resctrl exists from construction so a scenario can arrange it before {@link start}.
 * Ownership: plugin, stub, services, consumer; {@link stop} closes them.
 */
export class InProcessMode implements PluginMode {
  readonly mode = "in-process";
  readonly kernel: EmulatedResctrl;
  /** RDT classes of the emulated resctrl (@rdt-classes). */
  readonly classes: EmulatedRdtClasses;
  /** The plugin's PID source: the real cgroups, with tasks of containers assigned a class put into it first. */
  readonly placement: ClassPlacingPidSource;
  readonly #logger: Logger;
  readonly #records: LogRecord[];
  #plugin: ResctrlPlugin | undefined;
  #stub: NriStub | undefined;
  #consumer: EventConsumer | undefined;
  #services: DaemonServices | undefined;
  #timeoutMs = 30_000;
  #syncs = 0;
  /** MemFs log index when the plugin started (the world's own seeding is not audited). */
  startMark = 0;

  constructor(
    groupPrefix: string,
    private readonly onEvent: EventSink,
  ) {
    ({ logger: this.#logger, records: this.#records } = memoryLogger());
    this.kernel = new EmulatedResctrl(groupPrefix, this.#logger, (tid) => existsSync(`/proc/${tid}`));
    this.classes = new EmulatedRdtClasses(this.kernel);
    this.placement = new ClassPlacingPidSource(
      new RealCgroupPidSource({ logger: this.#logger }),
      this.classes,
    );
  }

  async start(o: ModeStartOptions): Promise<void> {
    this.#timeoutMs = o.timeoutMs;
    // Filters arrive with the world's namespace names already.
    const plugin = ResctrlPlugin.withPidSource(
      inProcessPluginConfig(o),
      this.kernel.resctrl,
      this.placement,
      {
        logger: this.#logger,
      },
    );
    this.#plugin = plugin;
    plugin.onEvent(this.onEvent);
    this.startMark = this.kernel.audit.mark();
    const services = await DaemonServices.start({
      plugin,
      resctrl: this.kernel.resctrl,
      retryIntervalMs: o.retryIntervalMs,
      logger: this.#logger,
    });
    this.#services = services;
    const stub = new NriStub(plugin, {
      name: PLUGIN_NAME,
      idx: PLUGIN_IDX,
      socketPath: o.nriSocket,
      logger: this.#logger.child({ side: "stub" }),
      reconnect: INPROC_RECONNECT,
      onRequest: services.onRequest,
    });
    services.watch(stub);
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

  async stop(): Promise<void> {
    this.#consumer?.close();
    await this.#services?.stop();
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
    return this.kernel.fs.isDir(path);
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

  scrapeMetrics(): Promise<MetricSample[]> {
    return this.#svc().scrape(this.#timeoutMs);
  }

  probe(path: string): Promise<ProbeAnswer> {
    return this.#svc().get(path, this.#timeoutMs);
  }

  #svc(): DaemonServices {
    if (!this.#services) throw new Error("failed to reach the plugin's HTTP endpoint: it was not started");
    return this.#services;
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
    return auditedRetry(this.kernel.audit, run, (span) => (this.lastRetry = span));
  }
}
