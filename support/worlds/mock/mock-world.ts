import type { Logger } from "pino";
import type { PodResctrlEvent, PodSnapshot } from "../../../src/plugin/events.js";
import { ResctrlPlugin } from "../../../src/plugin/plugin.js";
import { MockPidSource } from "../../../src/testing/mock-pid-source.js";
import type { UnnumberedPodEvent } from "../event-log.js";
import { EventLogWorld } from "../event-log-world.js";
import { auditedRetry } from "../shared/audited-retry.js";
import { EmulatedResctrl, EMULATED_RESCTRL_ROOT } from "../shared/emulated-resctrl.js";
import { EmulatedRdtClasses } from "../shared/emulated-rdt-classes.js";
import { EventConsumer } from "../shared/event-consumer.js";
import { DaemonServices } from "../shared/daemon-services.js";
import { memoryLogger } from "../shared/log-capture.js";
import { inProcessPluginConfig, mergeStartOptions } from "../shared/plugin-config.js";
import {
  scenarioEvent,
  scenarioPodView,
  snapshotContainerState,
  snapshotPodGroups,
} from "../shared/plugin-views.js";
import type {
  CapabilityPorts,
  ChosenPodUidsPort,
  ContainerSpec,
  ContainerStateView,
  EventBackpressurePort,
  FaultInjectionPort,
  FsAuditPort,
  GroupObservation,
  LateRuntimePort,
  LogRecord,
  MetricSample,
  MetricsEndpointPort,
  MountControlPort,
  PluginStartOptions,
  PodIdentity,
  PodGroupView,
  PodMetadataPort,
  PodPlacement,
  PodView,
  PodWorld,
  ProbeAnswer,
  RdtClassesPort,
  RemovalOrder,
  RemovalOrdersPort,
  RetryOutcome,
  RmidLimboPort,
  RuntimeRestartPort,
  ScenarioContext,
  ScriptedPidsPort,
  ScriptedRuntimePort,
  SeededGroup,
  TaskScript,
} from "../types.js";
import { LAST_APPLIED_ANNOTATION } from "../types.js";
import { NriContainerState } from "../../../src/nri/types.js";
import { parseNriGeneration, type NriGeneration } from "../../fakes/nri-generations.js";
import { ClusterModel, type ContainerModel, type PodModel } from "./cluster-model.js";
import { FakeRuntimeLink, type LinkOptions, type RuntimeState } from "./fake-runtime-link.js";

/**
 * The deterministic world: the real plugin in-process over the real NRI stub, connected through a
 * real unix socket (in the scenario's tmp dir) to `FakeRuntime` ({@link FakeRuntimeLink}); the
 * resctrl layer runs over MemFs ({@link EmulatedResctrl}: fault injection, call log) and tasks
 * come from a scripted `MockPidSource` fed by the {@link ClusterModel}. Around the plugin run what
 * the daemon runs around it ({@link DaemonServices}: the sweep loop, /metrics, /readyz on a real
 * loopback port). Nothing touches the host's resctrl or cgroups. Serves every capability port (all
 * but the real kernel and Kubernetes). One instance per scenario; `dispose()` stops the services,
 * stub, runtime and plugin.
 */
export class MockWorld
  extends EventLogWorld
  implements
    PodWorld,
    FaultInjectionPort,
    RmidLimboPort,
    ScriptedPidsPort,
    FsAuditPort,
    ScriptedRuntimePort,
    MountControlPort,
    EventBackpressurePort,
    RuntimeRestartPort,
    LateRuntimePort,
    ChosenPodUidsPort,
    MetricsEndpointPort,
    PodMetadataPort,
    RemovalOrdersPort,
    RdtClassesPort
{
  readonly name = "mock";
  readonly ports: Partial<CapabilityPorts> = {
    "fault-injection": this,
    "rmid-limbo": this,
    "scripted-pids": this,
    "fs-audit": this,
    "scripted-runtime": this,
    "mount-control": this,
    "event-backpressure": this,
    "runtime-restart": this,
    "late-runtime": this,
    "chosen-pod-uids": this,
    "metrics-endpoint": this,
    "pod-metadata": this,
    "removal-orders": this,
    "rdt-classes": this,
  };
  readonly #model = new ClusterModel();
  readonly #pids = new MockPidSource();
  /** Sandbox ids the fake runtime knew when it last restarted ("recovered" pods). */
  readonly #recovered = new Set<string>();
  #ctx!: ScenarioContext;
  /** The NRI generation the fake runtime speaks (world parameter `nri`, default v0.6). */
  #nri: NriGeneration = "v0.6";
  #kernel!: EmulatedResctrl;
  #classes!: EmulatedRdtClasses;
  /** `<pod>/<container>` → the RDT class its tasks are born in ({@link placeContainerInClass}). */
  readonly #placements = new Map<string, string>();
  #logger!: Logger;
  #records: LogRecord[] = [];
  #plugin: ResctrlPlugin | undefined;
  #link: FakeRuntimeLink | undefined;
  #consumer: EventConsumer | undefined;
  #startMark = 0;
  #lastRetry: [number, number] = [0, 0];
  /** Settings of the next plugin start ({@link configurePlugin}). */
  #settings: PluginStartOptions = {};
  #services: DaemonServices | undefined;

  async init(ctx: ScenarioContext): Promise<void> {
    this.#ctx = ctx;
    this.#nri = parseNriGeneration(ctx.parameters.nri ?? "v0.6");
    ({ logger: this.#logger, records: this.#records } = memoryLogger());
    this.#kernel = new EmulatedResctrl(ctx.groupPrefix, this.#logger, (tid) => this.#model.alive(tid));
    this.#classes = new EmulatedRdtClasses(this.#kernel);
  }

  async dispose(): Promise<void> {
    this.eventLog.close();
    this.#consumer?.close();
    await this.#services?.stop();
    await this.#link?.stop();
    await this.#plugin?.close().catch(() => undefined);
  }

  // ---- arrange ---------------------------------------------------------------------------

  async unmountResctrl(): Promise<void> {
    this.#kernel.fs.setMounted(false);
  }

  async seedGroup(g: SeededGroup): Promise<void> {
    await this.#kernel.seed(g);
  }

  async preexistingPod(
    pod: string,
    containers: readonly ContainerSpec[],
    options: { annotationBytes?: number } = {},
  ): Promise<void> {
    if (this.#plugin) throw new Error(`failed to add pre-existing pod ${pod}: the plugin already started`);
    const p = this.#model.pod(pod);
    p.phase = "running";
    const annotate = (a: Record<string, string>): void => {
      if (options.annotationBytes) a[LAST_APPLIED_ANNOTATION] = "x".repeat(options.annotationBytes);
    };
    annotate(p.nri.annotations);
    for (const spec of containers) {
      const c = this.#script(this.#model.addContainer(p, spec));
      annotate(c.nri.annotations);
      await this.#bornInClass(c);
    }
  }

  async injectCapacityExhaustion(): Promise<void> {
    await this.#kernel.exhaustRmids();
  }

  async freeCapacity(): Promise<void> {
    await this.#kernel.freeRmids();
  }

  async freeCapacityIntoLimbo(): Promise<void> {
    await this.#kernel.freeRmidsIntoLimbo();
  }

  async drainRmidLimbo(): Promise<void> {
    this.#kernel.drainRmidLimbo();
  }

  async scriptTasks(pod: string, container: string, script: TaskScript): Promise<void> {
    this.#model.setScript(pod, container, script);
  }

  // ---- act -------------------------------------------------------------------------------

  configurePlugin(settings: PluginStartOptions): void {
    if (this.#plugin) throw new Error("failed to configure the plugin: it already started");
    this.#settings = mergeStartOptions(this.#settings, settings);
  }

  async startPlugin(o: PluginStartOptions = {}): Promise<void> {
    this.#link = await FakeRuntimeLink.start(await this.#linkOptions(o));
  }

  async startPluginWithChunkedSync(podsPerChunk: number, o: PluginStartOptions = {}): Promise<void> {
    this.#link = await FakeRuntimeLink.start({
      ...(await this.#linkOptions(o)),
      syncChunkSize: podsPerChunk,
    });
  }

  async startPluginBeforeRuntime(o: PluginStartOptions = {}): Promise<void> {
    this.#link = await FakeRuntimeLink.startBeforeRuntime(await this.#linkOptions(o));
  }

  async startRuntime(): Promise<void> {
    await this.#h().startRuntime();
  }

  async startPluginWhileContainerExits(pod: string, container: string): Promise<void> {
    const p = this.#model.existingPod(pod);
    const c = this.#model.container(pod, container);
    // The process is gone, but the runtime has not processed the exit: its Synchronize still lists
    // the container RUNNING. NRI v0.8+ runtimes deliver the stop once the sync is done; containerd
    // 1.7 (v0.6) drops it, since it adds a plugin to its list only after the sync (seen on
    // 1.7.24: docs/containerd-world.md). A sync that lists it STOPPED is the resync case.
    this.#model.exitThreads(c);
    await this.startPlugin();
    if (this.#nri !== "v0.6") await this.#stop(p, c);
    else {
      this.#model.exitContainer(c);
      this.#h().runtime.addContainer(c.nri); // the runtime lists it STOPPED from now on, silently
    }
  }

  async restartRuntime(): Promise<void> {
    // containerd rebuilds its NRI view from its CRI stores: exited containers are not in it (never
    // listed, never REMOVE_CONTAINER'd later), and the pods it recovers get no pod-level events.
    for (const p of this.#model.pods.values())
      for (const c of this.#model.containersOf(p))
        if (c.exited) {
          c.forgottenByRuntime = true;
          this.#h().runtime.removeContainerState(c.nri.id);
        }
    await this.#h().restartRuntime();
    for (const pod of this.#h().runtime.pods()) this.#recovered.add(pod.id);
  }

  async runtimeSyncCount(): Promise<number> {
    return this.#h().syncs;
  }

  async runPod(pod: string): Promise<void> {
    await this.#runPod(pod);
  }

  async runPodWithUid(pod: string, uid: string): Promise<void> {
    await this.#runPod(pod, uid);
  }

  async runPodWith(pod: string, placement: PodPlacement): Promise<void> {
    await this.#runPod(pod, undefined, placement);
  }

  async #runPod(pod: string, uid?: string, placement?: PodPlacement): Promise<void> {
    if (this.#model.pods.has(pod) && placement)
      throw new Error(`failed to place pod ${pod}: the scenario already declared it`);
    const p = this.#model.pod(pod, uid, placement);
    if (p.phase !== "declared") throw new Error(`failed to run pod ${pod}: it is already ${p.phase}`);
    p.phase = "running";
    await this.#h().deliver("RUN_POD_SANDBOX", pod, this.#h().runtime.runPodSandbox(p.nri));
  }

  async startContainer(pod: string, spec: ContainerSpec): Promise<void> {
    const p = this.#running(pod);
    const c = this.#script(this.#model.addContainer(p, spec));
    await this.#bornInClass(c);
    const rt = this.#h().runtime;
    // The states and pids containerd puts in each request (support/fakes/traces/*.json):
    // CreateContainer UNKNOWN without a pid, POST_CREATE and START CREATED, POST_START RUNNING.
    const running = c.nri;
    const created = { ...running, state: NriContainerState.CREATED, pid: 0 };
    await rt.createContainer(p.nri, { ...created, state: NriContainerState.UNKNOWN });
    await rt.postCreateContainer(p.nri, created);
    const starting = { ...created, pid: running.pid };
    await this.#h().deliver("START_CONTAINER", `${pod}/${spec.name}`, rt.startContainer(p.nri, starting));
    rt.addContainer(running);
    await rt.postStartContainer(p.nri, running);
  }

  async exitContainer(pod: string, container: string, how: "crash" | "complete"): Promise<void> {
    // A crash and a completion differ only in the exit status, which NRI v0.6/v0.8 do not carry.
    void how;
    await this.#stop(this.#running(pod), this.#model.container(pod, container));
  }

  async restartContainer(pod: string, container: string): Promise<void> {
    const old = this.#model.container(pod, container);
    if (!old.exited || old.removed)
      throw new Error(`failed to restart container ${container} of pod ${pod}: it has not exited`);
    await this.startContainer(pod, { name: container, threads: old.tids.length });
  }

  async stopContainer(pod: string, container: string): Promise<void> {
    await this.#stop(this.#running(pod), this.#model.container(pod, container));
  }

  async runPodWithInitContainers(
    pod: string,
    inits: readonly string[],
    containers: readonly ContainerSpec[],
  ): Promise<void> {
    await this.runPod(pod);
    for (const init of inits) {
      await this.startContainer(pod, { name: init });
      await this.exitContainer(pod, init, "complete");
    }
    for (const spec of containers) await this.startContainer(pod, spec);
  }

  async startContainerBeforePod(pod: string, spec: ContainerSpec): Promise<void> {
    const p = this.#model.pod(pod);
    const c = this.#script(this.#model.addContainer(p, spec));
    await this.#bornInClass(c);
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
    // The kubelet stops a running container before it removes it; earlier attempts of the same
    // name go with it.
    const p = this.#running(pod);
    const c = this.#model.container(pod, container);
    if (!c.exited) await this.#stop(p, c);
    const all = this.#model.containersOf(p).filter((x) => x.name === container);
    for (const x of all) {
      if (x.forgottenByRuntime) {
        this.#model.removeContainer(x);
        continue;
      }
      this.#model.removeContainer(x);
      await this.#h().deliver(
        "REMOVE_CONTAINER",
        `${pod}/${container}`,
        this.#h().runtime.removeContainer(p.nri, x.nri),
      );
    }
  }

  async removePod(pod: string): Promise<void> {
    // The kubelet's order: stop every running container, stop the sandbox (its pause process and
    // cgroup go), remove every container (exited attempts too), remove the sandbox.
    const p = this.#running(pod);
    const rt = this.#h().runtime;
    const recovered = this.#recovered.delete(p.nri.id);
    for (const c of this.#model.containersOf(p)) if (!c.exited) await this.#stop(p, c);
    this.#pids.setSandboxGone(p.nri.id, true);
    // A pod containerd 1.7 recovered after a restart gets no pod-level events (docs/containerd-world.md).
    if (!recovered) await rt.stopPodSandbox(p.nri);
    const all = this.#model.containersOf(p).filter((c) => !c.forgottenByRuntime);
    this.#model.removePod(p);
    for (const c of all) {
      await this.#h().deliver("REMOVE_CONTAINER", `${pod}/${c.nri.name}`, rt.removeContainer(p.nri, c.nri));
    }
    if (recovered) {
      rt.removePodState(p.nri.id);
      return;
    }
    await this.#h().deliver("REMOVE_POD_SANDBOX", pod, rt.removePodSandbox(p.nri));
  }

  async removePodInOrder(pod: string, order: RemovalOrder): Promise<void> {
    if (order === "kubelet") return this.removePod(pod);
    // `crictl rm -f` per container (stop, then REMOVE_CONTAINER, while the sandbox still runs),
    // then `crictl rmp -f` (the sandbox stops and goes; pod-level events as in removePod).
    const p = this.#running(pod);
    const rt = this.#h().runtime;
    for (const c of this.#model.containersOf(p)) {
      if (!c.exited) await this.#stop(p, c);
      this.#model.removeContainer(c);
      if (c.forgottenByRuntime) continue;
      await this.#h().deliver("REMOVE_CONTAINER", `${pod}/${c.name}`, rt.removeContainer(p.nri, c.nri));
    }
    const recovered = this.#recovered.delete(p.nri.id);
    this.#pids.setSandboxGone(p.nri.id, true);
    this.#model.removePod(p);
    if (recovered) {
      rt.removePodState(p.nri.id);
      return;
    }
    await rt.stopPodSandbox(p.nri);
    await this.#h().deliver("REMOVE_POD_SANDBOX", pod, rt.removePodSandbox(p.nri));
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
    return EMULATED_RESCTRL_ROOT;
  }

  // ---- RDT classes (@rdt-classes) ----------------------------------------------------------

  async createRdtClass(name: string): Promise<void> {
    await this.#classes.create(name);
  }

  rdtClassPath(name: string): string {
    return this.#classes.pathOf(name);
  }

  /** Remembers the class for the container's later starts; a running container's threads move now. */
  async placeContainerInClass(pod: string, container: string, name: string): Promise<void> {
    this.#classes.pathOf(name);
    this.#placements.set(`${pod}/${container}`, name);
    const c = this.#model.pods.get(pod)?.containers.get(container);
    if (c && !c.removed && !c.exited) await this.#classes.moveTasks(name, c.tids);
  }

  async removeRdtClass(name: string): Promise<void> {
    await this.#classes.remove(name);
  }

  async seedGroupInClass(name: string, group: { label: string; owner: "plugin" | "other" }): Promise<void> {
    await this.#classes.seed(name, group);
  }

  async monitoringGroupsInClass(name: string): Promise<string[]> {
    return this.#classes.monitoringGroups(name);
  }

  async podGroups(pod: string): Promise<PodGroupView[]> {
    const s = this.#snapshotOf(pod);
    return this.#classes.views(snapshotPodGroups(s, EMULATED_RESCTRL_ROOT), (p) => this.#kernel.tasksOf(p));
  }

  async containerState(pod: string, container: string): Promise<ContainerStateView> {
    const id = this.#model.container(pod, container).nri.id;
    const view = snapshotContainerState(this.#snapshotOf(pod), id);
    if (!view) throw new Error(`failed to find container ${container} of pod ${pod} in the plugin's state`);
    return view;
  }

  async expectedTasksOfContainer(pod: string, container: string): Promise<number[]> {
    const c = this.#model.container(pod, container);
    if (c.removed || c.exited) return [];
    return c.tids.filter((t) => this.#model.alive(t)).sort((a, b) => a - b);
  }

  // ---- the HTTP endpoint (@metrics-endpoint) ------------------------------------------------

  async scrapeMetrics(): Promise<MetricSample[]> {
    return this.#svc().scrape(this.#ctx.timeoutMs);
  }

  async probe(path: "/readyz" | "/healthz"): Promise<ProbeAnswer> {
    return this.#svc().get(path, this.#ctx.timeoutMs);
  }

  async podIdentity(pod: string): Promise<PodIdentity> {
    const { uid, name, namespace } = this.#model.existingPod(pod).nri;
    return { uid, name, namespace };
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

  /** What the fake runtime reports in Synchronize: running pods and every container they hold (exited ones STOPPED). */
  readonly #runtimeState: RuntimeState = () => {
    const pods = [...this.#model.pods.values()].filter((p) => p.phase === "running");
    return {
      pods: pods.map((p) => p.nri),
      containers: pods.flatMap((p) => this.#model.containersOf(p).map((c) => c.nri)),
    };
  };

  async #linkOptions(given: PluginStartOptions): Promise<LinkOptions> {
    if (this.#plugin) throw new Error("failed to start the plugin: it already runs");
    const o = mergeStartOptions(this.#settings, given);
    const plugin = ResctrlPlugin.withPidSource(inProcessPluginConfig(o), this.#kernel.resctrl, this.#pids, {
      logger: this.#logger,
    });
    this.#plugin = plugin;
    plugin.onEvent((e) => this.eventLog.record(this.#translate(e)));
    this.#startMark = this.#kernel.audit.mark();
    const services = await DaemonServices.start({
      plugin,
      resctrl: this.#kernel.resctrl,
      retryIntervalMs: o.retryIntervalMs,
      logger: this.#logger,
    });
    this.#services = services;
    return {
      watchStub: (stub) => services.watch(stub),
      onRequest: services.onRequest,
      plugin,
      dir: this.#ctx.tmpDir,
      logger: this.#logger,
      timeoutMs: this.#ctx.timeoutMs,
      state: this.#runtimeState,
      nri: this.#nri,
    };
  }

  /**
   * The container's process is gone (the model's threads exit, its runtime view becomes STOPPED)
   * and the runtime reports it with StopContainer, whether or not the plugin subscribed to it
   * (the runtime's business is to send it; the plugin's to ask for it).
   */
  async #stop(p: PodModel, c: ContainerModel): Promise<void> {
    if (c.removed || c.exited)
      throw new Error(`failed to stop container ${c.name} of pod ${p.name}: it is not running`);
    const before = c.nri; // containerd's StopContainer carries the state before the stop (RUNNING)
    this.#model.exitContainer(c);
    const rt = this.#h().runtime;
    await rt.stopContainer(p.nri, before);
    rt.addContainer(c.nri); // from now on listed STOPPED
  }

  /**
   * What the fake runtime(s) sent so far, with scenario names: `Method EVENT container#attempt
   * STATE pid` lines, "(connection closed)" where a runtime restarted, and `Synchronize [...]`
   * with the containers it listed. For the conformance test against real containerd's traces.
   */
  sentLines(): string[] {
    const names = new Map<string, string>();
    for (const p of this.#model.pods.values()) {
      names.set(p.nri.id, p.name);
      for (const c of [...p.history, ...p.containers.values()])
        names.set(c.nri.id, `${p.name}/${c.name}#${c.attempt}`);
    }
    const state = (s: number | undefined): string =>
      s === undefined ? "" : (NriContainerState[s] ?? String(s));
    return this.#h()
      .journal()
      .map((r) => {
        if (r.method === "(connection closed)") return r.method;
        if (r.method === "Synchronize") {
          const listed = (r.sync?.containers ?? []).map((c) => `${names.get(c.id) ?? "?"} ${state(c.state)}`);
          return `Synchronize [${listed.sort().join(", ")}]`;
        }
        const c =
          r.containerId === undefined
            ? ""
            : ` ${names.get(r.containerId) ?? "?"} ${state(r.state)}${r.pid ? " pid" : ""}`;
        return `${r.method} ${r.event}${c || ` ${names.get(r.podId) ?? "?"}`}`;
      });
  }

  #snapshotNow(): PodView[] {
    return this.#p()
      .snapshot()
      .map((s) => scenarioPodView(s, (uid) => this.#model.nameOfUid(uid)));
  }

  /** The plugin's snapshot of a pod the scenario named; rejects if the plugin does not know it. */
  #snapshotOf(pod: string): PodSnapshot {
    const uid = this.#model.existingPod(pod).nri.uid;
    const s = this.#p()
      .snapshot()
      .find((x) => x.podUid === uid);
    if (!s) throw new Error(`failed to find pod ${pod} in the plugin's state`);
    return s;
  }

  /**
   * A new container whose class the scenario set ({@link placeContainerInClass}) starts in it: its
   * threads are written into the class's `tasks` before the runtime reports the container, as runc
   * does for a container with an RDT class.
   */
  async #bornInClass(c: ContainerModel): Promise<void> {
    const name = this.#placements.get(`${c.pod}/${c.name}`);
    if (name !== undefined && this.#classes.exists(name)) await this.#classes.moveTasks(name, c.tids);
  }

  #script(c: ContainerModel): ContainerModel {
    this.#pids.setFn(c.nri.id, () => this.#model.pidAnswer(c));
    this.#pids.setContainerGone(c.nri.id, () => c.processGone);
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

  #h(): FakeRuntimeLink {
    if (!this.#link)
      throw new Error("failed to reach the runtime: start the plugin first (Given the plugin is running)");
    return this.#link;
  }

  #p(): ResctrlPlugin {
    if (!this.#plugin)
      throw new Error("failed to reach the plugin: it was not started (Given the plugin is running)");
    return this.#plugin;
  }

  #svc(): DaemonServices {
    if (!this.#services)
      throw new Error(
        "failed to reach the plugin's HTTP endpoint: the plugin was not started (Given the plugin is running)",
      );
    return this.#services;
  }

  #consumerOrFail(): EventConsumer {
    if (this.#consumer) return this.#consumer;
    throw new Error(
      "failed to use the event consumer: none attached (Given a consumer that does not read its events)",
    );
  }
}
