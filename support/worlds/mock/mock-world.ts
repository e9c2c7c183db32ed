import type { Logger } from "pino";
import type { PodResctrlEvent } from "../../../src/plugin/events.js";
import { ResctrlPlugin } from "../../../src/plugin/plugin.js";
import { MockPidSource } from "../../../src/testing/mock-pid-source.js";
import type { UnnumberedPodEvent } from "../event-log.js";
import { EventLogWorld } from "../event-log-world.js";
import { scenarioEvent, scenarioPodView } from "../plugin-views.js";
import { auditedRetry } from "../retry-outcome.js";
import type {
  Capability,
  ContainerSpec,
  GroupObservation,
  LogRecord,
  PluginStartOptions,
  PodView,
  PodWorld,
  RetryOutcome,
  ScenarioContext,
  SeededGroup,
  TaskScript,
} from "../types.js";
import { ClusterModel, type ContainerModel, type PodModel } from "./cluster-model.js";
import { EventConsumer } from "./event-consumer.js";
import { memoryLogger } from "./memory-logger.js";
import { MOCK_RESCTRL_ROOT, MockKernel } from "./mock-kernel.js";
import { PluginHarness, type RuntimeState } from "./plugin-harness.js";

// Re-exported for the other worlds that reuse the mock world's pieces.
export { FOREIGN_GROUP_PREFIX, MOCK_RESCTRL_ROOT } from "./mock-kernel.js";
export { classifyRetryError } from "../retry-outcome.js";

const CAPABILITIES: ReadonlySet<Capability> = new Set<Capability>([
  "fault-injection",
  "scripted-pids",
  "fs-audit",
  "scripted-runtime",
  "mount-control",
  "event-backpressure",
  "runtime-restart",
  "chosen-pod-uids",
]);

/**
 * The deterministic world: the real plugin in-process over the real NRI stub, connected through a
 * real unix socket (in the scenario's tmp dir) to `FakeRuntime` ({@link PluginHarness}); the
 * resctrl layer runs over MemFs ({@link MockKernel}: fault injection, call log) and tasks come
 * from a scripted `MockPidSource` fed by the {@link ClusterModel}. Nothing touches the host's
 * resctrl or cgroups. One instance per scenario; `dispose()` stops the stub, runtime and plugin.
 */
export class MockWorld extends EventLogWorld implements PodWorld {
  readonly name = "mock";
  readonly #model = new ClusterModel();
  readonly #pids = new MockPidSource();
  /** Sandbox ids the fake runtime knew when it last restarted ("recovered" pods). */
  readonly #recovered = new Set<string>();
  #ctx!: ScenarioContext;
  #kernel!: MockKernel;
  #logger!: Logger;
  #records: LogRecord[] = [];
  #plugin: ResctrlPlugin | undefined;
  #harness: PluginHarness | undefined;
  #consumer: EventConsumer | undefined;
  #startMark = 0;
  #lastRetry: [number, number] = [0, 0];

  capabilities(): ReadonlySet<Capability> {
    return CAPABILITIES;
  }

  async init(ctx: ScenarioContext): Promise<void> {
    this.#ctx = ctx;
    ({ logger: this.#logger, records: this.#records } = memoryLogger());
    this.#kernel = new MockKernel(ctx.groupPrefix, this.#logger, (tid) => this.#model.alive(tid));
  }

  async dispose(): Promise<void> {
    this.eventLog.close();
    this.#consumer?.close();
    await this.#harness?.stop();
    await this.#plugin?.close().catch(() => undefined);
  }

  // ---- arrange ---------------------------------------------------------------------------

  async unmountResctrl(): Promise<void> {
    this.#kernel.fs.setMounted(false);
  }

  async seedGroup(g: SeededGroup): Promise<void> {
    await this.#kernel.seed(g);
  }

  async preexistingPod(pod: string, containers: readonly ContainerSpec[]): Promise<void> {
    if (this.#plugin) throw new Error(`failed to add pre-existing pod ${pod}: the plugin already started`);
    const p = this.#model.pod(pod);
    p.phase = "running";
    for (const spec of containers) this.#script(this.#model.addContainer(p, spec));
  }

  async injectCapacityExhaustion(): Promise<void> {
    this.#kernel.fs.failMkdirWithEnospc(true);
  }

  async freeCapacity(): Promise<void> {
    this.#kernel.fs.failMkdirWithEnospc(false);
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
    const plugin = ResctrlPlugin.withPidSource(cfg, this.#kernel.resctrl, this.#pids, {
      logger: this.#logger,
    });
    this.#plugin = plugin;
    plugin.onEvent((e) => this.eventLog.record(this.#translate(e)));
    this.#startMark = this.#kernel.audit.mark();
    this.#harness = await PluginHarness.start({
      plugin,
      dir: this.#ctx.tmpDir,
      logger: this.#logger,
      timeoutMs: this.#ctx.timeoutMs,
      state: this.#runtimeState,
      syncChunkSize: o.syncChunkSize,
    });
  }

  async restartRuntime(): Promise<void> {
    await this.#h().restartRuntime();
    for (const pod of this.#h().runtime.pods()) this.#recovered.add(pod.id);
  }

  async runtimeSyncCount(): Promise<number> {
    return this.#h().syncs;
  }

  async runPod(pod: string, options: { uid?: string } = {}): Promise<void> {
    const p = this.#model.pod(pod, options.uid);
    if (p.phase !== "declared") throw new Error(`failed to run pod ${pod}: it is already ${p.phase}`);
    p.phase = "running";
    await this.#h().deliver("RUN_POD_SANDBOX", pod, this.#h().runtime.runPodSandbox(p.nri));
  }

  async startContainer(pod: string, spec: ContainerSpec): Promise<void> {
    const p = this.#running(pod);
    const c = this.#script(this.#model.addContainer(p, spec));
    await this.#h().runtime.createContainer(p.nri, c.nri);
    await this.#h().deliver(
      "START_CONTAINER",
      `${pod}/${spec.name}`,
      this.#h().runtime.startContainer(p.nri, c.nri),
    );
  }

  async startContainerBeforePod(pod: string, spec: ContainerSpec): Promise<void> {
    const p = this.#model.pod(pod);
    const c = this.#script(this.#model.addContainer(p, spec));
    await this.#h().deliver(
      "START_CONTAINER",
      `${pod}/${spec.name}`,
      this.#h().runtime.startContainer(p.nri, c.nri),
    );
  }

  async resendContainerStart(pod: string, container: string): Promise<void> {
    const p = this.#running(pod);
    const c = this.#model.container(pod, container);
    await this.#h().deliver(
      "START_CONTAINER",
      `${pod}/${container}`,
      this.#h().runtime.startContainer(p.nri, c.nri),
    );
  }

  async resendPodStart(pod: string): Promise<void> {
    await this.#h().deliver("RUN_POD_SANDBOX", pod, this.#h().runtime.runPodSandbox(this.#running(pod).nri));
  }

  async addEphemeralContainer(pod: string, spec: ContainerSpec): Promise<void> {
    // containerd creates and starts a `kubectl debug` container like any other container of the sandbox.
    await this.startContainer(pod, spec);
  }

  async removeContainer(pod: string, container: string): Promise<void> {
    const p = this.#running(pod);
    const c = this.#model.container(pod, container);
    this.#model.removeContainer(c);
    await this.#h().deliver(
      "REMOVE_CONTAINER",
      `${pod}/${container}`,
      this.#h().runtime.removeContainer(p.nri, c.nri),
    );
  }

  async removePod(pod: string): Promise<void> {
    const p = this.#running(pod);
    const live = [...p.containers.values()].filter((c) => !c.removed);
    this.#model.removePod(p);
    this.#pids.setSandboxGone(p.nri.id, true);
    if (this.#recovered.delete(p.nri.id)) {
      // As containerd 1.7 does for a pod it recovered after a restart: REMOVE_CONTAINER for each
      // container, but no REMOVE_POD_SANDBOX (docs/containerd-world.md).
      for (const c of live) {
        await this.#h().deliver(
          "REMOVE_CONTAINER",
          `${pod}/${c.nri.name}`,
          this.#h().runtime.removeContainer(p.nri, c.nri),
        );
      }
      this.#h().runtime.removePodState(p.nri.id);
      return;
    }
    for (const c of live) this.#h().runtime.removeContainerState(c.nri.id);
    await this.#h().deliver("REMOVE_POD_SANDBOX", pod, this.#h().runtime.removePodSandbox(p.nri));
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

  async groupOf(pod: string): Promise<GroupObservation> {
    const { reported, path } = this.eventLog.lastGroupReport(pod);
    const probe = path ?? this.#kernel.resctrl.groupPathFor(this.#model.existingPod(pod).nri.uid);
    return { reported, path, existsOnDisk: this.#kernel.fs.isDir(probe) };
  }

  async tasksOf(pod: string): Promise<number[]> {
    const { path } = await this.groupOf(pod);
    return path ? this.#kernel.tasksOf(path) : [];
  }

  async expectedTasksOf(pod: string): Promise<number[]> {
    return this.#model.liveTasksOf(pod);
  }

  async snapshot(): Promise<PodView[]> {
    return this.#snapshotNow();
  }

  async resctrlMounted(): Promise<boolean> {
    return (await this.#kernel.resctrl.detectSupport()).mounted;
  }

  async seededGroupExists(label: string): Promise<boolean> {
    return this.#kernel.seededExists(label);
  }

  async logLines(filter: { msgIncludes?: string } = {}): Promise<LogRecord[]> {
    const needle = filter.msgIncludes;
    return this.#records.filter((r) => needle === undefined || String(r.msg ?? "").includes(needle));
  }

  async groupCreationAttempts(): Promise<number> {
    return this.#kernel.audit.groupCreationAttempts(this.#startMark);
  }

  async groupCreationAttemptsDuringLastRetry(): Promise<number> {
    return this.#kernel.audit.groupCreationAttempts(...this.#lastRetry);
  }

  async taskWrites(): Promise<number[]> {
    return this.#kernel.audit.taskWrites(this.#startMark);
  }

  async pathsTouchedOutsideRoot(): Promise<string[]> {
    return this.#kernel.audit.touchedOutsideRoot(this.#startMark);
  }

  async groupsCreated(): Promise<string[]> {
    return this.#kernel.audit.created(this.#startMark);
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

  /** What the fake runtime reports in Synchronize: running pods and their live containers. */
  readonly #runtimeState: RuntimeState = () => {
    const pods = [...this.#model.pods.values()].filter((p) => p.phase === "running");
    return {
      pods: pods.map((p) => p.nri),
      containers: pods.flatMap((p) => [...p.containers.values()].filter((c) => !c.removed).map((c) => c.nri)),
    };
  };

  #snapshotNow(): PodView[] {
    return this.#p()
      .snapshot()
      .map((s) => scenarioPodView(s, (uid) => this.#model.nameOfUid(uid)));
  }

  #script(c: ContainerModel): ContainerModel {
    this.#pids.setFn(c.nri.id, () => this.#model.pidAnswer(c));
    return c;
  }

  #translate(e: PodResctrlEvent): UnnumberedPodEvent {
    return scenarioEvent(e, (uid) => this.#model.nameOfUid(uid));
  }

  #retry(run: () => Promise<RetryOutcome>): Promise<RetryOutcome> {
    return auditedRetry(this.#kernel.audit, run, (span) => (this.#lastRetry = span));
  }

  #running(pod: string): PodModel {
    const p = this.#model.existingPod(pod);
    if (p.phase !== "running") throw new Error(`failed to act on pod ${pod}: it is ${p.phase}, not running`);
    return p;
  }

  #h(): PluginHarness {
    if (!this.#harness)
      throw new Error("failed to reach the runtime: start the plugin first (Given the plugin is running)");
    return this.#harness;
  }

  #p(): ResctrlPlugin {
    if (!this.#plugin)
      throw new Error("failed to reach the plugin: it was not started (Given the plugin is running)");
    return this.#plugin;
  }

  #consumerOrFail(): EventConsumer {
    if (this.#consumer) return this.#consumer;
    throw new Error(
      "failed to use the event consumer: none attached (Given a consumer that does not read its events)",
    );
  }
}
