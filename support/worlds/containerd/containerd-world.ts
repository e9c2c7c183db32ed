import { pino } from "pino";
import type { PodResctrlEvent } from "../../../src/plugin/events.js";
import { CriClient } from "../../containerd/cri-client.js";
import type { LocalContainerd } from "../../containerd/local-containerd.js";
import type { UnnumberedPodEvent } from "../event-log.js";
import { EventLogWorld } from "../event-log-world.js";
import { EMULATED_RESCTRL_ROOT } from "../shared/emulated-resctrl.js";
import { mergeStartOptions } from "../shared/plugin-config.js";
import {
  scenarioEvent,
  scenarioPodView,
  snapshotContainerState,
  snapshotPodGroups,
} from "../shared/plugin-views.js";
import {
  LAST_APPLIED_ANNOTATION,
  type CapabilityPorts,
  type ChosenPodUidsPort,
  type ContainerSpec,
  type ContainerStateView,
  type EventBackpressurePort,
  type FaultInjectionPort,
  type FsAuditPort,
  type GroupObservation,
  type LateRuntimePort,
  type LogRecord,
  type MetricSample,
  type MetricsEndpointPort,
  type MountControlPort,
  type PluginStartOptions,
  type PodGroupView,
  type PodIdentity,
  type PodMetadataPort,
  type PodPlacement,
  type PodView,
  type PodWorld,
  type ProbeAnswer,
  type RdtClassesPort,
  type RemovalOrder,
  type RemovalOrdersPort,
  type RetryOutcome,
  type RmidLimboPort,
  type RuntimeRestartPort,
  type ScenarioContext,
  type SeededGroup,
} from "../types.js";
import { bootTicksNow } from "./clone-inheritance.js";
import { CREATE_CONTAINER_TIMEOUT_MS, CriPods, EXIT_SIGNAL, threadAlive } from "./cri-pods.js";
import { DaemonMode } from "./daemon-mode.js";
import { InProcessMode } from "./inproc-mode.js";
import type { ModeStartOptions, PluginMode } from "./plugin-mode.js";
import { sharedContainerd, stopContainerdDaemon } from "./shared-containerd.js";

/**
 * Tags whose scenarios run the plugin in-process (they need MemFs's switches, its audit log, its
 * RDT classes or an in-process consumer): the daemon's in-memory resctrl cannot be reached from
 * outside its process, so these capabilities exist in this world only in-process.
 */
export const IN_PROCESS_TAGS: readonly string[] = [
  "@fault-injection",
  "@fs-audit",
  "@mount-control",
  "@event-backpressure",
  "@rmid-limbo",
  "@rdt-classes",
];
/**
 * The Debian suite whose containerd the profile asks for (`worldParameters.suite`, set from
 * NRI_CONTAINERD_SUITE by cucumber.js), or undefined (setup.sh's default, trixie). Pure.
 */
export function suiteOf(parameters: Readonly<Record<string, unknown>> | undefined): string | undefined {
  const s = parameters?.["suite"];
  return typeof s === "string" && s !== "" ? s : undefined;
}

/**
 * The note every scenario's plugin log starts with; `runtimeVersion` is what CRI Version answers
 * (`1.7.24~ds1` on Debian trixie, `2.1.9+unknown` on forky: NRI_CONTAINERD_SUITE). Pure.
 */
export function emulationNote(runtimeVersion: string): string {
  return `containerd world: real containerd ${runtimeVersion}, NRI, CRI pods, cgroups and threads; resctrl is EMULATED (in-memory model) because this VM's kernel has no resctrl`;
}

/** Poll interval while waiting for the plugin to be synchronized again after a runtime restart. */
export const RESYNC_POLL_MS = 20;

/**
 * The containerd world: a real containerd (shared by the run), pods and containers made through
 * CRI, the real cgroup PID source reading real threads, and the plugin under test either as the
 * real daemon binary (default) or in-process (see {@link IN_PROCESS_TAGS}, seeded groups, an
 * unmounted resctrl or an event queue size, all of which need the in-process MemFs). resctrl is
 * modelled in memory in both modes. It serves no @scripted-pids (a real kernel's threads cannot be
 * scripted) and no @scripted-runtime (containerd decides what it sends). One instance per
 * scenario; `dispose()` stops the plugin and removes every pod the scenario created.
 */
export class ContainerdWorld
  extends EventLogWorld
  implements
    PodWorld,
    FaultInjectionPort,
    RmidLimboPort,
    FsAuditPort,
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
  readonly name = "containerd";
  readonly ports: Partial<CapabilityPorts> = {
    "fault-injection": this,
    "rmid-limbo": this,
    "fs-audit": this,
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
  #ctx!: ScenarioContext;
  #ctrd!: LocalContainerd;
  #cri: CriClient | undefined;
  #pods!: CriPods;
  #inproc: InProcessMode | undefined;
  #mode: PluginMode | undefined;
  #started = false;
  /** The world stopped the containerd daemon (late-runtime) and has not started it again. */
  #runtimeDown = false;
  /** Clock ticks since boot when the plugin was started. */
  #pluginStartTicks = 0;
  /** Settings of the next plugin start ({@link configurePlugin}). */
  #settings: PluginStartOptions = {};
  readonly #note: LogRecord[] = [];

  async init(ctx: ScenarioContext): Promise<void> {
    this.#ctx = ctx;
    this.#ctrd = await sharedContainerd(pino({ level: "silent" }), suiteOf(ctx.parameters));
    this.#cri = new CriClient({
      socketPath: this.#ctrd.criSocket,
      callTimeoutMs: CREATE_CONTAINER_TIMEOUT_MS,
    });
    this.#pods = new CriPods(this.#cri, `scn-${ctx.id}`.toLowerCase().replace(/[^a-z0-9-]/g, "-"));
    if ((ctx.tags ?? []).some((t) => IN_PROCESS_TAGS.includes(t))) this.#inProcess("the scenario's tags");
    const { runtimeVersion } = await this.#cri.version();
    this.#note.push({
      level: 30,
      msg: emulationNote(runtimeVersion),
      runtimeVersion,
      suite: this.#ctrd.suite,
      containerdDir: this.#ctrd.dir,
      containerdLog: this.#ctrd.logPath,
    });
  }

  async dispose(): Promise<void> {
    this.eventLog.close();
    await this.#mode?.stop().catch(() => undefined);
    // A scenario that stopped containerd and failed before starting it: later scenarios need it.
    if (this.#runtimeDown)
      await this.startRuntime().catch((err: unknown) =>
        console.warn(`[containerd world] ${this.#ctx.id}: failed to start containerd again: ${String(err)}`),
      );
    const failures = this.#pods ? await this.#pods.removeAll() : [];
    this.#cri?.close();
    const left = this.#pods?.leftoverPodCgroups() ?? [];
    if (failures.length || left.length)
      console.warn(
        `[containerd world] ${this.#ctx.id}: cleanup failures ${JSON.stringify(failures)}, pod cgroups left ${JSON.stringify(left)}`,
      );
  }

  // ---- arrange ---------------------------------------------------------------------------

  async unmountResctrl(): Promise<void> {
    this.#inProcess("unmountResctrl").kernel.fs.setMounted(false);
  }

  async seedGroup(g: SeededGroup): Promise<void> {
    await this.#inProcess("seedGroup").kernel.seed(g);
  }

  /**
   * RunPodSandbox and its containers before the plugin starts. `annotationBytes`: the pod and each
   * container carry a kubectl last-applied annotation of that size (CRI annotations, which
   * containerd passes on in NRI's Synchronize), as the mock world does.
   */
  async preexistingPod(
    pod: string,
    containers: readonly ContainerSpec[],
    options: { annotationBytes?: number } = {},
  ): Promise<void> {
    if (this.#started) throw new Error(`failed to add pre-existing pod ${pod}: the plugin already started`);
    const annotations = options.annotationBytes
      ? { [LAST_APPLIED_ANNOTATION]: "x".repeat(options.annotationBytes) }
      : undefined;
    await this.#pods.runPod(pod, undefined, annotations);
    for (const c of containers) await this.#pods.startContainer(pod, c, annotations);
  }

  /**
   * RMIDs run out as on a kernel: the in-process MemFs gets a limit of what is in use plus one and
   * a helper group (another tenant's prefix) takes the last RMID, so a group mkdir answers ENOSPC
   * — or EBUSY once freed RMIDs wait in limbo ({@link freeCapacityIntoLimbo}).
   */
  async injectCapacityExhaustion(): Promise<void> {
    await this.#inProcess("injectCapacityExhaustion").kernel.exhaustRmids();
  }

  /** The helper groups are removed, their RMIDs drained from limbo, and the limit lifted. */
  async freeCapacity(): Promise<void> {
    await this.#inProcess("freeCapacity").kernel.freeRmids();
  }

  /** The helper groups are removed; their RMIDs wait in limbo (mkdir: EBUSY) until {@link drainRmidLimbo}. */
  async freeCapacityIntoLimbo(): Promise<void> {
    await this.#inProcess("freeCapacityIntoLimbo").kernel.freeRmidsIntoLimbo();
  }

  async drainRmidLimbo(): Promise<void> {
    this.#inProcess("drainRmidLimbo").kernel.drainRmidLimbo();
  }

  // ---- act -------------------------------------------------------------------------------

  configurePlugin(settings: PluginStartOptions): void {
    if (this.#started) throw new Error("failed to configure the plugin: it already started");
    this.#settings = mergeStartOptions(this.#settings, settings);
  }

  async startPlugin(o: PluginStartOptions = {}): Promise<void> {
    await this.#startPlugin(o, {});
  }

  /**
   * Stops the containerd daemon (pods and shims keep running, its NRI socket is gone), then
   * starts the plugin; resolves once the plugin logged that it waits for the runtime.
   */
  async startPluginBeforeRuntime(o: PluginStartOptions = {}): Promise<void> {
    if (this.#started) throw new Error("failed to start the plugin: it already runs");
    if (this.#runtimeDown) throw new Error("failed to stop the runtime: it is already down");
    await stopContainerdDaemon(this.#ctrd);
    this.#runtimeDown = true;
    this.#note.push({
      level: 30,
      msg: "containerd world: containerd daemon stopped (pods and shims keep running)",
    });
    await this.#startPlugin(o, { until: "waiting-for-runtime" });
  }

  /** Starts the containerd daemon the world stopped, on the same state; resolves once CRI answers. */
  async startRuntime(): Promise<void> {
    if (!this.#runtimeDown) throw new Error("failed to start the runtime: it was not stopped");
    await this.#ctrd.restart(); // nothing to stop: it launches the daemon on the same state
    this.#runtimeDown = false;
    this.#note.push({ level: 30, msg: "containerd world: containerd daemon started again" });
    await this.#cri?.version();
  }

  /**
   * The container's process exits by itself (completes) right before the plugin can first reach
   * the runtime's NRI socket, so containerd processes the exit while the plugin connects,
   * registers and is synchronized (which of the two comes first is a real race). Resolves once
   * the plugin was synchronized and CRI reports the container exited (the stop delivered).
   */
  async startPluginWhileContainerExits(pod: string, container: string): Promise<void> {
    const c = this.#pods.live(pod, container);
    const pid = await this.#cri!.containerPid(c.id);
    await this.#startPlugin({}, { beforeConnect: () => process.kill(pid, EXIT_SIGNAL.complete) });
    await this.#pods.awaitExit(pod, container, "complete", this.#ctx.timeoutMs);
  }

  async #startPlugin(
    given: PluginStartOptions,
    how: Pick<ModeStartOptions, "until" | "beforeConnect">,
  ): Promise<void> {
    if (this.#started) throw new Error("failed to start the plugin: it already runs");
    const o = mergeStartOptions(this.#settings, given);
    if (o.eventQueueCapacity !== undefined) this.#inProcess("an event queue size");
    this.#started = true;
    this.#pluginStartTicks = await bootTicksNow();
    const sink = (e: PodResctrlEvent): void => void this.eventLog.record(this.#translate(e));
    this.#mode = this.#inproc ?? new DaemonMode(this.#ctx.tmpDir, sink);
    this.#note.push({
      level: 30,
      msg: `containerd world: plugin runs ${this.#mode.mode === "daemon" ? "as the real daemon (child process, --resctrl-provider memory)" : "in-process (MemFs resctrl)"}`,
    });
    await this.#mode.start({
      ...o,
      namespaces: o.namespaces?.map((n) => this.#namespace(n)),
      excludeNamespaces: o.excludeNamespaces?.map((n) => this.#namespace(n)),
      ...how,
      nriSocket: this.#ctrd.nriSocket,
      groupPrefix: this.#ctx.groupPrefix,
      timeoutMs: this.#ctx.timeoutMs,
    });
  }

  async runPod(pod: string): Promise<void> {
    await this.#pods.runPod(pod);
  }

  async runPodWithUid(pod: string, uid: string): Promise<void> {
    await this.#pods.runPod(pod, uid);
  }

  /** RunPodSandbox in the world's namespace for the scenario's one ({@link #namespace}), with the labels. */
  async runPodWith(pod: string, placement: PodPlacement): Promise<void> {
    await this.#pods.runPod(pod, undefined, undefined, {
      namespace: placement.namespace === undefined ? undefined : this.#namespace(placement.namespace),
      labels: placement.labels,
    });
  }

  async startContainer(pod: string, container: ContainerSpec): Promise<void> {
    await this.#pods.startContainer(pod, container);
  }

  async addEphemeralContainer(pod: string, container: ContainerSpec): Promise<void> {
    // What the kubelet does for `kubectl debug`: CreateContainer + StartContainer in the running sandbox.
    await this.#pods.startContainer(pod, container);
  }

  async exitContainer(pod: string, container: string, how: "crash" | "complete"): Promise<void> {
    await this.#pods.exitContainer(pod, container, how, this.#ctx.timeoutMs);
  }

  async restartContainer(pod: string, container: string): Promise<void> {
    await this.#pods.restartContainer(pod, container);
  }

  async stopContainer(pod: string, container: string): Promise<void> {
    await this.#pods.stopContainer(pod, container, this.#ctx.timeoutMs);
  }

  /** RunPodSandbox, each init container run to completion (exit 0, kept), then the containers. */
  async runPodWithInitContainers(
    pod: string,
    inits: readonly string[],
    containers: readonly ContainerSpec[],
  ): Promise<void> {
    await this.#pods.runPod(pod);
    for (const i of inits) await this.#pods.runInitContainer(pod, i, this.#ctx.timeoutMs);
    for (const c of containers) await this.#pods.startContainer(pod, c);
  }

  async removeContainer(pod: string, container: string): Promise<void> {
    await this.#pods.removeContainer(pod, container);
  }

  async removePod(pod: string): Promise<void> {
    await this.#pods.removePod(pod);
  }

  /** Through CRI, in that order (see cri-pods.ts `removePodKubeletOrder`, `removePodContainersFirst`). */
  async removePodInOrder(pod: string, order: RemovalOrder): Promise<void> {
    if (order === "kubelet") await this.#pods.removePodKubeletOrder(pod, this.#ctx.timeoutMs);
    else await this.#pods.removePodContainersFirst(pod);
  }

  retryGroupCreation(pod: string): Promise<RetryOutcome> {
    return this.#d().retryGroupCreation(this.#pods.existing(pod).uid);
  }

  retryContainer(pod: string, container: string): Promise<RetryOutcome> {
    return this.#d().retryContainer(this.#pods.container(pod, container).id);
  }

  retryAllOnce(): Promise<RetryOutcome> {
    return this.#d().retryAllOnce();
  }

  /**
   * Restarts the shared containerd (pods and shims keep running); resolves once CRI answers again
   * and, if the plugin runs, once containerd synchronized it again (as the mock world's restart
   * does). Without that wait a pod the scenario starts next could be created while the plugin
   * re-registers, and containerd 1.7.24 may then drop its RUN_POD_SANDBOX (the plugin-sync race
   * fixed in containerd 2.0.3; see docs/containerd-world.md).
   */
  async restartRuntime(): Promise<void> {
    const mode = this.#mode;
    const before = mode?.syncCount() ?? 0;
    await this.#ctrd.restart();
    await this.#cri?.version();
    if (!mode) return;
    const deadline = Date.now() + this.#ctx.timeoutMs;
    while (mode.syncCount() <= before) {
      if (Date.now() > deadline)
        throw new Error(
          `failed to restart the runtime: containerd did not synchronize the plugin again within ${this.#ctx.timeoutMs} ms (syncs: ${mode.syncCount()})`,
        );
      await new Promise((r) => setTimeout(r, RESYNC_POLL_MS));
    }
  }

  async runtimeSyncCount(): Promise<number> {
    return this.#d().syncCount();
  }

  // ---- observe ---------------------------------------------------------------------------

  async groupOf(pod: string): Promise<GroupObservation> {
    const { reported, path } = this.eventLog.lastGroupReport(pod);
    const probe = path ?? this.#inproc?.kernel.resctrl.groupPathFor(this.#pods.existing(pod).uid);
    return {
      reported,
      path,
      existsOnDisk: probe !== undefined && (await this.#d().groupExists(probe)),
    };
  }

  /**
   * The group's tasks as a kernel would show them: the live tasks the resctrl model lists, plus
   * the container tasks created after their creator was moved (clone inheritance, which the
   * in-memory model does not implement; see clone-inheritance.ts).
   */
  async tasksOf(pod: string): Promise<number[]> {
    const g = await this.groupOf(pod);
    if (!g.path || !g.existsOnDisk) return [];
    const uid = this.#pods.existing(pod).uid;
    const listed = this.#inproc
      ? this.#inproc.kernel.fs.tasksOf(g.path)
      : ((await this.#d().state()).find((p) => p.podUid === uid)?.tasks ?? []);
    return this.#asKernelShows(pod, listed);
  }

  /**
   * The tasks a kernel would show in a group of the pod whose tasks file the model lists as
   * `listed`: the model keeps exited threads listed (a kernel drops them), so only live ones count;
   * and threads the pod's containers created after their creator was moved are members (clone
   * inheritance, see clone-inheritance.ts). Ascending.
   */
  async #asKernelShows(pod: string, listed: readonly number[]): Promise<number[]> {
    const live = new Set(listed.filter(threadAlive));
    const inherited = await this.#pods.kernelMembersOf(pod, live, this.#pluginStartTicks);
    return [...new Set([...live, ...inherited])].sort((a, b) => a - b);
  }

  expectedTasksOf(pod: string): Promise<number[]> {
    return this.#pods.liveThreadsOf(pod);
  }

  async snapshot(): Promise<PodView[]> {
    const views = (await this.#d().state()).map((s) => ({
      pod: this.#pods.nameOfUid(s.podUid),
      group: s.group,
      total: s.total,
      reconciled: s.reconciled,
    }));
    return views.filter((v) => !v.pod.startsWith("uid:"));
  }

  async resctrlMounted(): Promise<boolean> {
    return (await this.#inProcess("resctrlMounted").kernel.resctrl.detectSupport()).mounted;
  }

  async seededGroupExists(label: string): Promise<boolean> {
    return this.#inProcess("seededGroupExists").kernel.seededExists(label);
  }

  async logLines(filter: { msgIncludes?: string } = {}): Promise<LogRecord[]> {
    const all = [...this.#note, ...(this.#mode?.logLines() ?? [])];
    return all.filter(
      (r) => filter.msgIncludes === undefined || String(r.msg ?? "").includes(filter.msgIncludes),
    );
  }

  async groupCreationAttempts(): Promise<number> {
    const p = this.#audited();
    return p.kernel.audit.groupCreationAttempts(p.startMark);
  }

  async groupCreationAttemptsDuringLastRetry(): Promise<number> {
    const p = this.#audited();
    return p.kernel.audit.groupCreationAttempts(...p.lastRetry);
  }

  async taskWrites(): Promise<number[]> {
    const p = this.#audited();
    return p.kernel.audit.taskWrites(p.startMark);
  }

  async pathsTouchedOutsideRoot(): Promise<string[]> {
    const p = this.#audited();
    return p.kernel.audit.touchedOutsideRoot(p.startMark);
  }

  async groupsCreated(): Promise<string[]> {
    const p = this.#audited();
    return p.kernel.audit.created(p.startMark);
  }

  resctrlRoot(): string {
    return EMULATED_RESCTRL_ROOT;
  }

  // ---- RDT classes (@rdt-classes, in-process only) -------------------------------------------

  async createRdtClass(name: string): Promise<void> {
    await this.#classes().create(name);
  }

  rdtClassPath(name: string): string {
    return this.#classes().pathOf(name);
  }

  /**
   * The container's tasks are born in the class: the in-process plugin's PID source writes every
   * task of it into the class before the plugin sees it (as the kernel places a task forked in the
   * class; runc put the container's first process there). A running container's threads move now.
   */
  async placeContainerInClass(pod: string, container: string, name: string): Promise<void> {
    const p = this.#inProcess("an RDT class (@rdt-classes)");
    p.classes.pathOf(name);
    p.placement.assign(this.#pods.running(pod).sandboxId, container, name);
    const running = await this.#pods.liveThreadsOfContainer(pod, container);
    if (running.length > 0) await p.placement.placeNow(name, running);
  }

  async removeRdtClass(name: string): Promise<void> {
    await this.#classes().remove(name);
  }

  async seedGroupInClass(name: string, group: { label: string; owner: "plugin" | "other" }): Promise<void> {
    await this.#classes().seed(name, group);
  }

  async monitoringGroupsInClass(name: string): Promise<string[]> {
    return this.#classes().monitoringGroups(name);
  }

  async podGroups(pod: string): Promise<PodGroupView[]> {
    const p = this.#inProcess("the plugin's groups of a pod (@rdt-classes)");
    const uid = this.#pods.existing(pod).uid;
    const s = p
      .plugin()
      .snapshot()
      .find((x) => x.podUid === uid);
    if (!s) throw new Error(`failed to find pod ${pod} in the plugin's state`);
    return p.classes.views(snapshotPodGroups(s, EMULATED_RESCTRL_ROOT), (path) =>
      this.#asKernelShows(pod, p.kernel.fs.isDir(path) ? p.kernel.fs.tasksOf(path) : []),
    );
  }

  async containerState(pod: string, container: string): Promise<ContainerStateView> {
    const p = this.#inProcess("the plugin's state of a container (@rdt-classes)");
    const uid = this.#pods.existing(pod).uid;
    const id = this.#pods.container(pod, container).id;
    const s = p
      .plugin()
      .snapshot()
      .find((x) => x.podUid === uid);
    const view = s && snapshotContainerState(s, id);
    if (!view) throw new Error(`failed to find container ${container} of pod ${pod} in the plugin's state`);
    return view;
  }

  expectedTasksOfContainer(pod: string, container: string): Promise<number[]> {
    return this.#pods.liveThreadsOfContainer(pod, container);
  }

  // ---- the HTTP endpoint (@metrics-endpoint) ------------------------------------------------

  scrapeMetrics(): Promise<MetricSample[]> {
    return this.#d().scrapeMetrics();
  }

  probe(path: "/readyz" | "/healthz"): Promise<ProbeAnswer> {
    return this.#d().probe(path);
  }

  async podIdentity(pod: string): Promise<PodIdentity> {
    const p = this.#pods.existing(pod);
    return { uid: p.uid, name: p.spec.name, namespace: p.spec.namespace ?? "default" };
  }

  // ---- consumer (in-process only) --------------------------------------------------------

  async stallConsumer(): Promise<void> {
    this.#inProcess("stallConsumer").consumer((e) => this.#translate(e));
  }

  async droppedEvents(): Promise<number> {
    return this.#d().droppedEvents();
  }

  async resyncConsumer(): Promise<void> {
    const p = this.#inProcess("resyncConsumer");
    // Snapshot in the same tick as the resubscription, so no event falls between the two.
    const snapshotNow = (): PodView[] =>
      p
        .plugin()
        .snapshot()
        .map((s) => scenarioPodView(s, (uid) => this.#pods.nameOfUid(uid)));
    p.existingConsumer().resync(snapshotNow);
  }

  async consumerView(): Promise<PodView[]> {
    return this.#inProcess("consumerView").existingConsumer().view();
  }

  // ---- internals -------------------------------------------------------------------------

  #translate(e: PodResctrlEvent): UnnumberedPodEvent {
    return scenarioEvent(e, (uid) => this.#pods.nameOfUid(uid));
  }

  /**
   * The CRI namespace of a namespace the scenario names: `<scenario's namespace>-<name>`, private to
   * this scenario like its pods (filters are mapped the same way). Pure.
   */
  #namespace(scenarioName: string): string {
    return `${this.#pods.namespace}-${scenarioName}`;
  }

  /** The in-process plugin, created on first need; fails once the daemon runs instead. */
  #inProcess(why: string): InProcessMode {
    if (this.#inproc) return this.#inproc;
    if (this.#started)
      throw new Error(
        `failed to use ${why}: the plugin runs as a daemon; it needs the in-process plugin (tag the scenario with one of ${IN_PROCESS_TAGS.join(", ")} or arrange it before the plugin starts)`,
      );
    this.#inproc = new InProcessMode(
      this.#ctx.groupPrefix,
      (e) => void this.eventLog.record(this.#translate(e)),
    );
    return this.#inproc;
  }

  #classes(): InProcessMode["classes"] {
    return this.#inProcess("an RDT class (@rdt-classes)").classes;
  }

  #audited(): InProcessMode {
    return this.#inProcess("the fs audit (@fs-audit)");
  }

  #d(): PluginMode {
    if (!this.#mode)
      throw new Error("failed to reach the plugin: it was not started (Given the plugin is running)");
    return this.#mode;
  }
}
