import { mkdir, readdir, readFile, rm, rmdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { EventLogWorld } from "../event-log-world.js";
import {
  CapabilityMissingError,
  type Capability,
  type ContainerSpec,
  type GroupObservation,
  type LogRecord,
  type PluginStartOptions,
  type PodView,
  type PodWorld,
  type RetryOutcome,
  type ScenarioContext,
  type SeededGroup,
} from "../types.js";
import { findContainerCgroup, parseTaskList, threadsOfCgroup } from "./cgroup-tasks.js";
import { nodeHost, type HostPort } from "./host.js";
import { Kube, WORKLOAD_IMAGE } from "./kube.js";
import { PluginHandle } from "./plugin-handle.js";
import { PodDriver, type HwContainer, type HwPod } from "./pod-driver.js";
import { DEFAULT_NRI_SOCKET, DEFAULT_RESCTRL_ROOT, parseMounts } from "./preflight.js";
import { hardwarePrefixes } from "./retry.js";
import { RmidFiller } from "./rmid-filler.js";
import { SeedTracker } from "./seeds.js";

/** Host directory holding each pod's slot thread counts (hostPath of the test pods). */
export const CFG_ROOT = "/run/nri-resctrl-e2e";
/** NRI plugin index of the test daemon (after the usual 10–50 of real plugins). */
export const TEST_PLUGIN_IDX = "90";
/** The systemd unit of k3s, whose restart restarts its embedded containerd (pods keep running). */
export const K3S_SERVICE = "k3s";
/** How long a k3s restart may take until its API answers and the node is Ready again. */
export const RUNTIME_RESTART_TIMEOUT_MS = 180_000;
/** How long dispose waits for the helper groups' RMIDs to leave limbo. */
export const RMID_RELEASE_WAIT_MS = 15_000;
/** Helper groups allowed beyond num_rmids before the filler gives up (groups of other pods, limbo). */
export const FILLER_MARGIN = 16;

const CAPABILITIES: ReadonlySet<Capability> = new Set<Capability>([
  "fault-injection",
  "mount-control",
  "resctrl-kernel",
  "kubernetes",
  "runtime-restart",
]);

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
 * Capacity exhaustion uses real helper groups under a different prefix. Never fakes anything: what
 * it cannot do (scripted PIDs, fs audit, scripted runtime orderings, chosen pod UIDs, stalled
 * in-process consumers) rejects with {@link CapabilityMissingError}.
 *
 * Ownership: one instance per scenario; `dispose()` stops the daemon, deletes the scenario's pods,
 * removes helper, seeded and plugin groups of this scenario, and remounts resctrl if it unmounted it.
 */
export class HardwareWorld extends EventLogWorld implements PodWorld {
  readonly name = "hardware";
  readonly #host: HostPort = nodeHost();
  readonly #pods = new Map<string, HwPod>();
  readonly #uidToPod = new Map<string, string>();
  readonly #root: string;
  #ctx!: ScenarioContext;
  #prefix!: ReturnType<typeof hardwarePrefixes>;
  #kube!: Kube;
  #driver!: PodDriver;
  #seeds!: SeedTracker;
  #plugin: PluginHandle | undefined;
  #filler: RmidFiller | undefined;
  #capacity: "normal" | "exhausted" | "freed" = "normal";
  #unmounted = false;

  constructor(private readonly params: HardwareWorldParameters) {
    super();
    this.#root = params.resctrlRoot ?? DEFAULT_RESCTRL_ROOT;
  }

  capabilities(): ReadonlySet<Capability> {
    return CAPABILITIES;
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
    // The scenario unmounted resctrl; unless the plugin mounted it again, later scenarios need it.
    if (this.#unmounted && !(await this.resctrlMounted().catch(() => true)))
      await quietly(() => this.#host.run("mount", ["-t", "resctrl", "resctrl", this.#root]));
    if (this.#filler) {
      const left = await this.#filler.removeAll();
      if (left.length) console.warn(`[hardware world] cleanup: helper groups left: ${left.join(" ")}`);
      else if (!(await this.#filler.waitUntilAllocatable(RMID_RELEASE_WAIT_MS)))
        console.warn(
          `[hardware world] cleanup: no RMID allocatable ${RMID_RELEASE_WAIT_MS} ms after removing the helper groups (limbo)`,
        );
    }
    if (this.#seeds) await quietly(() => this.#seeds.removeAll());
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
    this.#track(await this.#driver.create(pod, containers));
  }

  async injectCapacityExhaustion(): Promise<void> {
    const rmids = Number((await readFile(join(this.#root, "info/L3_MON/num_rmids"), "utf8")).trim());
    this.#filler ??= new RmidFiller({
      monGroupsDir: join(this.#root, "mon_groups"),
      prefix: this.#prefix.filler,
      maxGroups: rmids + FILLER_MARGIN,
    });
    await this.#filler.fillUntilFull(this.#ctx.timeoutMs);
    this.#capacity = "exhausted";
  }

  async freeCapacity(): Promise<void> {
    if (!this.#filler || this.#filler.count === 0) return;
    await this.#filler.freeOne();
    this.#capacity = "freed";
  }

  async scriptTasks(): Promise<void> {
    throw new CapabilityMissingError(this.name, "scripted-pids", "script a container's tasks");
  }

  // ---- act -------------------------------------------------------------------------------

  async startPlugin(o: PluginStartOptions = {}): Promise<void> {
    if (this.#plugin) throw new Error("failed to start the plugin: it already runs");
    if (o.syncChunkSize !== undefined)
      throw new CapabilityMissingError(this.name, "scripted-runtime", "chunk Synchronize");
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
      },
      timeoutMs: this.#ctx.timeoutMs,
      uidToPod: this.#uidToPod,
      log: this.eventLog,
      capacityFreed: () => this.#capacity === "freed",
    });
  }

  async runPod(pod: string, options: { uid?: string } = {}): Promise<void> {
    if (options.uid !== undefined)
      throw new CapabilityMissingError(
        this.name,
        "chosen-pod-uids",
        `run pod ${pod} with a chosen UID (Kubernetes assigns UIDs)`,
      );
    this.#track(await this.#driver.create(pod, []));
  }

  async startContainer(pod: string, container: ContainerSpec): Promise<void> {
    await this.#driver.startContainer(this.#pod(pod), container);
  }

  async startContainerBeforePod(): Promise<void> {
    throw new CapabilityMissingError(this.name, "scripted-runtime", "start a container before its pod");
  }

  async resendContainerStart(): Promise<void> {
    throw new CapabilityMissingError(this.name, "scripted-runtime", "repeat a container start");
  }

  async resendPodStart(): Promise<void> {
    throw new CapabilityMissingError(this.name, "scripted-runtime", "repeat a pod start");
  }

  async addEphemeralContainer(pod: string, container: ContainerSpec): Promise<void> {
    await this.#driver.addEphemeral(this.#pod(pod), container);
  }

  /** A signal from the host to the container's main process (crash: SIGKILL; complete: SIGTERM, answered by exit 0). */
  async exitContainer(pod: string, container: string, how: "crash" | "complete"): Promise<void> {
    const p = this.#pod(pod);
    await this.#driver.exit(p, this.#container(p, container), how);
  }

  /** Waits for the kubelet's own replacement of the crashed container (attempt + 1); creates nothing. */
  async restartContainer(pod: string, container: string): Promise<void> {
    const p = this.#pod(pod);
    await this.#driver.awaitRestart(p, this.#container(p, container));
  }

  /** The kubelet's CRI StopContainer (slot image patched to the placeholder), or `crictl stop` for an ephemeral container. */
  async stopContainer(pod: string, container: string): Promise<void> {
    const p = this.#pod(pod);
    await this.#driver.stop(p, this.#container(p, container));
  }

  /** A pod spec with `initContainers` (each exits 0); resolves once they completed and the containers run. */
  async runPodWithInitContainers(
    pod: string,
    inits: readonly string[],
    containers: readonly ContainerSpec[],
  ): Promise<void> {
    this.#track(await this.#driver.create(pod, containers, inits));
  }

  /**
   * The container completes (SIGTERM from the host, exit 0: restartPolicy OnFailure keeps it
   * exited) right before the daemon starts; resolves once the daemon was synchronized and the
   * runtime reports the container exited.
   */
  async startPluginWhileContainerExits(pod: string, container: string): Promise<void> {
    const p = this.#pod(pod);
    const c = this.#container(p, container);
    await this.#driver.signalExit(p, c, "complete");
    await this.startPlugin();
    await this.#driver.awaitExit(p, c, "complete");
  }

  async removeContainer(pod: string, container: string): Promise<void> {
    const p = this.#pod(pod);
    const c = p.containers.get(container);
    if (!c || c.removed)
      throw new Error(`failed to remove container ${container} of ${pod}: no such running container`);
    await this.#driver.removeContainer(p, c);
  }

  async removePod(pod: string): Promise<void> {
    await this.#driver.removePod(this.#pod(pod));
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

  groupCreationAttempts(): Promise<number> {
    return this.#lacks("fs-audit", "count group creation attempts");
  }

  groupCreationAttemptsDuringLastRetry(): Promise<number> {
    return this.#lacks("fs-audit", "count group creation attempts");
  }

  taskWrites(): Promise<number[]> {
    return this.#lacks("fs-audit", "list task writes");
  }

  pathsTouchedOutsideRoot(): Promise<string[]> {
    return this.#lacks("fs-audit", "list paths touched");
  }

  groupsCreated(): Promise<string[]> {
    return this.#lacks("fs-audit", "list created groups");
  }

  resctrlRoot(): string {
    return this.#root;
  }

  stallConsumer(): Promise<void> {
    return this.#lacks("event-backpressure", "stall a consumer");
  }

  droppedEvents(): Promise<number> {
    return this.#p().droppedEvents();
  }

  resyncConsumer(): Promise<void> {
    return this.#lacks("event-backpressure", "resync a consumer");
  }

  consumerView(): Promise<PodView[]> {
    return this.#lacks("event-backpressure", "read a consumer view");
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

  #lacks<T>(cap: Capability, action: string): Promise<T> {
    return Promise.reject(new CapabilityMissingError(this.name, cap, action));
  }

  #track(p: HwPod): void {
    this.#pods.set(p.name, p);
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

  #p(): PluginHandle {
    if (!this.#plugin)
      throw new Error("failed to reach the plugin: it was not started (Given the plugin is running)");
    return this.#plugin;
  }
}
