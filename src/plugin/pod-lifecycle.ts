import type { Logger } from "pino";
import type { NriContainer, NriPod } from "../nri/types.js";
import type { EventBus } from "./event-bus.js";
import { GroupNameCollisionError, errorName } from "./errors.js";
import type { ContainerSyncState, PodResctrlEvent, ResctrlGroupState } from "./events.js";
import type { CgroupPidSource } from "./pid-source.js";
import type { ContainerEntry, PodEntry, PodRegistry } from "./pod-registry.js";
import { isCapacityError, isRmidLimboError, type ResctrlPort } from "./resctrl-port.js";
import { emptyPluginStats, type PluginStats } from "./stats.js";
import { posix } from "node:path";
import { EmptyPidSetError } from "../resctrl/errors.js";

/**
 * Why a pod's group could not be created, for its state: "RMIDs in limbo …" (busy, retry later),
 * "RMIDs exhausted …", or the error's message.
 */
export function groupFailureReason(err: unknown): string {
  if (isRmidLimboError(err))
    return "RMIDs in limbo: no RMID is free yet, freed ones wait until their cache occupancy drains; retry later";
  if (isCapacityError(err))
    return "RMIDs exhausted (ENOSPC): free RMIDs (remove monitoring groups), then retry";
  return err instanceof Error ? err.message : String(err);
}

/** Outcome of one container reconcile: converged, or not (with the error, if one was thrown). */
export interface ReconcileResult {
  converged: boolean;
  error?: unknown;
}

/**
 * The state transitions of `ResctrlPlugin` that touch resctrl and emit events. Every method must
 * be called under the pod's lock (the plugin's KeyedMutex); they re-check the registry after each
 * await, so a pod or container removed meanwhile is never resurrected or counted. Never rejects
 * except {@link createGroup} (which rejects with the resctrl error).
 */
export class PodLifecycle {
  constructor(
    readonly reg: PodRegistry,
    private readonly resctrl: ResctrlPort,
    private readonly pids: CgroupPidSource,
    private readonly bus: EventBus<PodResctrlEvent>,
    private readonly log: Logger,
    private readonly maxReconcilePasses: number,
    readonly stats: PluginStats = emptyPluginStats(),
    private readonly followRdtClasses = false,
  ) {}

  /** Counts a failed group creation in {@link stats}. */
  countCreateFailure(err: unknown): void {
    if (isCapacityError(err)) this.stats.groupCreateFailures.capacity += 1;
    else this.stats.groupCreateFailures.other += 1;
  }

  /** Creates (or adopts) the group of `uid`; rejects on any error, including a name collision. */
  async createGroup(uid: string): Promise<string> {
    const path = this.resctrl.groupPathFor(uid);
    if (this.reg.groupPathInUse(path, uid)) throw new GroupNameCollisionError(uid, path);
    return this.resctrl.createGroup(uid);
  }

  /** Under the pod lock. Returns the containers promoted from NoPod (state Pending). */
  async addPod(pod: NriPod): Promise<ContainerEntry[]> {
    const existing = this.reg.pods.get(pod.uid);
    if (existing) {
      this.reg.addSandbox(existing, pod);
      return this.reg.promoteNoPod(existing, pod.id);
    }
    let state: ResctrlGroupState;
    let groupError: string | undefined;
    try {
      state = { kind: "Exists", path: await this.createGroup(pod.uid) };
    } catch (err) {
      state = { kind: "Failed" };
      groupError = groupFailureReason(err);
      this.countCreateFailure(err);
      const level = isCapacityError(err) ? "warn" : "error";
      this.log[level](
        { err, podUid: pod.uid, reason: groupError },
        "failed to create group; pod marked Failed",
      );
    }
    const entry = this.reg.addPod(pod, state);
    entry.groupError = groupError;
    this.emitIfChanged(entry);
    return this.reg.promoteNoPod(entry, pod.id);
  }

  /** Under the pod lock: first reconcile of a Pending container, then count it. */
  async settle(uid: string, c: ContainerEntry, reason: string): Promise<void> {
    const pod = this.reg.pods.get(uid);
    if (!pod || pod.containers.get(c.id) !== c || c.state !== "Pending") return;
    const r = await this.reconcile(pod, c, reason); // not converged, without I/O, unless Exists
    if (this.reg.pods.get(uid) !== pod || pod.containers.get(c.id) !== c || c.state !== "Pending") return;
    if (!r.converged && (await this.exitedUnannounced(pod, c, r.error, reason))) return;
    c.state = r.converged ? "Reconciled" : "Partial";
    this.emitIfChanged(pod);
  }

  /**
   * Under the pod lock, after a reconcile that failed with CgroupGoneError: if the PID source
   * positively knows the container exited (cgroup and process gone), marks it Stopped as its
   * STOP_CONTAINER would have (the runtime may never send it: containerd before 2.0.3 drops the
   * stop of a container that exits while a plugin registers). Returns true if it did.
   */
  async exitedUnannounced(
    pod: PodEntry,
    c: ContainerEntry,
    error: unknown,
    reason: string,
  ): Promise<boolean> {
    if (errorName(error) !== "CgroupGoneError") return false;
    return this.stopIfVanished(pod, c, reason);
  }

  /**
   * Under the pod lock: asks the PID source whether the container is positively gone (cgroup and
   * process) and, if so, marks it Stopped as its STOP_CONTAINER would have (once; emits if the
   * counts changed). Any doubt or a rejecting source keeps it. Returns true if it marked it.
   */
  async stopIfVanished(pod: PodEntry, c: ContainerEntry, reason: string): Promise<boolean> {
    if (c.state === "Stopped") return false;
    let gone: boolean;
    try {
      gone = await this.pids.containerGone(c.container, pod.sandboxes.get(c.sandboxId));
    } catch (err) {
      this.log.warn(
        { err, podUid: pod.uid, containerId: c.id },
        "failed to check whether the container exited; Partial",
      );
      return false;
    }
    if (
      !gone ||
      this.reg.pods.get(pod.uid) !== pod ||
      pod.containers.get(c.id) !== c ||
      (c.state as ContainerSyncState) === "Stopped" // a STOP_CONTAINER may have arrived meanwhile
    )
      return false;
    const before = c.state;
    c.state = "Stopped";
    this.stats.containersVanished += 1;
    this.log.info(
      { podUid: pod.uid, containerId: c.id, reason, before },
      "container exited without a stop from the runtime (cgroup and process gone); no longer counted",
    );
    this.emitIfChanged(pod);
    return true;
  }

  async reconcile(pod: PodEntry, c: ContainerEntry, reason: string): Promise<ReconcileResult> {
    if (pod.groupState.kind !== "Exists") return { converged: false };
    const group = pod.groupState.path;
    const nriPod = pod.sandboxes.get(c.sandboxId);
    const t0 = Date.now();
    const source = (): Promise<number[]> => this.pids.tasksOf(c.container, nriPod);
    if (this.followRdtClasses)
      return this.reconcileAcrossClasses(
        pod,
        c,
        source,
        { podUid: pod.uid, containerId: c.id, reason, group },
        t0,
      );
    // Bulk (Synchronize) reconciles log at debug; the plugin logs one summary for the batch. The
    // record is built only when its level is enabled: thousands of unused log objects per
    // Synchronize cost the daemon megabytes of heap (docs/performance.md).
    const level = reason === "synchronize" ? "debug" : "info";
    try {
      const out = await this.resctrl.reconcileGroup(group, source, this.maxReconcilePasses);
      // The resctrl layer checks its last write against the PID set read *before* that write, so
      // tasks forked meanwhile are unseen. When it used every pass (it may have ended on a write),
      // re-read the source and the group once: Reconciled is claimed only for a fresh observation.
      const converged =
        out.converged &&
        (out.passes !== undefined && out.passes < this.maxReconcilePasses
          ? true
          : await this.allInGroup(group, source));
      if (this.log.isLevelEnabled(level))
        this.log[level](
          {
            podUid: pod.uid,
            containerId: c.id,
            reason,
            group,
            assigned: out.assigned,
            missing: out.missing,
            foreign: out.foreign,
            passes: out.passes,
            converged,
            durationMs: Date.now() - t0,
          },
          "reconciled container",
        );
      if (converged) {
        c.reason = undefined;
        c.blockedBy = undefined;
      } else if ((out.foreign ?? 0) > 0) await this.explainForeign(pod, c, out.failedPids ?? []);
      return { converged };
    } catch (error) {
      const empty = errorName(error) === "EmptyPidSetError";
      const errLevel = empty ? level : "warn";
      if (this.log.isLevelEnabled(errLevel))
        this.log[errLevel](
          { podUid: pod.uid, containerId: c.id, reason, group, err: error, durationMs: Date.now() - t0 },
          empty ? "container has no tasks yet; Partial" : "failed to reconcile container; Partial",
        );
      return { converged: false, error };
    }
  }

  /** True iff the source lists at least one task (or `emptyOk`) and every listed task is in `group` now. */
  private async allInGroup(
    group: string,
    source: () => Promise<number[]>,
    emptyOk = false,
  ): Promise<boolean> {
    const desired = await source();
    if (desired.length === 0) return emptyOk;
    const current = new Set(await this.resctrl.listGroupTasks(group));
    return desired.every((p) => current.has(p));
  }

  /**
   * Classes not followed: the kernel refused to move some tasks (EINVAL, "foreign"). If they live in
   * RDT control groups, say which (container `reason`, one warning per pod suggesting
   * --follow-rdt-classes) and mark the container blocked: retry passes skip it while those control
   * groups exist, so there is no retry loop. Never rejects.
   */
  private async explainForeign(
    pod: PodEntry,
    c: ContainerEntry,
    failed: ReadonlyArray<{ pid: number; outcome: string }>,
  ): Promise<void> {
    const pids = failed.filter((f) => f.outcome === "foreign").map((f) => f.pid);
    let ctrls: string[];
    try {
      const m = await this.resctrl.taskControlGroups(pids);
      ctrls = [...new Set([...m.values()].filter((g) => g !== this.resctrl.root))].sort();
    } catch (err) {
      this.log.debug({ err, podUid: pod.uid, containerId: c.id }, "failed to find the tasks' control groups");
      return;
    }
    if (ctrls.length === 0) return;
    const names = ctrls.map((g) => posix.basename(g)).join(", ");
    c.reason = `tasks in RDT control group ${names}: the kernel cannot move them into the pod's group under the resctrl root; start the plugin with --follow-rdt-classes to monitor them inside their class`;
    c.blockedBy = ctrls;
    if (!pod.classWarned) {
      pod.classWarned = true;
      this.log.warn(
        { podUid: pod.uid, containerId: c.id, controlGroups: ctrls },
        "pod has tasks in an RDT class; they stay unmonitored (start with --follow-rdt-classes to monitor them inside their class)",
      );
    }
  }

  /**
   * `followRdtClasses`: moves each task into the pod's group inside the control group the task
   * lives in (creating that group on demand: one per pod and control group), up to
   * `maxReconcilePasses` per control group. The first time, the control group of the container's
   * main process becomes the pod's primary one (its group is what `Exists(path)` shows). A group
   * that cannot be created (capacity, class gone) leaves the container Partial with that error;
   * retries create it later. Never rejects.
   */
  private async reconcileAcrossClasses(
    pod: PodEntry,
    c: ContainerEntry,
    source: () => Promise<number[]>,
    base: Record<string, unknown>,
    t0: number,
  ): Promise<ReconcileResult> {
    const root = this.resctrl.root;
    const split = async (): Promise<Map<string, number[]>> => {
      const tids = await source();
      const out = new Map<string, number[]>();
      if (tids.length === 0) return out;
      const ctrls = await this.resctrl.controlGroups();
      const where = ctrls.length === 0 ? undefined : await this.resctrl.taskControlGroups(tids);
      for (const t of tids) {
        const g = where ? where.get(t) : root;
        if (g === undefined) continue; // exited meanwhile
        const list = out.get(g);
        if (list) list.push(t);
        else out.set(g, [t]);
      }
      return out;
    };
    let first: Map<string, number[]>;
    try {
      first = await split();
    } catch (error) {
      this.log.warn({ ...base, err: error }, "failed to reconcile container; Partial");
      return { converged: false, error };
    }
    if (first.size === 0) {
      const error = new EmptyPidSetError(`failed to reconcile container ${c.id}: no tasks`);
      this.log.info({ ...base, durationMs: Date.now() - t0 }, "container has no tasks yet; Partial");
      return { converged: false, error };
    }
    if (pod.primaryCtrl === undefined) {
      const main = [...first].find(([, tids]) => tids.includes(c.container.pid))?.[0];
      pod.primaryCtrl = main ?? [...first.keys()][0];
    }
    let converged = true;
    let error: unknown;
    const perClass: Record<string, string> = {};
    for (const ctrl of first.keys()) {
      const name = ctrl === root ? "/" : posix.basename(ctrl);
      let group: string;
      try {
        group = await this.groupIn(pod, ctrl);
      } catch (err) {
        converged = false;
        error = err;
        perClass[name] = "group failed";
        continue;
      }
      const sub = async (): Promise<number[]> => (await split()).get(ctrl) ?? [];
      try {
        const out = await this.resctrl.reconcileGroup(group, sub, this.maxReconcilePasses);
        const ok =
          out.converged &&
          (out.passes !== undefined && out.passes < this.maxReconcilePasses
            ? true
            : await this.allInGroup(group, sub, true));
        perClass[name] = ok ? "converged" : `missing ${out.missing}`;
        if (!ok) converged = false;
      } catch (err) {
        if (errorName(err) === "EmptyPidSetError") {
          perClass[name] = "left"; // its tasks moved elsewhere meanwhile
          continue;
        }
        converged = false;
        error = err;
        perClass[name] = errorName(err);
      }
    }
    this.log.info(
      { ...base, controlGroups: perClass, converged, durationMs: Date.now() - t0 },
      "reconciled container across RDT classes",
    );
    if (converged) c.reason = undefined;
    else if (error !== undefined) c.reason = groupFailureReason(error);
    return error === undefined ? { converged } : { converged, error };
  }

  /** The pod's group in control group `ctrl`, created on demand (rejects with the resctrl error). */
  private async groupIn(pod: PodEntry, ctrl: string): Promise<string> {
    if (ctrl === this.resctrl.root && pod.groupState.kind === "Exists") return pod.groupState.path;
    const known = pod.classGroups.get(ctrl);
    if (known?.exists) return known.path;
    try {
      const path = await this.resctrl.createClassGroup(pod.uid, ctrl);
      this.reg.setClassGroup(pod, ctrl, { path, exists: true });
      this.log.info(
        { podUid: pod.uid, controlGroup: ctrl, group: path },
        "created the pod's group in an RDT class",
      );
      return path;
    } catch (err) {
      this.countCreateFailure(err);
      this.reg.setClassGroup(pod, ctrl, {
        path: this.resctrl.classGroupPathFor(pod.uid, ctrl),
        exists: false,
        error: groupFailureReason(err),
      });
      this.log[isCapacityError(err) ? "warn" : "error"](
        { err, podUid: pod.uid, controlGroup: ctrl },
        "failed to create the pod's group in an RDT class; container Partial",
      );
      throw err;
    }
  }

  /**
   * `followRdtClasses`, under the pod lock: forgets the pod's groups in control groups that no
   * longer exist (the kernel moved their tasks to the default group and dropped their mon groups),
   * falls back to the root group as primary, and reconciles the pod's live containers again so
   * their tasks land in the pod's root group. Returns true if something changed.
   */
  async dropGoneClasses(pod: PodEntry, existing: ReadonlySet<string>, reason: string): Promise<boolean> {
    const gone = [...pod.classGroups.keys()].filter((g) => !existing.has(g));
    if (gone.length === 0) return false;
    for (const g of gone) this.reg.deleteClassGroup(pod, g);
    if (pod.primaryCtrl !== undefined && gone.includes(pod.primaryCtrl)) pod.primaryCtrl = this.resctrl.root;
    this.log.info(
      { podUid: pod.uid, controlGroups: gone, reason },
      "RDT class removed; the pod's tasks go back to its root group",
    );
    for (const c of [...pod.containers.values()]) {
      if (c.state !== "Partial" && c.state !== "Reconciled") continue;
      if (this.reg.pods.get(pod.uid) !== pod || pod.containers.get(c.id) !== c) break;
      const r = await this.reconcile(pod, c, reason);
      if (r.converged) c.state = "Reconciled";
    }
    this.emitIfChanged(pod);
    return true;
  }

  /**
   * Under the pod lock. The container stopped: it leaves the counts (state Stopped) and stays known
   * until REMOVE_CONTAINER, so a START that arrives after its stop is ignored. A container the
   * plugin never saw is recorded as Stopped in its pod (or as a stopped NoPod entry when the pod is
   * unknown too). Emits AddOrUpdate only if the counts changed. Returns true if something changed.
   */
  stopContainer(c: NriContainer, sandboxId: string, reason: string): boolean {
    const uid = this.reg.ownerOf(c.id);
    const pod = uid === undefined ? undefined : this.reg.pods.get(uid);
    const known = pod?.containers.get(c.id) ?? this.reg.noPod.get(c.id);
    if (known) {
      if (known.state === "Stopped") return false;
      const before = known.state;
      known.state = "Stopped";
      this.log.info(
        { containerId: c.id, podUid: pod?.uid, reason, before },
        "container stopped; no longer counted",
      );
      if (pod) this.emitIfChanged(pod);
      return true;
    }
    const owner = this.reg.uidOfSandbox(sandboxId);
    const entry = owner === undefined ? undefined : this.reg.pods.get(owner);
    if (entry) this.reg.addContainer(entry, c, sandboxId, "Stopped");
    else this.reg.addNoPod(c, sandboxId).state = "Stopped";
    this.log.debug(
      { containerId: c.id, sandboxId, reason },
      "stop of a container not seen running; recorded",
    );
    return true;
  }

  /** Under the pod lock. */
  dropContainer(id: string, reason: string): void {
    const r = this.reg.removeContainer(id);
    if (!r) return;
    this.log.debug({ containerId: id, reason, state: r.entry.state }, "container removed");
    if (r.pod) this.emitIfChanged(r.pod);
  }

  /** Under the pod lock. Last sandbox of the UID → rmdir the group, then emit Removed. */
  async removeSandbox(uid: string, sandboxId: string, reason: string): Promise<void> {
    this.reg.dropNoPodOfSandbox(sandboxId);
    const entry = this.reg.pods.get(uid);
    if (!entry || !entry.sandboxes.has(sandboxId)) return;
    this.reg.removeSandbox(entry, sandboxId);
    if (entry.sandboxes.size > 0) {
      this.emitIfChanged(entry);
      return;
    }
    this.reg.deletePod(entry);
    const gs = entry.groupState;
    const paths = [
      ...(gs.kind === "Exists" && !this.reg.groupPathInUse(gs.path) ? [gs.path] : []),
      ...[...entry.classGroups.values()].filter((g) => g.exists).map((g) => g.path),
    ];
    for (const path of paths) {
      try {
        await this.resctrl.deleteGroup(path);
      } catch (err) {
        this.log.warn({ err, podUid: uid, group: path }, "failed to delete group of removed pod");
      }
    }
    this.log.info(
      { event: "Removed", podUid: uid, pod: `${entry.namespace}/${entry.name}`, reason },
      "pod event",
    );
    this.bus.emit({ kind: "Removed", podUid: uid, podName: entry.name, podNamespace: entry.namespace });
  }

  /**
   * Under the pod lock. Removes `uid` like a REMOVE_POD_SANDBOX of its last sandbox (rmdir the
   * group, then emit Removed, reason "sandbox vanished") when it has no live (unstopped) containers and the
   * PID source positively reports every sandbox of it gone. The runtime may never send
   * REMOVE_POD_SANDBOX for pods it recovered after a restart (containerd 1.7). Any doubt (alive,
   * undeterminable, a rejecting source, a change meanwhile) keeps the pod. Resolves true if
   * removed; never rejects.
   */
  async pruneIfSandboxGone(uid: string): Promise<boolean> {
    const entry = this.reg.pods.get(uid);
    if (!entry || this.reg.liveContainers(entry) > 0 || entry.sandboxes.size === 0) return false;
    const checked = [...entry.sandboxes.values()];
    for (const sb of checked) {
      let gone: boolean;
      try {
        gone = await this.pids.sandboxGone(sb);
      } catch (err) {
        this.log.warn({ err, podUid: uid, sandboxId: sb.id }, "failed to check sandbox; pod kept");
        return false;
      }
      if (!gone) return false;
    }
    const same =
      this.reg.pods.get(uid) === entry &&
      this.reg.liveContainers(entry) === 0 &&
      entry.sandboxes.size === checked.length &&
      checked.every((sb) => entry.sandboxes.get(sb.id) === sb);
    if (!same) return false;
    this.log.info(
      { podUid: uid, sandboxIds: checked.map((sb) => sb.id) },
      "pod sandbox is gone and no live container is left; removing pod (a REMOVE_POD_SANDBOX may follow, or never come after a runtime restart)",
    );
    for (const sb of checked) await this.removeSandbox(uid, sb.id, "sandbox vanished");
    this.stats.podsPruned += 1;
    return true;
  }

  emitIfChanged(entry: PodEntry): void {
    if (this.reg.pods.get(entry.uid) !== entry) return;
    const { total, reconciled } = this.reg.counts(entry);
    const gs = this.reg.reportedGroup(entry);
    // "" unless Exists: the path alone tells the kind apart. Compared and updated in place: a new
    // record per event would outlive young-generation GC and become old-space garbage.
    const path = gs.kind === "Exists" ? gs.path : "";
    const last = entry.lastEmitted;
    if (last.path === path && last.total === total && last.reconciled === reconciled) return;
    last.path = path;
    last.total = total;
    last.reconciled = reconciled;
    const event: PodResctrlEvent = {
      kind: "AddOrUpdate",
      podUid: entry.uid,
      podName: entry.name,
      podNamespace: entry.namespace,
      groupState: { ...gs },
      totalContainers: total,
      reconciledContainers: reconciled,
    };
    this.log.info(
      {
        event: "AddOrUpdate",
        podUid: entry.uid,
        pod: `${entry.namespace}/${entry.name}`,
        groupState: gs.kind,
        group: gs.kind === "Exists" ? gs.path : undefined,
        total,
        reconciled,
      },
      "pod event",
    );
    this.bus.emit(event);
  }
}
