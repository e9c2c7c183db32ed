import { pino, type Logger } from "pino";
import type {
  ConfigureHandler,
  RemoveContainerHandler,
  RemovePodSandboxHandler,
  RunPodSandboxHandler,
  ShutdownHandler,
  StartContainerHandler,
  StopContainerHandler,
  SynchronizeHandler,
} from "../nri/handler.js";
import {
  NriContainerState,
  NriEvent,
  eventBit,
  type NriConfigureRequest,
  type NriContainer,
  type NriPod,
} from "../nri/types.js";
import { validateConfig, type ResctrlPluginConfig } from "./config.js";
import { ContainerNotFoundError, PodNotFoundError, PluginError, errorName } from "./errors.js";
import { EventBus, type EventSubscription } from "./event-bus.js";
import type {
  ContainerSnapshot,
  ContainerSyncState,
  PodResctrlEvent,
  PodSnapshot,
  ResctrlGroupState,
  UnmonitoredPodSnapshot,
} from "./events.js";
import { Resctrl } from "../resctrl/index.js";
import { KeyedMutex } from "./keyed-mutex.js";
import { RealCgroupPidSource } from "./real-pid-source.js";
import type { CgroupPidSource } from "./pid-source.js";
import { PodRegistry, type ContainerEntry } from "./pod-registry.js";
import type { ResctrlPort } from "./resctrl-port.js";
import type { RetryReport } from "./retry-report.js";
import { interleaveByPod, mapLimit, raceTimeout, yieldToLoop } from "./async-work.js";
import { retryAllOnce } from "./retry-all.js";
import { runStartup, type ResctrlHealth } from "./startup.js";
import { describeFilter, podSelected, selectsAll } from "./pod-filter.js";
import type { PluginStats } from "./stats.js";
import type { SweepReport } from "./sweep-report.js";
import { PodLifecycle, groupFailureReason } from "./pod-lifecycle.js";

/** RUN_POD_SANDBOX | REMOVE_POD_SANDBOX | START_CONTAINER | STOP_CONTAINER | REMOVE_CONTAINER = 0x625. */
export const RESCTRL_PLUGIN_EVENT_MASK =
  eventBit(NriEvent.RUN_POD_SANDBOX) |
  eventBit(NriEvent.REMOVE_POD_SANDBOX) |
  eventBit(NriEvent.START_CONTAINER) |
  eventBit(NriEvent.STOP_CONTAINER) |
  eventBit(NriEvent.REMOVE_CONTAINER);

/** Seams of {@link ResctrlPlugin}. */
/**
 * One Synchronize: its live and STOPPED containers by listed sandbox id (every listed sandbox is a
 * key of `live`, undefined until it has a container), and the new containers its sections record
 * as Pending, by pod UID.
 */
interface SyncBatch {
  readonly live: Map<string, NriContainer[] | undefined>;
  readonly stopped: Map<string, NriContainer[]>;
  readonly work: Map<string, ContainerEntry[]>;
}

/** An empty batch. */
function newBatch(): SyncBatch {
  return { live: new Map(), stopped: new Map(), work: new Map() };
}

/** The batch while no Synchronize is adding pods (never written: nothing is pending then). */
const NO_BATCH = newBatch();

/** Appends `v` to the list of `key`, creating it. */
function pushTo<V>(m: Map<string, V[] | undefined>, key: string, v: V): void {
  const list = m.get(key);
  if (list) list.push(v);
  else m.set(key, [v]);
}

export interface ResctrlPluginOptions {
  /** Structured logger; default silent. */
  logger?: Logger;
}

/** Options of {@link ResctrlPlugin.create}: where the real resctrl, cgroup and proc trees are. */
export interface ResctrlPluginCreateOptions extends ResctrlPluginOptions {
  /** Default `/sys/fs/resctrl`. */
  resctrlRoot?: string;
  /** Default `/sys/fs/cgroup`. */
  cgroupRoot?: string;
  /** Default `/proc`. */
  procRoot?: string;
}

/**
 * Policy layer: one resctrl monitoring group per pod UID, every container's tasks moved into it,
 * one event stream describing the result. Implements the NRI stub's handler interfaces for
 * RUN_POD_SANDBOX, REMOVE_POD_SANDBOX, START_CONTAINER, STOP_CONTAINER (the dedicated StopContainer
 * RPC, answered with no adjustment) and REMOVE_CONTAINER (mask 0x625), plus Configure, Synchronize
 * and Shutdown.
 *
 * Counting rule: a pod's `totalContainers` counts its containers that are created or running; a
 * container leaves the count when it stops (STOP_CONTAINER, or a Synchronize that lists it
 * STOPPED) and is forgotten on REMOVE_CONTAINER. The counts are the same whether or not a resync
 * happened in between.
 *
 * Concurrency: work on one pod is serialized (a per-UID async mutex); pods proceed in parallel.
 * Handlers never reject (failures become state + logs): START reconciles inline before replying,
 * Synchronize does bookkeeping and group creation inline and reconciles within
 * `syncInlineBudgetMs`, the rest continues in the background (`idle()` waits for it).
 * Events are emitted only on change; `snapshot()` lets a consumer that dropped events resync.
 * Retries are caller-driven (`retry*`, `sweep`); the daemon calls `sweep()` every
 * `--retry-interval` (src/plugin/sweep-loop.ts).
 *
 * Filters (`podFilter`): a pod they leave out gets no group and no events; its containers are
 * ignored; it is listed by `unmonitoredPods()`.
 */
export class ResctrlPlugin
  implements
    ConfigureHandler,
    SynchronizeHandler,
    ShutdownHandler,
    RunPodSandboxHandler,
    RemovePodSandboxHandler,
    StartContainerHandler,
    StopContainerHandler,
    RemoveContainerHandler
{
  /** The validated configuration in effect. */
  readonly config: ResctrlPluginConfig;
  readonly #resctrl: ResctrlPort;
  readonly #log: Logger;
  readonly #bus: EventBus<PodResctrlEvent>;
  readonly #reg = new PodRegistry();
  readonly #lock = new KeyedMutex();
  readonly #background = new Set<Promise<void>>();
  readonly #life: PodLifecycle;
  readonly #pids: CgroupPidSource;
  #startup: Promise<void> | undefined;
  /** The pods of the last Synchronize are added (settles, never rejects). */
  #adding: Promise<void> = Promise.resolve();
  /**
   * Listed sandboxes of the running Synchronize whose section (see {@link synchronize}) has not
   * been queued yet, by pod UID (an array only for a UID with several). Data only: a pod's
   * sections are queued on its lock by the first of the background adder and any call about the
   * pod ({@link #run}), so they always run first.
   */
  readonly #pendingPods = new Map<string, NriPod | NriPod[]>();
  /** That Synchronize's containers by listed sandbox, and the reconciles its sections queue. */
  #batch: SyncBatch = NO_BATCH;
  /** Sections of the running Synchronize not finished yet, and who waits for the last one. */
  #sectionsLeft = 0;
  #sectionsDone: () => void = () => undefined;
  #health: ResctrlHealth = { resctrl: "unknown" };
  /** Sandboxes of pods the filters leave out (sandbox id → pod): no group, no events. */
  readonly #unmonitored = new Map<string, NriPod>();
  #sweeping: Promise<SweepReport> | undefined;

  private constructor(cfg: ResctrlPluginConfig, resctrl: ResctrlPort, pids: CgroupPidSource, logger: Logger) {
    this.config = cfg;
    this.#resctrl = resctrl;
    this.#pids = pids;
    this.#log = logger;
    this.#bus = new EventBus(cfg.eventQueueCapacity, logger);
    this.#life = new PodLifecycle(
      this.#reg,
      resctrl,
      pids,
      this.#bus,
      logger,
      cfg.maxReconcilePasses,
      undefined,
      cfg.followRdtClasses,
    );
  }

  /**
   * Builds a plugin over an injected resctrl handle and PID source (tests, the memory provider).
   * Throws `InvalidPluginConfigError` for a bad config, or when `cfg.groupPrefix` differs from the
   * handle's prefix. Does no I/O.
   */
  static withPidSource(
    cfg: Partial<ResctrlPluginConfig>,
    resctrl: ResctrlPort,
    pidSource: CgroupPidSource,
    opts: ResctrlPluginOptions = {},
  ): ResctrlPlugin {
    const full = validateConfig({ groupPrefix: resctrl.groupPrefix, ...cfg });
    if (full.groupPrefix !== resctrl.groupPrefix) {
      throw new PluginError(
        `failed to validate plugin config groupPrefix: ${JSON.stringify(full.groupPrefix)} differs from the resctrl handle's ${JSON.stringify(resctrl.groupPrefix)}`,
      );
    }
    return new ResctrlPlugin(full, resctrl, pidSource, opts.logger ?? pino({ level: "silent" }));
  }

  /**
   * Production wiring: the real resctrl filesystem and {@link RealCgroupPidSource}. Throws on a bad
   * config (`InvalidPluginConfigError`, or the resctrl layer's `InvalidConfigError` for the root).
   * Does no I/O until the first handler call.
   */
  static create(
    cfg: Partial<ResctrlPluginConfig> = {},
    opts: ResctrlPluginCreateOptions = {},
  ): ResctrlPlugin {
    const full = validateConfig(cfg);
    const logger = opts.logger ?? pino({ level: "silent" });
    const resctrl = Resctrl.real({ root: opts.resctrlRoot, groupPrefix: full.groupPrefix, logger });
    const pids = new RealCgroupPidSource({ cgroupRoot: opts.cgroupRoot, procRoot: opts.procRoot, logger });
    return new ResctrlPlugin(full, resctrl, pids, logger);
  }

  // ---- events -------------------------------------------------------------------------------

  /** Events dropped because an `events()` subscriber's queue was full. */
  get droppedEvents(): number {
    return this.#bus.dropped;
  }

  /** A bounded, non-blocking subscription to events emitted from now on (see `EventBus`). */
  events(): EventSubscription<PodResctrlEvent> {
    return this.#bus.subscribe();
  }

  /** Calls `listener` synchronously for each event; returns the unsubscribe function. */
  onEvent(listener: (e: PodResctrlEvent) => void): () => void {
    return this.#bus.on(listener);
  }

  /** Running totals (group creation failures, sweeps, pruned pods, vanished containers). */
  get stats(): Readonly<PluginStats> {
    return this.#life.stats;
  }

  /** Whether resctrl is usable: "unknown" until the first Synchronize/event ran the startup step. */
  health(): ResctrlHealth {
    return { ...this.#health };
  }

  /** Pods the namespace/label filters leave out (no group, no events), one per UID. */
  unmonitoredPods(): UnmonitoredPodSnapshot[] {
    const byUid = new Map<string, UnmonitoredPodSnapshot>();
    for (const p of this.#unmonitored.values()) {
      const e = byUid.get(p.uid);
      if (e) e.sandboxIds.push(p.id);
      else
        byUid.set(p.uid, { podUid: p.uid, podName: p.name, podNamespace: p.namespace, sandboxIds: [p.id] });
    }
    return [...byUid.values()];
  }

  /** Every known pod (oldest first) with its group state, counters and containers. */
  snapshot(): PodSnapshot[] {
    return this.#reg.snapshot();
  }

  /** Containers seen before their pod (NoPod), oldest first. */
  unassignedContainers(): ContainerSnapshot[] {
    return this.#reg.noPodSnapshot();
  }

  /** Current tasks of a pod's group ([] if the group Failed). Rejects PodNotFoundError or a resctrl error. */
  async groupTasks(podUid: string): Promise<number[]> {
    const p = this.#reg.pods.get(podUid);
    if (!p) throw new PodNotFoundError(podUid);
    if (p.groupState.kind !== "Exists") return [];
    const paths = [
      p.groupState.path,
      ...[...p.classGroups.values()].filter((g) => g.exists).map((g) => g.path),
    ];
    const lists = await Promise.all(paths.map((g) => this.#resctrl.listGroupTasks(g)));
    return lists.flat();
  }

  /** Resolves once no background reconcile (from Synchronize) is running. */
  async idle(): Promise<void> {
    while (this.#background.size > 0) await Promise.all([...this.#background]);
  }

  /** Ends all `events()` subscriptions and listeners, after background work settles. */
  async close(): Promise<void> {
    await this.idle();
    this.#bus.close();
  }

  // ---- NRI handlers ---------------------------------------------------------------------------

  configure(req: NriConfigureRequest): { events: number } {
    this.#log.info(
      { runtime: req.runtimeName, version: req.runtimeVersion, requestTimeoutMs: req.requestTimeoutMs },
      "configured by runtime",
    );
    if (req.config.trim() !== "") this.#log.warn("runtime-provided plugin config is ignored; use flags");
    return { events: RESCTRL_PLUGIN_EVENT_MASK };
  }

  shutdown(): void {
    this.#log.info("runtime is shutting down; groups are kept (removed by the next startup cleanup)");
  }

  /**
   * Full runtime state (all chunks). First call: startup (mount check + cleanup) once. Drops state
   * the runtime no longer reports (resync after reconnect) and records live containers of
   * sandboxes it does not list as NoPod; then, for each listed pod under its lock: adds it (group
   * creation), marks its containers listed STOPPED as Stopped (known or not: the same state as if
   * their STOP_CONTAINER had been seen), records its new live containers; then reconciles those.
   * The sections run, like the reconciles, in the background (queued by an adder, or first by
   * any call about the pod, so an event never overtakes its pod's section): this waits for all of
   * it only up to `syncInlineBudgetMs` (default 0: the reply goes right after the bookkeeping; a
   * listed pod already runs, and the runtime waits for the reply). A later Synchronize first waits
   * until the pods of this one are added. `idle()` waits for everything.
   */
  async synchronize(pods: NriPod[], containers: NriContainer[]): Promise<void> {
    const t0 = Date.now();
    await this.#ensureStartup();
    await this.#adding;
    const liveSandboxes = new Set(pods.map((p) => p.id));
    for (const sid of [...this.#unmonitored.keys()])
      if (!liveSandboxes.has(sid)) this.#unmonitored.delete(sid);
    const allPods = pods;
    pods = pods.filter((p) => this.#select(p));
    containers = containers.filter((c) => !this.#unmonitored.has(c.podSandboxId));
    // Drop what the runtime no longer reports (a resync after a reconnect). The id set is built
    // only when there is something to check (not at the first Synchronize).
    let liveIds: Set<string> | undefined;
    const listedId = (id: string): boolean => (liveIds ??= new Set(containers.map((c) => c.id))).has(id);
    for (const entry of [...this.#reg.pods.values()]) {
      for (const sid of [...entry.sandboxes.keys()]) {
        if (!liveSandboxes.has(sid))
          await this.#run(entry.uid, () => this.#life.removeSandbox(entry.uid, sid, "resync"));
      }
    }
    for (const np of [...this.#reg.noPod.values()]) if (!listedId(np.id)) this.#reg.noPod.delete(np.id);
    for (const entry of [...this.#reg.pods.values()]) {
      for (const id of [...entry.containers.keys()]) {
        if (!listedId(id)) await this.#run(entry.uid, () => this.#life.dropContainer(id, "resync"));
      }
    }
    // Containers by listed sandbox; the others are settled now (no pod of this state will own them).
    const batch = newBatch();
    for (const p of pods) batch.live.set(p.id, undefined);
    let noPod = 0;
    let stopped = 0;
    for (const c of containers) {
      if (c.state !== NriContainerState.STOPPED) continue;
      stopped += 1;
      if (batch.live.has(c.podSandboxId)) {
        pushTo(batch.stopped, c.podSandboxId, c);
        continue;
      }
      const key = this.#reg.ownerOf(c.id) ?? this.#reg.uidOfSandbox(c.podSandboxId);
      if (key === undefined && !this.#reg.noPod.has(c.id)) continue; // pod unknown: nothing to count
      await this.#run(key ?? c.podSandboxId, async () => {
        this.#life.stopContainer(c, c.podSandboxId, "synchronize");
      });
    }
    for (const c of containers) {
      if (c.state === NriContainerState.STOPPED) continue;
      if (batch.live.has(c.podSandboxId)) pushTo(batch.live, c.podSandboxId, c);
      else if (!this.#reg.knows(c.id)) {
        this.#reg.addNoPod(c, c.podSandboxId);
        noPod += 1;
      }
    }
    // Each listed pod's section runs under its lock, queued by the background adder below
    // (`syncConcurrency` at a time, yielding between pods) or earlier by the first call about the
    // pod (#run): an event about a listed pod never overtakes its section. Until then a pod is data
    // in #pendingPods, not a chain of promises held on its lock.
    this.#batch = batch;
    this.#sectionsLeft = 0;
    for (const p of pods) {
      const had = this.#pendingPods.get(p.uid);
      this.#pendingPods.set(p.uid, had === undefined ? p : Array.isArray(had) ? [...had, p] : [had, p]);
      this.#sectionsLeft += 1;
    }
    const allAdded =
      this.#sectionsLeft === 0 ? Promise.resolve() : new Promise<void>((r) => (this.#sectionsDone = r));
    const uids = [...this.#pendingPods.keys()];
    const adding = mapLimit(uids, this.config.syncConcurrency, async (uid) => {
      await yieldToLoop();
      await this.#claim(uid); // a pod claimed by an event meanwhile: resolves at once
    })
      .then(() => allAdded)
      .finally(() => (this.#batch = NO_BATCH));
    this.#adding = adding.then(
      () => undefined,
      () => undefined,
    );
    const done = this.#track(
      adding
        .then(async () => {
          const work = interleaveByPod(batch.work);
          await mapLimit(work, this.config.syncConcurrency, async (c) => {
            await yieldToLoop(); // let NRI requests, timers and the inline budget in between
            const uid = this.#reg.ownerOf(c.id);
            if (uid !== undefined) await this.#run(uid, () => this.#life.settle(uid, c, "synchronize"));
          });
          return work;
        })
        .then((work) => {
          // One summary instead of one info record per container (those are at debug).
          const states: Record<string, number> = {};
          for (const c of work) states[c.state] = (states[c.state] ?? 0) + 1;
          this.#log.info(
            { pods: pods.length, containers: work.length, states, durationMs: Date.now() - t0 },
            "reconciled the synchronized containers",
          );
        }),
    );
    const inline = await raceTimeout(done, this.config.syncInlineBudgetMs);
    this.#log.info(
      {
        pods: pods.length,
        unmonitored: allPods.length - pods.length,
        containers: containers.length,
        stopped,
        noPod,
        queued: containers.length - stopped - noPod,
        finishedInline: inline,
        durationMs: Date.now() - t0,
      },
      "synchronized",
    );
  }

  /** New pod UID: create its group, emit AddOrUpdate 0/0, promote its NoPod containers. Known UID: no event. */
  async runPodSandbox(pod: NriPod): Promise<void> {
    await this.#ensureStartup();
    if (!this.#select(pod)) return;
    await this.#run(pod.uid, async () => {
      for (const c of await this.#life.addPod(pod)) await this.#life.settle(pod.uid, c, "promoted");
    });
  }

  /** Removes the sandbox; when it was the UID's last one: rmdir the group, then emit Removed. */
  async removePodSandbox(pod: NriPod): Promise<void> {
    if (this.#unmonitored.delete(pod.id)) return;
    const uid = this.#reg.uidOfSandbox(pod.id) ?? pod.uid;
    await this.#run(uid, () => this.#life.removeSandbox(uid, pod.id, "remove"));
  }

  /** Tracks the container and reconciles it before replying (children then inherit the group). */
  async startContainer(pod: NriPod, container: NriContainer): Promise<void> {
    await this.#ensureStartup();
    const sandboxId = container.podSandboxId || pod.id;
    if (this.#unmonitored.has(sandboxId)) return;
    const key = this.#reg.uidOfSandbox(sandboxId) ?? pod.uid;
    await this.#run(key, async () => {
      if (this.#reg.knows(container.id)) {
        this.#log.debug({ containerId: container.id }, "duplicate START_CONTAINER ignored");
        return;
      }
      const uid = this.#reg.uidOfSandbox(sandboxId);
      const entry = uid === undefined ? undefined : this.#reg.pods.get(uid);
      if (!entry) {
        this.#reg.addNoPod(container, sandboxId);
        this.#log.info(
          { containerId: container.id, sandboxId },
          "container seen before its pod; kept as NoPod",
        );
        return;
      }
      await this.#life.settle(
        entry.uid,
        this.#reg.addContainer(entry, container, sandboxId, "Pending"),
        "start",
      );
    });
  }

  /**
   * The container stopped (its process exited by itself, crashed, completed, or was stopped): it
   * leaves the pod's counts and stays known as Stopped until REMOVE_CONTAINER. Emits AddOrUpdate
   * only if the counters changed. Replies with no adjustment; never rejects.
   */
  async stopContainer(pod: NriPod, container: NriContainer): Promise<void> {
    const sandboxId = container.podSandboxId || pod.id;
    if (this.#unmonitored.has(sandboxId)) return;
    const key = this.#reg.ownerOf(container.id) ?? this.#reg.uidOfSandbox(sandboxId) ?? pod.uid;
    await this.#run(key, () => {
      this.#life.stopContainer(container, sandboxId, "stop");
    });
  }

  /**
   * Forgets the container; emits AddOrUpdate only if the pod's counters changed. When that left
   * the pod without containers and every sandbox of it is positively gone (the runtime may never
   * send REMOVE_POD_SANDBOX for pods it recovered after a restart), removes the pod like
   * REMOVE_POD_SANDBOX would (rmdir the group, then Removed).
   */
  async removeContainer(pod: NriPod, container: NriContainer): Promise<void> {
    if (this.#unmonitored.has(container.podSandboxId || pod.id)) return;
    const key =
      this.#reg.ownerOf(container.id) ?? this.#reg.uidOfSandbox(container.podSandboxId || pod.id) ?? pod.uid;
    await this.#run(key, async () => {
      this.#life.dropContainer(container.id, "remove");
      await this.#life.pruneIfSandboxGone(key);
    });
  }

  // ---- retries -------------------------------------------------------------------------------

  /**
   * Retries group creation of a Failed pod. Exists already → returned, no I/O, no event.
   * Success → Exists + exactly one event. Rejects with PodNotFoundError, or the resctrl error
   * (e.g. CapacityError) leaving the pod Failed with no event.
   */
  async retryGroupCreation(podUid: string): Promise<ResctrlGroupState> {
    await this.#ensureStartup();
    return this.#run(podUid, async () => {
      const entry = this.#reg.pods.get(podUid);
      if (!entry) throw new PodNotFoundError(podUid);
      if (entry.groupState.kind === "Exists") return { ...entry.groupState };
      let path: string;
      try {
        path = await this.#life.createGroup(podUid);
      } catch (err) {
        this.#life.countCreateFailure(err);
        if (this.#reg.pods.get(podUid) === entry) entry.groupError = groupFailureReason(err);
        throw err;
      }
      this.#reg.setGroupState(entry, { kind: "Exists", path });
      entry.groupError = undefined;
      this.#log.info({ podUid, group: path }, "group created on retry");
      this.#life.emitIfChanged(entry);
      return { ...entry.groupState };
    });
  }

  /**
   * Reconciles one container again (Reconciled ones too: catches exec'd processes; never demoted).
   * Emits one event only when it becomes Reconciled. Returns its state (NoPod, or Partial while
   * the group is Failed, without I/O). Rejects ContainerNotFoundError, or a hard reconcile error
   * (cgroup gone, permission, I/O); an empty PID set or non-convergence is just Partial.
   */
  async retryContainerReconcile(containerId: string): Promise<ContainerSyncState> {
    const owner = this.#reg.ownerOf(containerId);
    if (owner === undefined) {
      const np = this.#reg.noPod.get(containerId);
      if (np) return np.state; // NoPod, or Stopped before its pod was seen
      throw new ContainerNotFoundError(containerId);
    }
    return this.#run(owner, async () => {
      const pod = this.#reg.pods.get(owner);
      const c = pod?.containers.get(containerId);
      if (!pod || !c) throw new ContainerNotFoundError(containerId);
      if (c.state === "Stopped") return c.state; // nothing runs in it; no I/O
      // A Failed pod's container: `reconcile` answers "not converged" without I/O → Partial.
      const r = await this.#life.reconcile(pod, c, "retry");
      if (!r.converged && (await this.#life.exitedUnannounced(pod, c, r.error, "retry"))) return c.state;
      if (r.converged) c.state = "Reconciled";
      else if (c.state === "Pending") c.state = "Partial";
      this.#life.emitIfChanged(pod);
      if (r.error !== undefined && errorName(r.error) !== "EmptyPidSetError") throw r.error;
      return c.state;
    });
  }

  /**
   * One caller-driven retry pass. Failed pods oldest first: stops group creation at the first
   * CapacityError (the rest are counted as skipped); other errors are recorded and the pass goes
   * on. Then every Partial container of a pod whose group exists, oldest first. Before both, pods
   * whose containers were all removed and whose sandboxes are all positively gone are removed
   * (group rmdir'd, one Removed each; `podsPruned`). Never rejects.
   */
  async retryAllOnce(): Promise<RetryReport> {
    const prune = (uid: string): Promise<boolean> => this.#run(uid, () => this.#life.pruneIfSandboxGone(uid));
    await this.#checkClasses(); // classes that went away: regroup/unblock before retrying
    return retryAllOnce(this.#reg, this, this.#log, prune);
  }

  /**
   * One unattended maintenance pass (the daemon runs it every `--retry-interval`); concurrent calls
   * share the pass in flight. In order:
   * 1. containers counted (Partial/Reconciled) whose cgroup and process vanished without a
   *    STOP_CONTAINER are counted Stopped (`containersVanished`);
   * 2. orphans: every pod with no live container (none ever, or all stopped/removed) whose every
   *    sandbox is positively gone (pause process and pod cgroup) is removed — group rmdir'd,
   *    `Removed` emitted — whatever removal order or runtime restart preceded it (containerd sends
   *    no REMOVE_POD_SANDBOX for sandboxes older than its restart); unmonitored sandboxes that are
   *    gone are forgotten;
   * 3. if resctrl was unusable, the mount check runs again;
   * 4. {@link retryAllOnce}: RDT classes that went away (regroup / unblock), Failed pods' group
   *    creation (stops at the first capacity error), then Partial containers.
   * Does nothing before the first runtime contact (no startup yet). Never rejects.
   */
  sweep(): Promise<SweepReport> {
    this.#sweeping ??= this.#sweep().finally(() => {
      this.#sweeping = undefined;
    });
    return this.#sweeping;
  }

  async #sweep(): Promise<SweepReport> {
    const t0 = Date.now();
    const report: SweepReport = {
      containersVanished: 0,
      podsPruned: 0,
      unmonitoredForgotten: 0,
      retry: undefined,
      durationMs: 0,
    };
    if (this.#startup === undefined) return report;
    await this.#startup;
    this.#life.stats.retrySweeps += 1;
    // Healthy containers cost one existence check each, without the pod lock; only a container
    // that looks gone is re-checked and marked under the lock.
    for (const entry of [...this.#reg.pods.values()]) {
      for (const c of [...entry.containers.values()]) {
        if (c.state !== "Partial" && c.state !== "Reconciled") continue;
        const gone = await this.#pids
          .containerGone(c.container, entry.sandboxes.get(c.sandboxId))
          .catch(() => false);
        if (!gone) continue;
        const marked = await this.#run(entry.uid, () =>
          this.#reg.pods.get(entry.uid) === entry && entry.containers.get(c.id) === c
            ? this.#life.stopIfVanished(entry, c, "sweep")
            : false,
        );
        if (marked) report.containersVanished += 1;
      }
    }
    for (const entry of [...this.#reg.pods.values()]) {
      if (this.#reg.liveContainers(entry) > 0) continue;
      if (await this.#run(entry.uid, () => this.#life.pruneIfSandboxGone(entry.uid))) report.podsPruned += 1;
    }
    for (const [sid, pod] of [...this.#unmonitored]) {
      if (await this.#pids.sandboxGone(pod).catch(() => false)) {
        if (this.#unmonitored.get(sid) === pod) this.#unmonitored.delete(sid);
        report.unmonitoredForgotten += 1;
      }
    }
    if (this.#health.resctrl === "unusable") await this.#recheckResctrl();
    report.retry = await this.retryAllOnce();
    report.podsPruned += report.retry.podsPruned;
    report.durationMs = Date.now() - t0;
    return report;
  }

  /**
   * RDT classes that went away: with `followRdtClasses`, the pods' groups in them are forgotten and
   * their tasks reconciled into the pods' root groups; without it, containers blocked by a class
   * that is gone are unblocked (the next retry moves their tasks, now in the default group). Lists
   * the control groups only when some pod has class groups or a blocked container.
   */
  async #checkClasses(): Promise<void> {
    const pods = [...this.#reg.pods.values()];
    const involved = pods.filter(
      (p) => p.classGroups.size > 0 || [...p.containers.values()].some((c) => c.blockedBy !== undefined),
    );
    if (involved.length === 0) return;
    let existing: Set<string>;
    try {
      existing = new Set(await this.#resctrl.controlGroups());
    } catch (err) {
      this.#log.warn({ err }, "failed to list RDT control groups; class check skipped");
      return;
    }
    for (const pod of involved) {
      await this.#run(pod.uid, async () => {
        if (this.#reg.pods.get(pod.uid) !== pod) return;
        for (const c of pod.containers.values()) {
          if (c.blockedBy && !c.blockedBy.every((g) => existing.has(g))) c.blockedBy = undefined;
        }
        await this.#life.dropGoneClasses(pod, existing, "sweep");
      });
    }
  }

  async #recheckResctrl(): Promise<void> {
    try {
      await this.#resctrl.ensureMounted(this.config.autoMount);
      this.#health = { resctrl: "usable" };
      this.#log.info({ root: this.#resctrl.root }, "resctrl is usable now");
    } catch (err) {
      this.#health = { resctrl: "unusable", reason: err instanceof Error ? err.message : String(err) };
    }
  }

  // ---- internals -----------------------------------------------------------------------------

  /** True if the filters select the pod; an unselected one is recorded (sandbox) and logged once. */
  #select(pod: NriPod): boolean {
    if (selectsAll(this.config.podFilter) || podSelected(this.config.podFilter, pod)) return true;
    if (!this.#unmonitored.has(pod.id)) {
      this.#unmonitored.set(pod.id, pod);
      this.#reg.dropNoPodOfSandbox(pod.id);
      this.#log.info(
        {
          podUid: pod.uid,
          pod: `${pod.namespace}/${pod.name}`,
          filter: describeFilter(this.config.podFilter),
        },
        "pod not selected by the filters; not monitored",
      );
    }
    return false;
  }

  #ensureStartup(): Promise<void> {
    this.#startup ??= this.#runStartup();
    return this.#startup;
  }

  /** Once per plugin instance, before any group is created. Never rejects. */
  async #runStartup(): Promise<void> {
    this.#health = await runStartup(this.#resctrl, this.config, this.#log);
  }

  /** Runs `fn` under the lock of `key`, after the pending Synchronize sections of that pod (if any). */
  #run<R>(key: string, fn: () => Promise<R> | R): Promise<R> {
    void this.#claim(key);
    return this.#lock.run(key, fn);
  }

  /** Queues the pending sections of pod `uid` on its lock (once); resolves when they ran, never rejects. */
  #claim(uid: string): Promise<void> {
    const pending = this.#pendingPods.get(uid);
    if (pending === undefined) return Promise.resolve();
    const batch = this.#batch;
    this.#pendingPods.delete(uid);
    let last = Promise.resolve();
    for (const p of Array.isArray(pending) ? pending : [pending])
      last = this.#lock
        .run(uid, () => this.#section(p, batch))
        .catch((err: unknown) => this.#log.error({ err }, "failed to add a synchronized pod"))
        .finally(() => {
          if (--this.#sectionsLeft === 0) this.#sectionsDone();
        });
    return last;
  }

  /**
   * Under the pod lock: a listed sandbox of a Synchronize. Adds the pod (group creation), marks its
   * containers listed STOPPED as Stopped and records its new live containers as Pending work.
   */
  async #section(p: NriPod, batch: SyncBatch): Promise<void> {
    for (const c of await this.#life.addPod(p)) pushTo(batch.work, p.uid, c);
    const entry = this.#reg.pods.get(p.uid);
    if (!entry) return;
    for (const c of batch.stopped.get(p.id) ?? []) this.#life.stopContainer(c, p.id, "synchronize");
    for (const c of batch.live.get(p.id) ?? []) {
      if (this.#reg.knows(c.id)) continue;
      pushTo(batch.work, p.uid, this.#reg.addContainer(entry, c, p.id, "Pending"));
    }
  }

  #track(p: Promise<unknown>): Promise<void> {
    const t = p.then(
      () => undefined,
      (err: unknown) => this.#log.error({ err }, "background reconcile failed"),
    );
    this.#background.add(t);
    void t.then(() => this.#background.delete(t));
    return t;
  }
}
