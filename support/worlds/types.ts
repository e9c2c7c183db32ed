/**
 * The port every scenario world implements, split in two: the {@link PodWorld} core (pods and
 * containers, the plugin, retries, observations), which every world serves, and one small
 * {@link CapabilityPorts capability port} per capability that has methods, which a world serves
 * only if it can. Step definitions talk only to these interfaces, in domain terms (pods and
 * containers by their scenario names, groups, tasks, events); each world (mock, containerd,
 * hardware) maps those names to real UIDs, container ids, thread ids and paths.
 *
 * Conventions for implementers:
 * - Pods are named by the scenario ("web"); containers by name within their pod ("app"). A world
 *   generates the UIDs/ids and keeps the mapping for the scenario's lifetime.
 * - Every method that changes something resolves once the runtime has *delivered* the change to
 *   the plugin (the NRI request was answered), not when the plugin has finished reacting to it.
 *   Assertions about the plugin's reaction go through {@link PodWorld.waitForEvent} and friends.
 * - A world lists the capability ports it serves in {@link PodWorld.ports}; what it cannot do it
 *   simply leaves out. Its capabilities are derived from that ({@link capabilitiesOf}), and a step
 *   reaches a port only through {@link portOf}, which throws {@link CapabilityMissingError} for a
 *   port the world lacks (the capability hooks make sure that never happens in a correctly tagged
 *   scenario). No world throws that error itself.
 * - Nothing here may sleep except `assertNoEventWithin`, whose whole point is waiting.
 */

/**
 * What a world can do beyond the basics. A feature tagged `@<capability>` runs only in worlds
 * that have it (see {@link capabilitiesOf}); elsewhere the scenario is reported SKIPPED with the
 * reason attached (never passed). Each capability is either served by a port
 * ({@link CapabilityPorts}) or, without methods, declared as a flag ({@link FLAG_CAPABILITIES}).
 */
export const CAPABILITIES = [
  /** Group creation can be made to fail with ENOSPC on demand, and the capacity freed again. */
  "fault-injection",
  /** Thread ids per container are scripted: vanishing tasks, a PID source that answers 0. */
  "scripted-pids",
  /** Every filesystem operation the plugin made can be inspected (mkdir attempts, task writes). */
  "fs-audit",
  /** The runtime can send what a real one rarely does: a container before its pod, chunked Synchronize of a chosen size. */
  "scripted-runtime",
  /** resctrl can be left unmounted before the plugin starts. */
  "mount-control",
  /** An in-process event consumer can stall, so the plugin's bounded event queue overflows. */
  "event-backpressure",
  /** Real kernel resctrl semantics (RMIDs, thread moves between groups). */
  "resctrl-kernel",
  /** A Kubernetes API (kubectl, kubelet) drives the runtime. */
  "kubernetes",
  /** The runtime can be restarted while the plugin runs, so the plugin registers and synchronizes again. */
  "runtime-restart",
  /** A pod can be started with a UID the scenario chooses (hostile input); Kubernetes assigns UIDs itself. */
  "chosen-pod-uids",
  /** The plugin can be started while the runtime is down (node boot, runtime upgrade), and the runtime brought up later. */
  "late-runtime",
  /** Freed RMIDs can be held in limbo (the kernel's EBUSY) and then drained, on demand. */
  "rmid-limbo",
  /** The plugin's HTTP endpoint (/metrics, /readyz, /healthz) can be scraped and probed. */
  "metrics-endpoint",
  /** A pod can be run in a namespace and with labels the scenario names (what the plugin's filters select by). */
  "pod-metadata",
  /** A pod can be removed in a chosen order: the kubelet's, or by hand with crictl, containers first. */
  "removal-orders",
  /**
   * RDT classes (control groups directly under the resctrl root) can be created and removed, a
   * container's tasks put into one from their start, and the plugin's own state read per pod group
   * and per container (its reason).
   */
  "rdt-classes",
] as const;

/** One entry of {@link CAPABILITIES}. */
export type Capability = (typeof CAPABILITIES)[number];

/** Capabilities without methods: a world that has one says so in {@link PodWorld.flags}. */
export const FLAG_CAPABILITIES = ["resctrl-kernel", "kubernetes"] as const satisfies readonly Capability[];

/** One entry of {@link FLAG_CAPABILITIES}. */
export type FlagCapability = (typeof FLAG_CAPABILITIES)[number];

/** A capability served by a port of {@link CapabilityPorts}. */
export type PortCapability = Exclude<Capability, FlagCapability>;

/**
 * One line per capability: what a world that has it can do (a verb phrase; the capability matrix
 * in docs/writing-scenarios.md and {@link CapabilityMissingError} messages use it).
 */
export const CAPABILITY_DESCRIPTIONS: Readonly<Record<Capability, string>> = {
  "fault-injection": "make group creation fail with ENOSPC on demand, and free capacity again",
  "scripted-pids": "script a container's tasks: vanishing tasks, a PID source that answers 0",
  "fs-audit": "list every filesystem operation of the plugin (mkdir attempts, task writes, paths)",
  "scripted-runtime":
    "send what a real runtime rarely does: a container before its pod, chunked Synchronize, repeated starts",
  "mount-control": "leave resctrl unmounted before the plugin starts",
  "event-backpressure": "stall an event consumer so the plugin's bounded queue overflows",
  "resctrl-kernel": "real kernel resctrl semantics (RMIDs, thread moves)",
  kubernetes: "drive the runtime through kubelet and kubectl",
  "runtime-restart": "restart the runtime while the plugin runs",
  "chosen-pod-uids":
    "start a pod with a UID the scenario chooses (hostile input); Kubernetes assigns its own",
  "late-runtime": "start the plugin while the runtime is down, and bring the runtime up later",
  "rmid-limbo": "hold freed RMIDs in limbo (EBUSY) and drain them on demand",
  "metrics-endpoint": "scrape the plugin's /metrics and probe its /readyz and /healthz over HTTP",
  "pod-metadata": "run a pod in a namespace and with labels the scenario names",
  "removal-orders":
    "remove a pod in the kubelet's order, or by hand with crictl (containers first, then the sandbox)",
  "rdt-classes":
    "create and remove RDT classes, run a container's tasks in one from their start, read the plugin's groups of a pod and a container's reason",
};

/** Thrown by {@link portOf} for a port the world lacks. Message: "failed to <verb>: world X lacks @cap". */
export class CapabilityMissingError extends Error {
  constructor(
    readonly world: string,
    readonly capability: Capability,
    action: string,
  ) {
    super(`failed to ${action}: world "${world}" lacks @${capability}`);
    this.name = "CapabilityMissingError";
  }
}

/** Per-scenario isolation the hooks prepare before {@link PodWorld.init}. */
export interface ScenarioContext {
  /** Unique, filesystem-safe id, e.g. `pod-removal_12_w1`. */
  id: string;
  /** A fresh directory owned by this scenario (sockets, logs); removed after the scenario. */
  tmpDir: string;
  /** A group prefix no other scenario (and no earlier run) uses: `[A-Za-z0-9_-]`, ≤ 20 chars, ends in `_`. */
  groupPrefix: string;
  /** Default deadline of every "eventually" wait, in ms (worldParameters.timeoutMs / SCENARIO_TIMEOUT_MS). */
  timeoutMs: number;
  /** Everything else from the profile's worldParameters (world-specific settings). */
  parameters: Readonly<Record<string, unknown>>;
  /** The scenario's tags, with `@` (e.g. `@fs-audit`); a world may pick its setup by them. */
  tags?: readonly string[];
}

/** How the plugin is configured when a scenario starts it. Unset fields keep the plugin defaults. */
export interface PluginStartOptions {
  /** Remove groups with the plugin's prefix left over from an earlier run (default: plugin default, true). */
  cleanupOnStart?: boolean;
  /** Mount resctrl if it is not mounted (default: plugin default, true). */
  autoMount?: boolean;
  /** Capacity of each event subscriber's queue (scenarios about dropped events use a tiny one). */
  eventQueueCapacity?: number;
  /**
   * The plugin's sweep interval in ms (the daemon's `--retry-interval`): every interval it counts
   * vanished containers Stopped, removes orphan pods and retries Failed pods and Partial
   * containers. 0: no sweeps, retries only when the operator calls them. Unset: the daemon's
   * default (10 s), i.e. what users get; a world never substitutes 0 for it. See
   * support/worlds/shared/retry-interval.ts for the run-wide overrides.
   */
  retryIntervalMs?: number;
  /** Monitor only pods in these namespaces (`--namespaces`); names as the scenario gives them (see {@link PodMetadataPort}). */
  namespaces?: readonly string[];
  /** Never monitor pods in these namespaces (`--exclude-namespaces`); scenario names. */
  excludeNamespaces?: readonly string[];
  /** Monitor only pods whose labels match (`--pod-label-selector`, e.g. `monitoring=on`). */
  podLabelSelector?: string;
  /**
   * Monitor each task inside the RDT class (control group) it lives in (`--follow-rdt-classes`,
   * plugin config `followRdtClasses`); unset: the plugin's default (off). The run-wide override
   * SCENARIO_FORCE_FOLLOW_RDT_CLASSES beats it (support/worlds/shared/follow-rdt-classes.ts).
   */
  followRdtClasses?: boolean;
}

/** What a container runs. Only the hardware world's real counters can tell them apart. */
export type Workload =
  /** Sleeps (the default): real threads, no work. */
  | "idle"
  /** Streams through a buffer larger than the last-level cache, so memory bandwidth counters grow. */
  | "memory-stream";

/** A container of a pod as a scenario describes it. */
export interface ContainerSpec {
  name: string;
  /** Threads of the container's process (default 1). Every one must end up in the pod's group. */
  threads?: number;
  /** What its main thread does (default "idle"). */
  workload?: Workload;
}

/** The annotation kubectl writes on every applied object: often kilobytes, the bulk of a runtime's NRI state. */
export const LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration";

/** The group state a pod's events report (the path is world-specific, so it is usually only checked for presence). */
export type GroupReport = { kind: "Exists"; path: string } | { kind: "Failed" };

/** One event the plugin emitted, with the pod named as in the scenario. `seq` orders events across pods. */
export type PodEvent =
  | { kind: "AddOrUpdate"; pod: string; seq: number; group: GroupReport; total: number; reconciled: number }
  | { kind: "Removed"; pod: string; seq: number };

/** The latest state of one pod as the plugin (or a consumer folding its events) sees it. */
export interface PodView {
  pod: string;
  group: GroupReport;
  total: number;
  reconciled: number;
}

/** What the kernel side shows for a pod's group. */
export interface GroupObservation {
  /** The last group state the pod's events reported; undefined before the first event. */
  reported: GroupReport | undefined;
  /** The path of the last `Exists` report (kept after removal, to check the directory is gone). */
  path: string | undefined;
  /** That path is a directory right now. */
  existsOnDisk: boolean;
}

/** Result of a caller-driven retry, classified. */
export type RetryOutcome =
  | { ok: true; group?: GroupReport }
  | {
      ok: false;
      error: "capacity" | "pod-not-found" | "container-not-found" | "other";
      /** For "capacity": true when RMIDs are busy in limbo (retry later), not exhausted. */
      limbo?: boolean;
      message: string;
    };

/** Where a pre-existing group sits in the resctrl tree. */
export type SeedLocation =
  | { kind: "root" }
  | { kind: "mon_groups" }
  /** Inside the `mon_groups` of another seeded root-level group (a control group). */
  | { kind: "nested"; parent: string };

/** A group that exists before the plugin starts. `label` is the scenario's name for it. */
export interface SeededGroup {
  label: string;
  location: SeedLocation;
  /** "plugin": named with the scenario's group prefix (cleanup must remove it); "other": a foreign prefix. */
  owner: "plugin" | "other";
}

/** How a container's tasks behave toward the plugin ({@link ScriptedPidsPort}). */
export type TaskScript =
  /** Normal: the PID source reports the container's live threads. */
  | "steady"
  /** Every thread the PID source reports has exited by the time the plugin writes it (ESRCH). */
  | "vanishing"
  /** The PID source reports 0 (an unmapped PID from another namespace) besides the real threads. */
  | "with-zero";

/** One structured log line of the plugin (pino JSON). */
export type LogRecord = Record<string, unknown> & { msg?: string; level?: number };

/**
 * The core port: what every world serves. One instance per scenario; created by the world
 * factory, initialized by a Before hook, disposed by an After hook (even when init failed half-way).
 */
export interface PodWorld {
  /** The world's name ("mock", "containerd", "hardware"). */
  readonly name: string;
  /**
   * The capability ports this world serves, keyed by capability; a port left out is a capability
   * the world lacks. Synchronous and available before {@link init} (a world usually lists itself:
   * `{ "fault-injection": this }`).
   */
  readonly ports: Partial<CapabilityPorts>;
  /** The capabilities without methods this world has (none when absent). */
  readonly flags?: readonly FlagCapability[];
  /** Prepares an isolated environment (fresh runtime socket, fresh resctrl tree). Rejects on setup failure. */
  init(ctx: ScenarioContext): Promise<void>;
  /** Stops everything the world started and removes what it created. Idempotent; never rejects. */
  dispose(): Promise<void>;

  // ---- arrange: before the plugin starts -------------------------------------------------
  /** Creates a group that exists before the plugin starts. */
  seedGroup(group: SeededGroup): Promise<void>;
  /**
   * A pod with running containers that exists before the plugin registers. `annotationBytes`
   * gives the pod and each container a `kubectl.kubernetes.io/last-applied-configuration`
   * annotation of that size (what makes real runtime states large).
   */
  preexistingPod(
    pod: string,
    containers: readonly ContainerSpec[],
    options?: { annotationBytes?: number },
  ): Promise<void>;

  // ---- act: the plugin and the runtime ---------------------------------------------------
  /**
   * Settings every later start of the plugin uses (by any start method, e.g. {@link startPlugin}
   * or {@link LateRuntimePort.startPluginBeforeRuntime}); fields given again replace earlier ones,
   * and the options a start passes itself win over them. Throws once the plugin started.
   */
  configurePlugin(settings: PluginStartOptions): void;
  /** Starts the plugin; resolves once it registered and the runtime's Synchronize was answered. */
  startPlugin(options?: PluginStartOptions): Promise<void>;
  /** A new pod sandbox (RUN_POD_SANDBOX) with a generated UID ({@link ChosenPodUidsPort} chooses one). */
  runPod(pod: string): Promise<void>;
  /** A new container starts in a running pod (CREATE + START_CONTAINER). */
  startContainer(pod: string, container: ContainerSpec): Promise<void>;
  /** An ephemeral container joins a running pod (`kubectl debug`). */
  addEphemeralContainer(pod: string, container: ContainerSpec): Promise<void>;
  /**
   * The container's main process exits by itself: `"crash"` (non-zero exit status) or `"complete"`
   * (status 0, e.g. the end of a `kubectl debug` session). The container is kept, exited, not
   * removed (as the kubelet keeps it). Resolves once the runtime delivered the stop (StopContainer);
   * the container's threads are gone by then.
   */
  exitContainer(pod: string, container: string, how: "crash" | "complete"): Promise<void>;
  /**
   * The kubelet restarts an exited container: a new container with the same name and attempt + 1
   * (a new id, new threads) is created and started; the exited one stays, exited. Resolves once the
   * replacement's START was delivered.
   */
  restartContainer(pod: string, container: string): Promise<void>;
  /** The runtime stops a running container (CRI StopContainer) without removing it. */
  stopContainer(pod: string, container: string): Promise<void>;
  /**
   * A new pod whose init containers run one after another to completion (each exits 0 and is
   * stopped, not removed) before its containers start, as the kubelet runs a pod spec with
   * `initContainers`. Resolves once every container's START was delivered.
   */
  runPodWithInitContainers(
    pod: string,
    inits: readonly string[],
    containers: readonly ContainerSpec[],
  ): Promise<void>;
  /**
   * Starts the plugin while a container of a pre-existing pod exits: the container's process is
   * gone when the plugin registers, and the runtime reports the stop during or right after its
   * Synchronize (the sync may list the container RUNNING or STOPPED, as real runtimes race).
   * Resolves like {@link startPlugin}, once the stop was delivered too.
   */
  startPluginWhileContainerExits(pod: string, container: string): Promise<void>;
  /** The container stops and is removed (REMOVE_CONTAINER). */
  removeContainer(pod: string, container: string): Promise<void>;
  /** The pod and its containers are removed (REMOVE_POD_SANDBOX). */
  removePod(pod: string): Promise<void>;
  /** The operator retries creating the pod's group. Never rejects for plugin errors: they are classified. */
  retryGroupCreation(pod: string): Promise<RetryOutcome>;
  /** The operator retries moving a container's tasks. */
  retryContainer(pod: string, container: string): Promise<RetryOutcome>;
  /** The operator runs one retry sweep over every failed pod and partial container. */
  retryAllOnce(): Promise<RetryOutcome>;

  // ---- observe ---------------------------------------------------------------------------
  /** Every event for the pod so far, oldest first. Never blocks. */
  events(pod: string): readonly PodEvent[];
  /** Every event so far, all pods, oldest first. */
  allEvents(): readonly PodEvent[];
  /**
   * Resolves with the first event of the pod (already recorded or future) that satisfies
   * `predicate`; rejects after `timeoutMs` with a message listing the pod's events.
   */
  waitForEvent(pod: string, predicate: (e: PodEvent) => boolean, timeoutMs: number): Promise<PodEvent>;
  /** Waits `ms` and rejects if any event for the pod arrived meanwhile (dedup checks). */
  assertNoEventWithin(pod: string, ms: number): Promise<void>;
  /** The pod's group as reported and as on disk. */
  groupOf(pod: string): Promise<GroupObservation>;
  /** Thread ids in the pod's group `tasks` file right now, ascending ([] if there is no group). */
  tasksOf(pod: string): Promise<number[]>;
  /** Thread ids of the pod's live containers right now, ascending: what `tasksOf` should become. */
  expectedTasksOf(pod: string): Promise<number[]>;
  /** The plugin's own state (its resync API), pods named as in the scenario; unknown UIDs are skipped. */
  snapshot(): Promise<PodView[]>;
  /** Whether a seeded group's directory exists now. */
  seededGroupExists(label: string): Promise<boolean>;
  /** Structured plugin log lines so far whose `msg` contains `msgIncludes` (all when omitted). */
  logLines(filter?: { msgIncludes?: string }): Promise<LogRecord[]>;
  /** The resctrl root of this world (for path assertions). */
  resctrlRoot(): string;
  /** Events the plugin dropped because subscriber queues were full. */
  droppedEvents(): Promise<number>;
  /**
   * How many times the runtime has synchronized the plugin so far: 1 after startPlugin, +1 per
   * re-registration (after {@link RuntimeRestartPort.restartRuntime}), 1 once a late runtime came up.
   */
  runtimeSyncCount(): Promise<number>;
}

// ---- capability ports: one per capability that has methods -----------------------------------

/** @fault-injection */
export interface FaultInjectionPort {
  /** From now on, creating a monitoring group fails for lack of RMIDs (ENOSPC). */
  injectCapacityExhaustion(): Promise<void>;
  /**
   * Ends {@link injectCapacityExhaustion}: RMIDs are freed and usable again; a world whose kernel
   * keeps freed RMIDs in limbo waits until they drained.
   */
  freeCapacity(): Promise<void>;
}

/** @rmid-limbo (scenarios also tag @fault-injection, which exhausts the RMIDs first) */
export interface RmidLimboPort {
  /**
   * Ends {@link FaultInjectionPort.injectCapacityExhaustion} the way removing groups does on a busy
   * cache: the freed RMIDs wait in limbo, so group creation answers EBUSY (not ENOSPC) until
   * {@link drainRmidLimbo}.
   */
  freeCapacityIntoLimbo(): Promise<void>;
  /** The cache occupancy of the RMIDs in limbo fell below the threshold: they are free now. */
  drainRmidLimbo(): Promise<void>;
}

/** @scripted-pids */
export interface ScriptedPidsPort {
  /** Changes how a container's tasks behave; may precede the container's start. */
  scriptTasks(pod: string, container: string, script: TaskScript): Promise<void>;
}

/** @fs-audit: questions about every filesystem operation of the plugin since it started. */
export interface FsAuditPort {
  /** Monitoring-group mkdir attempts so far, successful or not. */
  groupCreationAttempts(): Promise<number>;
  /** Monitoring-group mkdir attempts made while the last `retry…` call ran. */
  groupCreationAttemptsDuringLastRetry(): Promise<number>;
  /** Every value ever written to any `tasks` file, in order. */
  taskWrites(): Promise<number[]>;
  /** Paths the plugin created, wrote or removed outside the resctrl root. */
  pathsTouchedOutsideRoot(): Promise<string[]>;
  /** Every directory directly or indirectly created by the plugin under the root. */
  groupsCreated(): Promise<string[]>;
}

/** @scripted-runtime: what a real runtime rarely or never sends. */
export interface ScriptedRuntimePort {
  /** Starts the plugin like {@link PodWorld.startPlugin}; the runtime sends Synchronize in chunks of `podsPerChunk` pods. */
  startPluginWithChunkedSync(podsPerChunk: number, options?: PluginStartOptions): Promise<void>;
  /** The runtime reports a container's start before it ever reported its pod. */
  startContainerBeforePod(pod: string, container: ContainerSpec): Promise<void>;
  /** The runtime reports the start of an already started container again. */
  resendContainerStart(pod: string, container: string): Promise<void>;
  /** The runtime reports an already running pod sandbox again. */
  resendPodStart(pod: string): Promise<void>;
}

/** @mount-control */
export interface MountControlPort {
  /** Leaves resctrl unmounted at the root (before the plugin starts). */
  unmountResctrl(): Promise<void>;
  /** Whether resctrl is mounted at the root now. */
  resctrlMounted(): Promise<boolean>;
}

/** @event-backpressure: an external event consumer of the plugin. */
export interface EventBackpressurePort {
  /** Subscribes a consumer that does not read its events until {@link resyncConsumer}. */
  stallConsumer(): Promise<void>;
  /** The consumer replaces its view with a snapshot, then keeps folding new events into it. */
  resyncConsumer(): Promise<void>;
  /** The consumer's current view, folded from what it received. */
  consumerView(): Promise<PodView[]>;
}

/** @runtime-restart */
export interface RuntimeRestartPort {
  /** Restarts the container runtime while the plugin runs (pods keep running); resolves once the runtime answers again. */
  restartRuntime(): Promise<void>;
}

/** @late-runtime: a runtime that is not there yet. */
export interface LateRuntimePort {
  /**
   * Starts the plugin while the runtime is down (its NRI socket absent). Resolves once the plugin
   * has tried to connect at least once and is waiting; the plugin must keep running.
   */
  startPluginBeforeRuntime(options?: PluginStartOptions): Promise<void>;
  /** Brings the runtime up (its NRI socket appears); resolves once it answers its clients. */
  startRuntime(): Promise<void>;
}

/** @chosen-pod-uids */
export interface ChosenPodUidsPort {
  /** {@link PodWorld.runPod} with the UID the scenario chose (hostile-input scenarios). */
  runPodWithUid(pod: string, uid: string): Promise<void>;
}

/** A pod as the runtime (and Kubernetes) know it: what the plugin's events, state and metrics carry. */
export interface PodIdentity {
  uid: string;
  name: string;
  namespace: string;
}

/** One sample of a Prometheus text exposition: metric name, labels, value. */
export interface MetricSample {
  name: string;
  labels: Readonly<Record<string, string>>;
  value: number;
}

/** What an HTTP probe of the plugin answered. */
export interface ProbeAnswer {
  status: number;
  body: string;
}

/** @metrics-endpoint: the plugin's HTTP endpoint (the daemon's `--http-listen`). */
export interface MetricsEndpointPort {
  /** GET /metrics, parsed: every sample in exposition order. Rejects unless it answers 200. */
  scrapeMetrics(): Promise<MetricSample[]>;
  /** GET /readyz or /healthz: the status code and the body. */
  probe(path: "/readyz" | "/healthz"): Promise<ProbeAnswer>;
  /** The pod's UID, name and namespace as the runtime reports them (the labels its series must carry). */
  podIdentity(pod: string): Promise<PodIdentity>;
}

/** Where a pod runs and how it is labelled ({@link PodMetadataPort}). */
export interface PodPlacement {
  /**
   * The namespace, as the scenario names it. A world may run the pod in a private namespace
   * derived from it (isolation); it maps the names in {@link PluginStartOptions} filters the same way.
   */
  namespace?: string;
  /** Labels added to the pod's own. */
  labels?: Readonly<Record<string, string>>;
}

/** @pod-metadata */
export interface PodMetadataPort {
  /** {@link PodWorld.runPod} in the given namespace and with the given labels. */
  runPodWith(pod: string, placement: PodPlacement): Promise<void>;
}

/**
 * How a pod goes away ({@link RemovalOrdersPort}):
 * - "kubelet": stop every running container, stop the sandbox, remove every container, remove
 *   the sandbox (what the kubelet does for a deleted pod);
 * - "crictl-containers-first": an operator by hand, `crictl rm -f` for each container (stopped and
 *   removed while the sandbox still runs), then `crictl rmp -f` for the sandbox.
 */
export type RemovalOrder = "kubelet" | "crictl-containers-first";

/** @removal-orders */
export interface RemovalOrdersPort {
  /** Removes the pod and its containers in that order; resolves once the runtime removed its sandbox. */
  removePodInOrder(pod: string, order: RemovalOrder): Promise<void>;
}

/** One monitoring group of a pod as the plugin's own state lists it ({@link RdtClassesPort.podGroups}). */
export interface PodGroupView {
  /** The RDT class it lives in, named as in the scenario; undefined: the resctrl root (default group). */
  rdtClass: string | undefined;
  /** Its directory. */
  path: string;
  /** What the plugin's state says of it. */
  state: "Exists" | "Failed";
  /** The live tasks its `tasks` file lists now, ascending ([] when the directory is gone). */
  tasks: number[];
}

/** A container as the plugin's own state shows it ({@link RdtClassesPort.containerState}). */
export interface ContainerStateView {
  /** `Reconciled`, `Partial`, `Pending`, `Stopped` or `NoPod`. */
  state: string;
  /** Why it is not reconciled, when the plugin knows (control API `ContainerState.reason`); undefined: none. */
  reason: string | undefined;
}

/**
 * @rdt-classes: RDT classes — control groups directly under the resctrl root, as containerd's RDT
 * support or an allocation plugin makes them — and the tasks that live in them. Class names are the
 * scenario's; a world may give the directory another name ({@link rdtClassPath}; the hardware world
 * prefixes it with the run's foreign prefix). A world removes the classes it created in `dispose()`.
 */
export interface RdtClassesPort {
  /** Creates class `name` (a control group, mkdir directly under the resctrl root). */
  createRdtClass(name: string): Promise<void>;
  /** The directory of class `name` (for path assertions). Pure. */
  rdtClassPath(name: string): string;
  /**
   * From now on the tasks of `container` of `pod` (a pod that runs) live in class `name` from their
   * start, before the plugin sees them (as the runtime places a container whose RDT class is set): a
   * container the world starts later ({@link PodWorld.startContainer}) is in the class when the
   * runtime reports it; the tasks of a running one are moved into the class now. Rejects when the
   * class does not exist. (Later attempts: the mock and containerd worlds place them too; the
   * hardware world does not place a container the kubelet restarts by itself.)
   */
  placeContainerInClass(pod: string, container: string, name: string): Promise<void>;
  /** Removes class `name` (rmdir): the kernel moves its tasks to the default group and drops its monitoring groups. */
  removeRdtClass(name: string): Promise<void>;
  /**
   * A monitoring group that exists in class `name`'s `mon_groups` before the plugin starts; owner
   * "plugin": named with the plugin's prefix (cleanup may remove it), "other": a foreign prefix.
   * {@link PodWorld.seededGroupExists} answers for its label.
   */
  seedGroupInClass(name: string, group: { label: string; owner: "plugin" | "other" }): Promise<void>;
  /** The directory names in class `name`'s `mon_groups` now, sorted. Rejects when the class does not exist. */
  monitoringGroupsInClass(name: string): Promise<string[]>;
  /**
   * The pod's groups as the plugin's own state lists them (in-process `PodSnapshot.groups`, control
   * API `PodState.groups`): the root's first, then one per class; a pod without class groups: its one
   * group (a Failed one has no path). Rejects if the plugin does not know the pod.
   */
  podGroups(pod: string): Promise<PodGroupView[]>;
  /** The container as the plugin's own state shows it (its newest attempt). Rejects if the plugin does not know it. */
  containerState(pod: string, container: string): Promise<ContainerStateView>;
  /** Thread ids of one container's processes now, ascending (what its group should hold). */
  expectedTasksOfContainer(pod: string, container: string): Promise<number[]>;
}

/**
 * The capability ports by capability. Every capability of {@link CAPABILITIES} is either a key
 * here or in {@link FLAG_CAPABILITIES}, never both (checked at compile time below).
 */
export interface CapabilityPorts {
  "fault-injection": FaultInjectionPort;
  "rmid-limbo": RmidLimboPort;
  "scripted-pids": ScriptedPidsPort;
  "fs-audit": FsAuditPort;
  "scripted-runtime": ScriptedRuntimePort;
  "mount-control": MountControlPort;
  "event-backpressure": EventBackpressurePort;
  "runtime-restart": RuntimeRestartPort;
  "late-runtime": LateRuntimePort;
  "chosen-pod-uids": ChosenPodUidsPort;
  "metrics-endpoint": MetricsEndpointPort;
  "pod-metadata": PodMetadataPort;
  "removal-orders": RemovalOrdersPort;
  "rdt-classes": RdtClassesPort;
}

/** `true` only if A and B are the same union. */
type SameKeys<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Compile-time check: the ports cover exactly the capabilities that are not flags. */
export const PORTS_COVER_CAPABILITIES: SameKeys<keyof CapabilityPorts, PortCapability> = true;

/**
 * The capabilities of a world, in {@link CAPABILITIES} order: those whose port it lists in
 * {@link PodWorld.ports}, plus its {@link PodWorld.flags}. Pure; synchronous.
 */
export function capabilitiesOf(world: Pick<PodWorld, "ports" | "flags">): ReadonlySet<Capability> {
  const flags: readonly Capability[] = world.flags ?? [];
  return new Set(
    CAPABILITIES.filter((c) =>
      isFlag(c) ? flags.includes(c) : world.ports[c as PortCapability] !== undefined,
    ),
  );
}

/** The world's port for `capability`; throws {@link CapabilityMissingError} when the world lacks it. */
export function portOf<C extends PortCapability>(
  world: Pick<PodWorld, "name" | "ports">,
  capability: C,
): CapabilityPorts[C] {
  const port = world.ports[capability];
  if (port === undefined)
    throw new CapabilityMissingError(world.name, capability, CAPABILITY_DESCRIPTIONS[capability]);
  return port as CapabilityPorts[C];
}

function isFlag(c: Capability): c is FlagCapability {
  return (FLAG_CAPABILITIES as readonly Capability[]).includes(c);
}
