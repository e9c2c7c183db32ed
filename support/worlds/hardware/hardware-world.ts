import { mkdir, readdir, readFile, rm, rmdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { State } from "../../../src/control/gen/control/control.js";
import { EventLogWorld } from "../event-log-world.js";
import type {
  CapabilityPorts,
  ContainerSpec,
  ContainerStateView,
  FaultInjectionPort,
  FlagCapability,
  GroupObservation,
  LogRecord,
  MetricSample,
  MetricsEndpointPort,
  MountControlPort,
  PluginStartOptions,
  PodGroupView,
  PodIdentity,
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
  SeededGroup,
} from "../types.js";
import { findContainerCgroup, parseTaskList, threadsOfCgroup } from "./cgroup-tasks.js";
import { nodeHost, type HostPort } from "./host.js";
import { effectiveFollowRdtClasses } from "../shared/follow-rdt-classes.js";
import { mergeStartOptions } from "../shared/plugin-config.js";
import { wireContainerState, wirePodGroups } from "../shared/plugin-views.js";
import { effectiveRetryInterval } from "../shared/retry-interval.js";
import { Kube, kubeName, RUN_LABEL, TEST_NAMESPACE, WORKLOAD_IMAGE } from "./kube.js";
import { PluginHandle } from "./plugin-handle.js";
import { PodDriver, type HwContainer, type HwPod } from "./pod-driver.js";
import { DEFAULT_NRI_SOCKET, DEFAULT_RESCTRL_ROOT, parseMounts } from "./preflight.js";
import { hardwarePrefixes } from "./scenario-prefixes.js";
import { HwRdtClasses, parentPidOf } from "./rdt-classes.js";
import { RmidFiller, type RmidAvailability } from "./rmid-filler.js";
import { dirtyGroupCache, FALLBACK_LLC_BYTES, OccupancyThreshold, parseLlcBytes } from "./rmid-limbo.js";
import { SeedTracker } from "./seeds.js";
import {
  CACHE_FILL_TIMEOUT_MS,
  FILL_LIMBO_WAIT_MS,
  FILL_TIMEOUT_MS,
  LIMBO_DRAIN_TIMEOUT_MS,
  LIMBO_HOLD_CHECK_MS,
  LIMBO_SETTLE_MS,
  RMID_RELEASE_WAIT_MS,
  RUNTIME_RESTART_TIMEOUT_MS,
} from "./timeouts.js";

/** Host directory holding each pod's slot thread counts (hostPath of the test pods). */
export const CFG_ROOT = "/run/nri-resctrl-e2e";
/** NRI plugin index of the test daemon (after the usual 10–50 of real plugins). */
export const TEST_PLUGIN_IDX = "90";
/** The systemd unit of k3s, whose restart restarts its embedded containerd (pods keep running). */
export const K3S_SERVICE = "k3s";
/** Helper groups allowed beyond num_rmids before the filler gives up (groups of other pods, limbo). */
export const FILLER_MARGIN = 16;
/** The threshold while RMIDs are to stay in limbo: the kernel keeps an RMID while its occupancy >= it. */
export const LIMBO_HOLD_THRESHOLD_BYTES = 0;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Settings from the profile's worldParameters (all optional). */
export interface HardwareWorldParameters {
  repoRoot: string;
  resctrlRoot?: string;
  nriSocket?: string;
  kubeconfig?: string;
  /** Where daemon logs are kept for the CI artifact (default reports/hardware/logs). */
  logDir?: string;
  /** Names what this machine lacks (preflight), or undefined; `init` refuses to run when it names something. */
  unavailable?: () => Promise<string | undefined>;
}

/**
 * The hardware world: real pods through k3s (kubectl, `kubectl debug`, crictl for removals), the
 * real daemon (`--resctrl-provider real`) started on the host per scenario with a private group
 * prefix and control socket, observed through its control API and its logs; assertions read the
 * kernel's resctrl `tasks` files and the containers' real threads (cgroup → /proc/<pid>/task).
 * Capacity exhaustion uses real helper groups under a different prefix. Never fakes anything: it
 * serves only the capability ports it can ({@link ports}: no scripted PIDs, fs audit, scripted
 * runtime orderings, chosen pod UIDs, stalled in-process consumers or a late runtime).
 *
 * Ownership: one instance per scenario; `dispose()` stops the daemon, deletes the scenario's pods,
 * removes helper, seeded and plugin groups of this scenario, and remounts resctrl if it unmounted it.
 */
export class HardwareWorld
  extends EventLogWorld
  implements
    PodWorld,
    FaultInjectionPort,
    RmidLimboPort,
    MountControlPort,
    RuntimeRestartPort,
    MetricsEndpointPort,
    PodMetadataPort,
    RemovalOrdersPort,
    RdtClassesPort
{
  readonly name = "hardware";
  readonly ports: Partial<CapabilityPorts> = {
    "fault-injection": this,
    "rmid-limbo": this,
    "mount-control": this,
    "runtime-restart": this,
    "metrics-endpoint": this,
    "pod-metadata": this,
    "removal-orders": this,
    "rdt-classes": this,
  };
  override readonly flags: readonly FlagCapability[] = ["resctrl-kernel", "kubernetes"];
  readonly #host: HostPort = nodeHost();
  readonly #pods = new Map<string, HwPod>();
  /** Scenario pod name → the driver of its namespace. */
  readonly #driverOf = new Map<string, PodDriver>();
  /** Scenario namespace name → the driver of the run's namespace for it. */
  readonly #namespaceDrivers = new Map<string, PodDriver>();
  /** The run's own namespaces (deleted by dispose). */
  readonly #namespaceKubes: Kube[] = [];
  /** Settings of the next plugin start ({@link configurePlugin}). */
  #settings: PluginStartOptions = {};
  readonly #uidToPod = new Map<string, string>();
  readonly #root: string;
  #ctx!: ScenarioContext;
  #prefix!: ReturnType<typeof hardwarePrefixes>;
  #kube!: Kube;
  #driver!: PodDriver;
  #seeds!: SeedTracker;
  /** RDT classes of this scenario (`<root>/<foreign prefix><name>`). */
  #classes!: HwRdtClasses;
  /** `<pod>/<container>` → the class a container the world starts is born in. */
  readonly #classOf = new Map<string, string>();
  #plugin: PluginHandle | undefined;
  #filler: RmidFiller | undefined;
  #threshold!: OccupancyThreshold;
  /** normal → exhausted (filled) → limbo (one RMID freed, held in limbo) or freed (free and drained). */
  #capacity: "normal" | "exhausted" | "limbo" | "freed" = "normal";
  #unmounted = false;

  constructor(private readonly params: HardwareWorldParameters) {
    super();
    this.#root = params.resctrlRoot ?? DEFAULT_RESCTRL_ROOT;
  }

  async init(ctx: ScenarioContext): Promise<void> {
    const missing = await this.params.unavailable?.();
    if (missing) throw new Error(`failed to init the hardware world: ${missing}`);
    this.#ctx = ctx;
    this.#prefix = hardwarePrefixes(ctx.groupPrefix);
    this.#kube = new Kube(this.#host, { kubeconfig: this.params.kubeconfig, timeoutMs: ctx.timeoutMs });
    this.#driver = new PodDriver(this.#kube, {
      run: this.#prefix.run,
      cfgRoot: join(CFG_ROOT, this.#prefix.run),
      timeoutMs: ctx.timeoutMs,
    });
    this.#seeds = new SeedTracker(this.#root, this.#prefix.plugin, this.#prefix.foreign);
    this.#classes = new HwRdtClasses(this.#root, this.#prefix.foreign);
    this.#threshold = new OccupancyThreshold(this.#root);
    if (!(await this.resctrlMounted()))
      throw new Error(`failed to init the hardware world: resctrl is not mounted at ${this.#root}`);
    await this.#kube.ensureNamespace();
    await this.#kube.ensureImage(WORKLOAD_IMAGE);
  }

  async dispose(): Promise<void> {
    const quietly = async (f: () => Promise<unknown>): Promise<void> => {
      await f().catch((e: unknown) => console.warn(`[hardware world] cleanup: ${(e as Error).message}`));
    };
    this.eventLog.close();
    await quietly(async () => this.#plugin?.stop());
    if (this.#kube) await quietly(() => this.#kube.deleteRun(this.#prefix.run));
    for (const k of this.#namespaceKubes) await quietly(() => k.deleteNamespace());
    // The scenario unmounted resctrl; unless the plugin mounted it again, later scenarios need it.
    if (this.#unmounted && !(await this.resctrlMounted().catch(() => true)))
      await quietly(() => this.#host.run("mount", ["-t", "resctrl", "resctrl", this.#root]));
    if (this.#filler) {
      // Drain mode first (a held limbo would keep the helpers' RMIDs), then what the host had.
      if (this.#threshold.changed) await quietly(() => this.#raiseThreshold());
      const left = await this.#filler.removeAll();
      if (left.length) console.warn(`[hardware world] cleanup: helper groups left: ${left.join(" ")}`);
      else if (!(await this.#filler.waitUntilAllocatable(RMID_RELEASE_WAIT_MS)))
        console.warn(
          `[hardware world] cleanup: no RMID allocatable ${RMID_RELEASE_WAIT_MS} ms after removing the helper groups (limbo)`,
        );
    }
    if (this.#threshold && !(await this.#threshold.restore()))
      console.warn(`[hardware world] cleanup: could not restore ${this.#threshold.path}`);
    if (this.#seeds) await quietly(() => this.#seeds.removeAll());
    if (this.#classes)
      await quietly(async () => {
        const left = await this.#classes.removeAll();
        if (left.length) throw new Error(`RDT classes left: ${left.join(" ")}`);
      });
    if (this.#prefix) await quietly(() => this.#sweepPluginGroups());
    if (this.#prefix)
      await quietly(() => rm(join(CFG_ROOT, this.#prefix.run), { recursive: true, force: true }));
  }

  // ---- arrange ---------------------------------------------------------------------------

  async unmountResctrl(): Promise<void> {
    const foreign = await this.#seeds.foreignGroups(this.#prefix.all);
    if (foreign.length > 0)
      throw new Error(
        `failed to unmount resctrl: groups of others exist (${foreign.join(", ")}); unmounting would destroy them`,
      );
    const r = await this.#host.run("umount", [this.#root]);
    if (r.exitCode !== 0) throw new Error(`failed to unmount resctrl at ${this.#root}: ${r.stderr.trim()}`);
    this.#unmounted = true;
  }

  async seedGroup(g: SeededGroup): Promise<void> {
    await this.#seeds.create(g);
  }

  async preexistingPod(pod: string, containers: readonly ContainerSpec[]): Promise<void> {
    if (this.#plugin) throw new Error(`failed to add pre-existing pod ${pod}: the plugin already started`);
    this.#track(await this.#driver.create(pod, containers), this.#driver);
  }

  /**
   * Takes every free RMID with empty helper groups (`hwf_<run>_<n>`). RMIDs that earlier groups
   * left in limbo are drained first (threshold at the LLC size) and taken too, so that group
   * creation answers ENOSPC ("exhausted"), not EBUSY; if limbo outlasts {@link FILL_LIMBO_WAIT_MS}
   * the host counts as full anyway (EBUSY), with a warning.
   */
  async injectCapacityExhaustion(): Promise<void> {
    const rmids = Number((await readFile(join(this.#root, "info/L3_MON/num_rmids"), "utf8")).trim());
    this.#filler ??= new RmidFiller({
      monGroupsDir: join(this.#root, "mon_groups"),
      prefix: this.#prefix.filler,
      maxGroups: rmids + FILLER_MARGIN,
    });
    await this.#raiseThreshold().catch((e: unknown) =>
      console.warn(`[hardware world] ${(e as Error).message}; limbo may drain slowly`),
    );
    const r = await this.#filler.fillUntilFull(FILL_TIMEOUT_MS, { limboWaitMs: FILL_LIMBO_WAIT_MS });
    if (r.full === "EBUSY")
      console.warn(
        `[hardware world] RMIDs exhausted with ${r.held} helper groups, but freed RMIDs stayed in limbo for ${FILL_LIMBO_WAIT_MS} ms: group creation answers EBUSY (limbo), not ENOSPC`,
      );
    this.#capacity = "exhausted";
  }

  /**
   * Frees one helper group's RMID and waits until it left limbo (threshold at the LLC size, then a
   * probe mkdir succeeds), so the next group creation can take it. After
   * {@link freeCapacityIntoLimbo} it only waits for the drain.
   */
  async freeCapacity(): Promise<void> {
    if (this.#capacity === "limbo") return this.drainRmidLimbo();
    if (!this.#filler || this.#filler.count === 0) return;
    await this.#raiseThreshold();
    await this.#filler.freeOne();
    await this.#awaitDrain();
  }

  /**
   * Frees the newest helper group's RMID into a limbo that holds: the threshold goes to 0 (the
   * kernel then keeps every RMID in limbo: no occupancy is below 0), a short-lived process in that
   * group fills the cache (so the RMID is dirty and enters limbo on kernels before 6.8 too, which
   * free a clean RMID at once), then the group is removed. Checks that a probe mkdir answers EBUSY
   * at once and still after {@link LIMBO_HOLD_CHECK_MS} (two kernel limbo checks), else rejects
   * naming what it saw. Only that one RMID is freed: it is all the scenarios need, and filling the
   * cache for hundreds of RMIDs in turn would evict the earlier ones' lines again.
   */
  async freeCapacityIntoLimbo(): Promise<void> {
    const filler = this.#filler;
    const helper = filler?.newest;
    if (!filler || helper === undefined)
      throw new Error(
        "failed to free RMIDs into limbo: no helper group holds one (Given no monitoring group can be created for lack of RMIDs)",
      );
    await this.#threshold.set(LIMBO_HOLD_THRESHOLD_BYTES);
    const fill = await this.#llcBytes();
    // Only kernels before 6.8 need the RMID dirty; the probes below decide whether limbo holds.
    const occupancy = await dirtyGroupCache(helper, fill, CACHE_FILL_TIMEOUT_MS).catch((e: unknown) => {
      console.warn(`[hardware world] ${(e as Error).message}; freeing the RMID without filling the cache`);
      return NaN;
    });
    await filler.freeOne();
    const atOnce = await filler.probe();
    let later = atOnce;
    if (atOnce === "limbo") {
      await sleep(LIMBO_HOLD_CHECK_MS);
      later = await filler.probe();
    }
    if (atOnce !== "limbo" || later !== "limbo") {
      const threshold = await this.#threshold.current().catch(() => NaN);
      throw new Error(
        `failed to hold the freed RMID in limbo: a probe mkdir answered ${answer(atOnce)} at once and ${answer(later)} after ${LIMBO_HOLD_CHECK_MS} ms, expected EBUSY both times (helper llc_occupancy ${occupancy} bytes, max_threshold_occupancy ${threshold})`,
      );
    }
    this.#capacity = "limbo";
  }

  /** Raises the threshold to the LLC size, so the RMIDs in limbo are freed at the next kernel limbo check, and waits for that. */
  async drainRmidLimbo(): Promise<void> {
    if (!this.#filler)
      throw new Error(
        "failed to drain RMID limbo: no RMID was freed into limbo (Given RMIDs are freed but still in limbo)",
      );
    await this.#raiseThreshold();
    await this.#awaitDrain();
  }

  // ---- act -------------------------------------------------------------------------------

  configurePlugin(settings: PluginStartOptions): void {
    if (this.#plugin) throw new Error("failed to configure the plugin: it already started");
    this.#settings = mergeStartOptions(this.#settings, settings);
  }

  async startPlugin(given: PluginStartOptions = {}): Promise<void> {
    if (this.#plugin) throw new Error("failed to start the plugin: it already runs");
    const o = mergeStartOptions(this.#settings, given);
    const logDir = this.params.logDir ?? join(this.params.repoRoot, "reports/hardware/logs");
    await mkdir(logDir, { recursive: true });
    this.#plugin = await PluginHandle.start({
      daemon: {
        repoRoot: this.params.repoRoot,
        nriSocket: this.params.nriSocket ?? DEFAULT_NRI_SOCKET,
        pluginName: `resctrl-${this.#prefix.run}`,
        pluginIdx: TEST_PLUGIN_IDX,
        groupPrefix: this.#prefix.plugin,
        resctrlRoot: this.#root,
        controlSocket: join(this.#ctx.tmpDir, "control.sock"),
        cleanupOnStart: o.cleanupOnStart,
        autoMount: o.autoMount,
        logFile: join(logDir, `${this.#ctx.id}.log`),
        // Unset: no flag, the daemon's own default (10 s), as users get it.
        retryIntervalMs: effectiveRetryInterval(o.retryIntervalMs).ms,
        namespaces: o.namespaces?.map((n) => this.#namespaceName(n)),
        excludeNamespaces: o.excludeNamespaces?.map((n) => this.#namespaceName(n)),
        podLabelSelector: o.podLabelSelector,
        followRdtClasses: effectiveFollowRdtClasses(o.followRdtClasses),
      },
      timeoutMs: this.#ctx.timeoutMs,
      uidToPod: this.#uidToPod,
      log: this.eventLog,
      // Only after a drain: then an answer "RMIDs in limbo" is the drain probe's RMID (retry).
      capacityFreed: () => this.#capacity === "freed",
    });
  }

  async runPod(pod: string): Promise<void> {
    this.#track(await this.#driver.create(pod, []), this.#driver);
  }

  /** A pod (no container yet) in this run's own namespace for the scenario's one ({@link #namespaced}), with the labels. */
  async runPodWith(pod: string, placement: PodPlacement): Promise<void> {
    const driver =
      placement.namespace === undefined ? this.#driver : await this.#namespaced(placement.namespace);
    this.#track(await driver.create(pod, [], [], placement.labels), driver);
  }

  /**
   * A container whose class the scenario set ({@link placeContainerInClass}) is born in it: the
   * pod's containerd shim (the parent of the pause process, and of runc, whose child becomes the
   * container's process) is in the class while the kubelet creates the container.
   */
  async startContainer(pod: string, container: ContainerSpec): Promise<void> {
    const p = this.#pod(pod);
    const name = this.#classOf.get(`${pod}/${container.name}`);
    if (name === undefined) {
      await this.#drv(pod).startContainer(p, container);
      return;
    }
    const shim = parentPidOf(await readFile(`/proc/${await this.#kube.sandboxPid(p.uid)}/stat`, "utf8"));
    await this.#classes.withProcessIn(name, shim, () => this.#drv(pod).startContainer(p, container));
  }

  async addEphemeralContainer(pod: string, container: ContainerSpec): Promise<void> {
    await this.#drv(pod).addEphemeral(this.#pod(pod), container);
  }

  /** A signal from the host to the container's main process (crash: SIGKILL; complete: SIGTERM, answered by exit 0). */
  async exitContainer(pod: string, container: string, how: "crash" | "complete"): Promise<void> {
    const p = this.#pod(pod);
    await this.#drv(pod).exit(p, this.#container(p, container), how);
  }

  /** Waits for the kubelet's own replacement of the crashed container (attempt + 1); creates nothing. */
  async restartContainer(pod: string, container: string): Promise<void> {
    const p = this.#pod(pod);
    await this.#drv(pod).awaitRestart(p, this.#container(p, container));
  }

  /** The kubelet's CRI StopContainer (slot image patched to the placeholder), or `crictl stop` for an ephemeral container. */
  async stopContainer(pod: string, container: string): Promise<void> {
    const p = this.#pod(pod);
    await this.#drv(pod).stop(p, this.#container(p, container));
  }

  /** A pod spec with `initContainers` (each exits 0); resolves once they completed and the containers run. */
  async runPodWithInitContainers(
    pod: string,
    inits: readonly string[],
    containers: readonly ContainerSpec[],
  ): Promise<void> {
    this.#track(await this.#driver.create(pod, containers, inits), this.#driver);
  }

  /**
   * The container completes (SIGTERM from the host, exit 0: restartPolicy OnFailure keeps it
   * exited) right before the daemon starts; resolves once the daemon was synchronized and the
   * runtime reports the container exited.
   */
  async startPluginWhileContainerExits(pod: string, container: string): Promise<void> {
    const p = this.#pod(pod);
    const c = this.#container(p, container);
    await this.#drv(pod).signalExit(p, c, "complete");
    await this.startPlugin();
    await this.#drv(pod).awaitExit(p, c, "complete");
  }

  async removeContainer(pod: string, container: string): Promise<void> {
    const p = this.#pod(pod);
    const c = p.containers.get(container);
    if (!c || c.removed)
      throw new Error(`failed to remove container ${container} of ${pod}: no such running container`);
    await this.#drv(pod).removeContainer(p, c);
  }

  /** Deletes the pod and removes its sandbox through CRI; a sandbox the kubelet removed first is fine. */
  async removePod(pod: string): Promise<void> {
    await this.#drv(pod).removePod(this.#pod(pod));
  }

  /**
   * "kubelet": {@link removePod} (the kubelet's own order for a deleted pod, then `crictl rmp` instead
   * of its one-minute GC). "crictl-containers-first": each container removed through CRI while the
   * sandbox runs (its slot patched to the placeholder first, so the kubelet does not restart it),
   * then the pod deleted and its sandbox removed (pod-driver.ts `removePodContainersFirst`).
   */
  async removePodInOrder(pod: string, order: RemovalOrder): Promise<void> {
    const p = this.#pod(pod);
    if (order === "kubelet") await this.#drv(pod).removePod(p);
    else await this.#drv(pod).removePodContainersFirst(p);
  }

  async retryGroupCreation(pod: string): Promise<RetryOutcome> {
    return this.#p().retryGroupCreation(this.#pod(pod, true).uid);
  }

  async retryContainer(pod: string, container: string): Promise<RetryOutcome> {
    const id = this.#pod(pod, true).containers.get(container)?.id;
    if (!id)
      return {
        ok: false,
        error: "container-not-found",
        message: `container ${container} of ${pod} never ran`,
      };
    return this.#p().retryContainer(id);
  }

  async retryAllOnce(): Promise<RetryOutcome> {
    return this.#p().retryAllOnce();
  }

  // ---- observe ---------------------------------------------------------------------------

  async groupOf(pod: string): Promise<GroupObservation> {
    const { reported, path } = this.eventLog.lastGroupReport(pod);
    let existsOnDisk: boolean;
    if (path) existsOnDisk = (await stat(path).catch(() => undefined))?.isDirectory() === true;
    else {
      // No path reported: look for any group of ours named after the pod's UID.
      const uid = this.#pod(pod, true).uid;
      const names = await readdir(join(this.#root, "mon_groups")).catch(() => [] as string[]);
      existsOnDisk = uid !== "" && names.some((n) => n.startsWith(`${this.#prefix.plugin}${uid}`));
    }
    return { reported, path, existsOnDisk };
  }

  async tasksOf(pod: string): Promise<number[]> {
    const g = await this.groupOf(pod);
    if (!g.path || !g.existsOnDisk) return [];
    return parseTaskList(await readFile(join(g.path, "tasks"), "utf8"));
  }

  async expectedTasksOf(pod: string): Promise<number[]> {
    const tids = new Set<number>();
    for (const c of this.#pod(pod, true).containers.values()) {
      if (c.removed || c.exited || !c.id) continue;
      const dir = await findContainerCgroup(c.id);
      if (!dir) throw new Error(`failed to find the cgroup of container ${c.name} (${c.id}) of pod ${pod}`);
      for (const t of await threadsOfCgroup(dir)) tids.add(t);
    }
    return [...tids].sort((a, b) => a - b);
  }

  async snapshot(): Promise<PodView[]> {
    return this.#p().snapshot();
  }

  async resctrlMounted(): Promise<boolean> {
    const mounts = parseMounts(await readFile("/proc/mounts", "utf8"));
    return mounts.some((m) => m.fstype === "resctrl" && m.target === this.#root);
  }

  async seededGroupExists(label: string): Promise<boolean> {
    return this.#seeds.exists(label);
  }

  async logLines(filter: { msgIncludes?: string } = {}): Promise<LogRecord[]> {
    const needle = filter.msgIncludes;
    return (this.#plugin?.records ?? []).filter(
      (r) => needle === undefined || String(r.msg ?? "").includes(needle),
    );
  }

  resctrlRoot(): string {
    return this.#root;
  }

  // ---- RDT classes (@rdt-classes) ----------------------------------------------------------

  /** mkdir `<root>/<foreign prefix><name>`: a real control group (it takes a CLOSID); dispose removes it. */
  async createRdtClass(name: string): Promise<void> {
    await this.#classes.create(name);
  }

  rdtClassPath(name: string): string {
    return this.#classes.pathOf(name);
  }

  /**
   * A container the world starts later is born in the class ({@link startContainer}); the threads
   * of a running one are written into the class's `tasks` now (the threads it makes later inherit
   * the class). A container the kubelet restarts by itself is not placed.
   */
  async placeContainerInClass(pod: string, container: string, name: string): Promise<void> {
    await this.#classes.requireExists(name, `put container ${container} of ${pod} into an RDT class`);
    this.#classOf.set(`${pod}/${container}`, name);
    const c = this.#pod(pod).containers.get(container);
    if (!c || c.removed || c.exited || !c.id) return;
    const dir = await findContainerCgroup(c.id);
    if (!dir) throw new Error(`failed to find the cgroup of container ${container} (${c.id}) of pod ${pod}`);
    await this.#classes.moveTasks(name, await threadsOfCgroup(dir));
  }

  async removeRdtClass(name: string): Promise<void> {
    await this.#classes.remove(name);
  }

  async seedGroupInClass(name: string, group: { label: string; owner: "plugin" | "other" }): Promise<void> {
    const path = await this.#classes.requireExists(name, `seed group ${group.label} in an RDT class`);
    await this.#seeds.createIn(join(path, "mon_groups"), group);
  }

  monitoringGroupsInClass(name: string): Promise<string[]> {
    return this.#classes.monitoringGroups(name);
  }

  /** The daemon's `PodState.groups` (GetState), each group's tasks read from the kernel's `tasks` file. */
  async podGroups(pod: string): Promise<PodGroupView[]> {
    const p = await this.#podState(pod);
    return Promise.all(
      wirePodGroups(p, this.#root).map(async (g) => ({
        rdtClass: this.#classes.nameOf(g.controlGroup),
        path: g.path,
        state: g.state,
        tasks: await this.#classes.tasksOf(g.path),
      })),
    );
  }

  async containerState(pod: string, container: string): Promise<ContainerStateView> {
    const id = this.#pod(pod, true).containers.get(container)?.id;
    const view = id === undefined ? undefined : wireContainerState(await this.#podState(pod), id);
    if (!view) throw new Error(`failed to find container ${container} of pod ${pod} in the daemon's state`);
    return view;
  }

  async expectedTasksOfContainer(pod: string, container: string): Promise<number[]> {
    const c = this.#pod(pod, true).containers.get(container);
    if (!c || c.removed || c.exited || !c.id) return [];
    const dir = await findContainerCgroup(c.id);
    if (!dir) throw new Error(`failed to find the cgroup of container ${container} (${c.id}) of pod ${pod}`);
    return threadsOfCgroup(dir);
  }

  /** The daemon's state of one scenario pod (GetState); rejects when it does not know the pod. */
  async #podState(pod: string): Promise<State["pods"][number]> {
    const uid = this.#pod(pod, true).uid;
    const p = (await this.#p().state()).pods.find((x) => x.podUid === uid);
    if (!p) throw new Error(`failed to find pod ${pod} (${uid}) in the daemon's state`);
    return p;
  }

  // ---- the HTTP endpoint (@metrics-endpoint) ------------------------------------------------

  scrapeMetrics(): Promise<MetricSample[]> {
    return this.#p().scrapeMetrics();
  }

  probe(path: "/readyz" | "/healthz"): Promise<ProbeAnswer> {
    return this.#p().httpGet(path);
  }

  /** The pod's Kubernetes UID, name (`<run>-<scenario name>`) and namespace. */
  async podIdentity(pod: string): Promise<PodIdentity> {
    const p = this.#pod(pod, true);
    return { uid: p.uid, name: p.kubeName, namespace: this.#drv(pod).namespace };
  }

  droppedEvents(): Promise<number> {
    return this.#p().droppedEvents();
  }

  // ---- the runtime itself ------------------------------------------------------------------

  /** `systemctl restart k3s`: containerd restarts, pods keep running; resolves once the API and the node are back. */
  async restartRuntime(): Promise<void> {
    const r = await this.#host.run("systemctl", ["restart", K3S_SERVICE], {
      timeoutMs: RUNTIME_RESTART_TIMEOUT_MS,
    });
    if (r.exitCode !== 0)
      throw new Error(`failed to restart ${K3S_SERVICE}: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
    await this.#kube.waitClusterReady(RUNTIME_RESTART_TIMEOUT_MS);
  }

  async runtimeSyncCount(): Promise<number> {
    return this.#plugin?.syncCount() ?? 0;
  }

  // ---- internals ---------------------------------------------------------------------------

  /** The LLC size in bytes (the kernel's limit of the threshold), from /proc/cpuinfo. */
  async #llcBytes(): Promise<number> {
    return parseLlcBytes(await readFile("/proc/cpuinfo", "utf8").catch(() => "")) ?? FALLBACK_LLC_BYTES;
  }

  /** Drain mode: the threshold at the LLC size, which no occupancy exceeds, so limbo empties within a limbo check. */
  async #raiseThreshold(): Promise<void> {
    const llc = parseLlcBytes(await readFile("/proc/cpuinfo", "utf8").catch(() => ""));
    if (llc === undefined)
      throw new Error(
        `failed to raise ${this.#threshold.path}: /proc/cpuinfo names no "cache size" (the kernel's limit)`,
      );
    await this.#threshold.set(llc);
  }

  /** Waits until a probe mkdir succeeds (limbo drained), then lets the probe's own RMID drain too. */
  async #awaitDrain(): Promise<void> {
    await this.#filler!.waitForDrain(LIMBO_DRAIN_TIMEOUT_MS);
    await sleep(LIMBO_SETTLE_MS);
    this.#capacity = "freed";
  }

  #track(p: HwPod, driver: PodDriver): void {
    this.#pods.set(p.name, p);
    this.#driverOf.set(p.name, driver);
    this.#uidToPod.set(p.uid, p.name);
    // Events that arrived before the UID was known (rare: kubectl create answers first).
    this.#plugin?.replayUnmapped();
  }

  async #sweepPluginGroups(): Promise<void> {
    const dir = join(this.#root, "mon_groups");
    for (const n of await readdir(dir).catch(() => [] as string[])) {
      if (n.startsWith(this.#prefix.plugin)) await rmdir(join(dir, n)).catch(() => undefined);
    }
  }

  #container(p: HwPod, name: string): HwContainer {
    const c = p.containers.get(name);
    if (!c || c.removed)
      throw new Error(`failed to find container ${name} of ${p.name}: never started or removed`);
    return c;
  }

  #pod(name: string, allowRemoved = false): HwPod {
    const p = this.#pods.get(name);
    if (!p) throw new Error(`failed to find pod ${name}: the scenario never created it`);
    if (p.removed && !allowRemoved) throw new Error(`failed to act on pod ${name}: it was removed`);
    return p;
  }

  /** The driver of the pod's namespace. */
  #drv(pod: string): PodDriver {
    const d = this.#driverOf.get(pod);
    if (!d) throw new Error(`failed to find pod ${pod}: the scenario never created it`);
    return d;
  }

  /**
   * The driver of this run's namespace for a namespace the scenario names:
   * `nri-resctrl-e2e-<run>-<name>` (cut to 63 characters), created on first use with the run's
   * label and deleted by {@link dispose}; the daemon's namespace filters are mapped the same way.
   */
  async #namespaced(scenarioName: string): Promise<PodDriver> {
    const known = this.#namespaceDrivers.get(scenarioName);
    if (known) return known;
    const kube = new Kube(this.#host, {
      namespace: this.#namespaceName(scenarioName),
      kubeconfig: this.params.kubeconfig,
      timeoutMs: this.#ctx.timeoutMs,
    });
    await kube.ensureNamespace({
      "app.kubernetes.io/part-of": "nri-resctrl-e2e",
      [RUN_LABEL]: this.#prefix.run,
    });
    const driver = new PodDriver(kube, {
      run: this.#prefix.run,
      cfgRoot: join(CFG_ROOT, this.#prefix.run),
      timeoutMs: this.#ctx.timeoutMs,
    });
    this.#namespaceDrivers.set(scenarioName, driver);
    this.#namespaceKubes.push(kube);
    return driver;
  }

  /** The real namespace of a scenario's namespace name. Pure. */
  #namespaceName(scenarioName: string): string {
    return kubeName(TEST_NAMESPACE, this.#prefix.run, scenarioName);
  }

  #p(): PluginHandle {
    if (!this.#plugin)
      throw new Error("failed to reach the plugin: it was not started (Given the plugin is running)");
    return this.#plugin;
  }
}

/** A probe's answer in kernel terms, for error messages. Pure. */
function answer(a: RmidAvailability): string {
  return a === "limbo" ? "EBUSY" : a === "exhausted" ? "ENOSPC" : "success (an RMID was free)";
}
