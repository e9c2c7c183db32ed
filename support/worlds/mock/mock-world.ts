import { join } from "node:path";
import type { Logger } from "pino";
import { NriStub } from "../../../src/nri/index.js";
import type { PodResctrlEvent } from "../../../src/plugin/events.js";
import { ResctrlPlugin } from "../../../src/plugin/plugin.js";
import { Resctrl } from "../../../src/resctrl/index.js";
import { MemFs } from "../../../src/testing/mem-fs.js";
import { MockPidSource } from "../../../src/testing/mock-pid-source.js";
import { FakeRuntime } from "../../fakes/fake-runtime.js";
import { EventLog, type UnnumberedPodEvent } from "../event-log.js";
import type {
  Capability,
  ContainerSpec,
  GroupObservation,
  LogRecord,
  PluginStartOptions,
  PodEvent,
  PodView,
  PodWorld,
  RetryOutcome,
  ScenarioContext,
  SeededGroup,
  TaskScript,
} from "../types.js";
import { ClusterModel, type ContainerModel, type PodModel } from "./cluster-model.js";
import { EventConsumer } from "./event-consumer.js";
import { FsAudit } from "./fs-audit.js";
import { memoryLogger } from "./memory-logger.js";

/** Where the mock world's in-memory resctrl lives (the real default, so paths in logs look familiar). */
export const MOCK_RESCTRL_ROOT = "/sys/fs/resctrl";
/** NRI request timeout of the fake runtime (containerd's default). */
export const MOCK_REQUEST_TIMEOUT_MS = 2000;
/** Prefix of seeded groups owned by "other". */
export const FOREIGN_GROUP_PREFIX = "other_";

const CAPABILITIES: ReadonlySet<Capability> = new Set<Capability>([
  "fault-injection",
  "scripted-pids",
  "fs-audit",
  "scripted-runtime",
  "mount-control",
  "event-backpressure",
]);

/**
 * The deterministic world: the real plugin in-process over the real NRI stub, connected through a
 * real unix socket (in the scenario's tmp dir) to {@link FakeRuntime}; the resctrl layer runs over
 * {@link MemFs} (fault injection, call log) and tasks come from a scripted {@link MockPidSource}.
 * Nothing touches the host's resctrl or cgroups.
 *
 * Ownership: one instance per scenario; `dispose()` stops the stub, the runtime and the plugin.
 */
export class MockWorld implements PodWorld {
  readonly name = "mock";
  readonly #model = new ClusterModel();
  readonly #log = new EventLog();
  readonly #pids = new MockPidSource();
  #ctx!: ScenarioContext;
  #fs!: MemFs;
  #resctrl!: Resctrl;
  #audit!: FsAudit;
  #logger!: Logger;
  #records: LogRecord[] = [];
  #plugin: ResctrlPlugin | undefined;
  #runtime: FakeRuntime | undefined;
  #stub: NriStub | undefined;
  #consumer: EventConsumer | undefined;
  #startMark = 0;
  #lastRetry: [number, number] = [0, 0];

  capabilities(): ReadonlySet<Capability> {
    return CAPABILITIES;
  }

  async init(ctx: ScenarioContext): Promise<void> {
    this.#ctx = ctx;
    ({ logger: this.#logger, records: this.#records } = memoryLogger());
    this.#fs = MemFs.withResctrl({ root: MOCK_RESCTRL_ROOT, pidExists: (pid) => this.#model.alive(pid) });
    this.#resctrl = Resctrl.withProvider(this.#fs, {
      root: MOCK_RESCTRL_ROOT,
      groupPrefix: ctx.groupPrefix,
      logger: this.#logger,
    });
    this.#audit = new FsAudit(this.#fs.log, MOCK_RESCTRL_ROOT);
  }

  async dispose(): Promise<void> {
    this.#log.close();
    this.#consumer?.close();
    await this.#stub?.stop().catch(() => undefined);
    await this.#runtime?.close().catch(() => undefined);
    await this.#plugin?.close().catch(() => undefined);
  }

  // ---- arrange ---------------------------------------------------------------------------

  async unmountResctrl(): Promise<void> {
    this.#fs.setMounted(false);
  }

  async seedGroup(g: SeededGroup): Promise<void> {
    const path = this.#seedPath(g);
    if (g.location.kind === "nested" && !this.#fs.isDir(path.slice(0, path.lastIndexOf("/")))) {
      throw new Error(
        `failed to seed group ${g.label}: its parent ${g.location.parent} must be seeded first, at the root`,
      );
    }
    await this.#fs.createDir(path);
  }

  async preexistingPod(pod: string, containers: readonly ContainerSpec[]): Promise<void> {
    if (this.#plugin) throw new Error(`failed to add pre-existing pod ${pod}: the plugin already started`);
    const p = this.#model.pod(pod);
    p.phase = "running";
    for (const spec of containers) this.#script(this.#model.addContainer(p, spec));
  }

  async injectCapacityExhaustion(): Promise<void> {
    this.#fs.failMkdirWithEnospc(true);
  }

  async freeCapacity(): Promise<void> {
    this.#fs.failMkdirWithEnospc(false);
  }

  async scriptTasks(pod: string, container: string, script: TaskScript): Promise<void> {
    this.#model.setScript(pod, container, script);
  }

  // ---- act -------------------------------------------------------------------------------

  async startPlugin(o: PluginStartOptions = {}): Promise<void> {
    if (this.#plugin) throw new Error("failed to start the plugin: it already runs");
    const cfg = {
      cleanupOnStart: o.cleanupOnStart,
      autoMount: o.autoMount,
      eventQueueCapacity: o.eventQueueCapacity,
    };
    const plugin = ResctrlPlugin.withPidSource(cfg, this.#resctrl, this.#pids, { logger: this.#logger });
    this.#plugin = plugin;
    plugin.onEvent((e) => this.#log.record(this.#translate(e)));
    const socketPath = join(this.#ctx.tmpDir, "nri.sock");
    const runtime = await FakeRuntime.listen({
      socketPath,
      requestTimeoutMs: MOCK_REQUEST_TIMEOUT_MS,
      syncChunkSize: o.syncChunkSize,
      logger: this.#logger.child({ side: "runtime" }),
    });
    this.#runtime = runtime;
    for (const p of this.#model.pods.values()) if (p.phase === "running") this.#register(runtime, p);
    this.#startMark = this.#audit.mark();
    this.#stub = new NriStub(plugin, {
      name: "resctrl",
      idx: "10",
      socketPath,
      logger: this.#logger.child({ side: "stub" }),
    });
    await this.#stub.start();
    await this.#stub.waitSynchronized(this.#ctx.timeoutMs);
    await runtime.waitForPlugin(this.#ctx.timeoutMs);
  }

  async runPod(pod: string, options: { uid?: string } = {}): Promise<void> {
    const p = this.#model.pod(pod, options.uid);
    if (p.phase !== "declared") throw new Error(`failed to run pod ${pod}: it is already ${p.phase}`);
    p.phase = "running";
    await this.#deliver("RUN_POD_SANDBOX", pod, this.#rt().runPodSandbox(p.nri));
  }

  async startContainer(pod: string, spec: ContainerSpec): Promise<void> {
    const p = this.#running(pod);
    const c = this.#script(this.#model.addContainer(p, spec));
    await this.#rt().createContainer(p.nri, c.nri);
    await this.#deliver("START_CONTAINER", `${pod}/${spec.name}`, this.#rt().startContainer(p.nri, c.nri));
  }

  async startContainerBeforePod(pod: string, spec: ContainerSpec): Promise<void> {
    const p = this.#model.pod(pod);
    const c = this.#script(this.#model.addContainer(p, spec));
    await this.#deliver("START_CONTAINER", `${pod}/${spec.name}`, this.#rt().startContainer(p.nri, c.nri));
  }

  async resendContainerStart(pod: string, container: string): Promise<void> {
    const p = this.#running(pod);
    const c = this.#model.container(pod, container);
    await this.#deliver("START_CONTAINER", `${pod}/${container}`, this.#rt().startContainer(p.nri, c.nri));
  }

  async resendPodStart(pod: string): Promise<void> {
    await this.#deliver("RUN_POD_SANDBOX", pod, this.#rt().runPodSandbox(this.#running(pod).nri));
  }

  async addEphemeralContainer(pod: string, spec: ContainerSpec): Promise<void> {
    // containerd runs a `kubectl debug` container like any other container of the sandbox.
    await this.startContainer(pod, spec);
  }

  async removeContainer(pod: string, container: string): Promise<void> {
    const p = this.#running(pod);
    const c = this.#model.container(pod, container);
    this.#model.removeContainer(c);
    await this.#deliver("REMOVE_CONTAINER", `${pod}/${container}`, this.#rt().removeContainer(p.nri, c.nri));
  }

  async removePod(pod: string): Promise<void> {
    const p = this.#running(pod);
    this.#model.removePod(p);
    for (const c of p.containers.values()) this.#rt().removeContainerState(c.nri.id);
    await this.#deliver("REMOVE_POD_SANDBOX", pod, this.#rt().removePodSandbox(p.nri));
  }

  async retryGroupCreation(pod: string): Promise<RetryOutcome> {
    const uid = this.#model.existingPod(pod).nri.uid;
    return this.#retry(async () => ({ ok: true, group: await this.#p().retryGroupCreation(uid) }));
  }

  async retryContainer(pod: string, container: string): Promise<RetryOutcome> {
    const id = this.#model.container(pod, container).nri.id;
    return this.#retry(async () => (await this.#p().retryContainerReconcile(id), { ok: true }));
  }

  async retryAllOnce(): Promise<RetryOutcome> {
    return this.#retry(async () => (await this.#p().retryAllOnce(), { ok: true }));
  }

  // ---- observe ---------------------------------------------------------------------------

  events(pod: string): readonly PodEvent[] {
    return this.#log.of(pod);
  }

  allEvents(): readonly PodEvent[] {
    return this.#log.all();
  }

  waitForEvent(pod: string, predicate: (e: PodEvent) => boolean, timeoutMs: number): Promise<PodEvent> {
    return this.#log.waitFor(pod, predicate, timeoutMs);
  }

  assertNoEventWithin(pod: string, ms: number): Promise<void> {
    return this.#log.assertQuiet(pod, ms);
  }

  async groupOf(pod: string): Promise<GroupObservation> {
    const reports = this.#log.of(pod).flatMap((e) => (e.kind === "AddOrUpdate" ? [e.group] : []));
    const path = reports.flatMap((g) => (g.kind === "Exists" ? [g.path] : [])).at(-1);
    const probe = path ?? this.#resctrl.groupPathFor(this.#model.existingPod(pod).nri.uid);
    return { reported: reports.at(-1), path, existsOnDisk: this.#fs.isDir(probe) };
  }

  async tasksOf(pod: string): Promise<number[]> {
    const g = await this.groupOf(pod);
    if (!g.path || !g.existsOnDisk) return [];
    return this.#fs.tasksOf(g.path).filter((t) => this.#model.alive(t));
  }

  async expectedTasksOf(pod: string): Promise<number[]> {
    return this.#model.liveTasksOf(pod);
  }

  async snapshot(): Promise<PodView[]> {
    return this.#snapshotNow();
  }

  #snapshotNow(): PodView[] {
    return this.#p()
      .snapshot()
      .map((s) => ({
        pod: this.#model.nameOfUid(s.podUid),
        group: s.groupState,
        total: s.totalContainers,
        reconciled: s.reconciledContainers,
      }));
  }

  async resctrlMounted(): Promise<boolean> {
    return (await this.#resctrl.detectSupport()).mounted;
  }

  async seededGroupExists(label: string): Promise<boolean> {
    const matching = this.#seeded.get(label);
    if (!matching)
      throw new Error(`failed to find seeded group ${JSON.stringify(label)}: the scenario never seeded it`);
    return this.#fs.isDir(matching);
  }

  async logLines(filter: { msgIncludes?: string } = {}): Promise<LogRecord[]> {
    const needle = filter.msgIncludes;
    return this.#records.filter((r) => needle === undefined || String(r.msg ?? "").includes(needle));
  }

  async groupCreationAttempts(): Promise<number> {
    return this.#audit.groupCreationAttempts(this.#startMark);
  }

  async groupCreationAttemptsDuringLastRetry(): Promise<number> {
    return this.#audit.groupCreationAttempts(...this.#lastRetry);
  }

  async taskWrites(): Promise<number[]> {
    return this.#audit.taskWrites(this.#startMark);
  }

  async pathsTouchedOutsideRoot(): Promise<string[]> {
    return this.#audit.touchedOutsideRoot(this.#startMark);
  }

  async groupsCreated(): Promise<string[]> {
    return this.#audit.created(this.#startMark);
  }

  resctrlRoot(): string {
    return MOCK_RESCTRL_ROOT;
  }

  // ---- consumer ---------------------------------------------------------------------------

  async stallConsumer(): Promise<void> {
    this.#consumer = new EventConsumer(this.#p(), (e) => this.#translate(e));
  }

  async droppedEvents(): Promise<number> {
    return this.#p().droppedEvents;
  }

  async resyncConsumer(): Promise<void> {
    this.#consumerOrFail().resync(() => this.#snapshotNow());
  }

  async consumerView(): Promise<PodView[]> {
    return this.#consumerOrFail().view();
  }

  // ---- internals ---------------------------------------------------------------------------

  readonly #seeded = new Map<string, string>();

  #seedPath(g: SeededGroup): string {
    const name = (label: string, owner: SeededGroup["owner"]): string =>
      (owner === "plugin" ? this.#ctx.groupPrefix : FOREIGN_GROUP_PREFIX) + label;
    let path: string;
    if (g.location.kind === "root") path = `${MOCK_RESCTRL_ROOT}/${name(g.label, g.owner)}`;
    else if (g.location.kind === "mon_groups")
      path = `${MOCK_RESCTRL_ROOT}/mon_groups/${name(g.label, g.owner)}`;
    else {
      const parent = this.#seeded.get(g.location.parent);
      if (!parent)
        throw new Error(`failed to seed group ${g.label}: unknown parent group ${g.location.parent}`);
      path = `${parent}/mon_groups/${name(g.label, g.owner)}`;
    }
    this.#seeded.set(g.label, path);
    return path;
  }

  #script(c: ContainerModel): ContainerModel {
    this.#pids.setFn(c.nri.id, () => this.#model.pidAnswer(c));
    return c;
  }

  #register(runtime: FakeRuntime, p: PodModel): void {
    runtime.addPod(p.nri);
    for (const c of p.containers.values()) if (!c.removed) runtime.addContainer(c.nri);
  }

  #translate(e: PodResctrlEvent): UnnumberedPodEvent {
    const pod = this.#model.nameOfUid(e.podUid);
    if (e.kind === "Removed") return { kind: "Removed", pod };
    return {
      kind: "AddOrUpdate",
      pod,
      group: { ...e.groupState },
      total: e.totalContainers,
      reconciled: e.reconciledContainers,
    };
  }

  async #retry(run: () => Promise<RetryOutcome>): Promise<RetryOutcome> {
    const from = this.#audit.mark();
    try {
      return await run();
    } catch (err) {
      return classifyRetryError(err);
    } finally {
      this.#lastRetry = [from, this.#audit.mark()];
    }
  }

  async #deliver(what: string, target: string, call: Promise<boolean>): Promise<void> {
    if (!(await call))
      throw new Error(`failed to deliver ${what} for ${target}: no plugin is registered for it`);
  }

  #running(pod: string): PodModel {
    const p = this.#model.existingPod(pod);
    if (p.phase !== "running") throw new Error(`failed to act on pod ${pod}: it is ${p.phase}, not running`);
    return p;
  }

  #rt(): FakeRuntime {
    if (!this.#runtime)
      throw new Error("failed to reach the runtime: start the plugin first (Given the plugin is running)");
    return this.#runtime;
  }

  #p(): ResctrlPlugin {
    if (!this.#plugin)
      throw new Error("failed to reach the plugin: it was not started (Given the plugin is running)");
    return this.#plugin;
  }

  #consumerOrFail(): EventConsumer {
    if (!this.#consumer)
      throw new Error(
        "failed to use the event consumer: none was attached (Given a consumer that does not read its events)",
      );
    return this.#consumer;
  }
}

/** Maps a retry's rejection to the scenario vocabulary. */
export function classifyRetryError(err: unknown): RetryOutcome {
  const name = err instanceof Error ? err.name : "Error";
  const message = err instanceof Error ? err.message : String(err);
  if (name === "CapacityError") return { ok: false, error: "capacity", message };
  if (name === "PodNotFoundError") return { ok: false, error: "pod-not-found", message };
  if (name === "ContainerNotFoundError") return { ok: false, error: "container-not-found", message };
  return { ok: false, error: "other", message };
}
