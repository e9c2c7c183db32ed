import { posix } from "node:path";
import type { NriContainer, NriPod } from "../nri/types.js";
import type {
  ContainerSnapshot,
  ContainerSyncState,
  PodGroupSnapshot,
  PodSnapshot,
  ResctrlGroupState,
} from "./events.js";

/** A container the plugin tracks. `seq` orders entries oldest-first for retries. */
export interface ContainerEntry {
  readonly id: string;
  readonly seq: number;
  /** Sandbox the container belongs to (`container.podSandboxId`, or the event's pod id). */
  readonly sandboxId: string;
  container: NriContainer;
  state: ContainerSyncState;
  /** Why it is not Reconciled (see `ContainerSnapshot.reason`). */
  reason?: string;
  /** Control groups holding tasks the plugin may not move (classes not followed); retries skip it while they exist. */
  blockedBy?: string[];
}

/** The pod's group inside one RDT control group other than the root. */
export interface ClassGroup {
  path: string;
  exists: boolean;
  /** Why creating it failed (while `exists` is false). */
  error?: string;
}

/** A pod (one Kubernetes pod UID, one or more sandboxes) and its containers. */
export interface PodEntry {
  readonly uid: string;
  /** Pod name and namespace of the newest sandbox of this UID. */
  name: string;
  namespace: string;
  readonly seq: number;
  /** Sandboxes of this UID, newest description of each. */
  readonly sandboxes: Map<string, NriPod>;
  groupState: ResctrlGroupState;
  /** Why the group is Failed (the last creation error); undefined while it exists. */
  groupError?: string;
  readonly containers: Map<string, ContainerEntry>;
  /** True once any container was tracked in this pod (a retry sweep prunes only such pods). Stopped ones count. */
  hadContainers: boolean;
  /**
   * What the last AddOrUpdate said, for change detection: the group path ("" unless Exists) and the
   * counts; before the first one, NaN counts (equal to nothing).
   */
  readonly lastEmitted: { path: string; total: number; reconciled: number };
  /**
   * `followRdtClasses`: the pod's groups in control groups other than the root, by control group
   * path. One shared empty map until the first ({@link PodRegistry.setClassGroup}): most pods
   * never have one.
   */
  classGroups: ReadonlyMap<string, ClassGroup>;
  /** `followRdtClasses`: the control group of the pod's first container, once known. */
  primaryCtrl?: string;
  /** A warning about tasks in an RDT class (flag off) was logged for this pod. */
  classWarned?: boolean;
}

/** The class groups of every pod that has none (never written: see {@link PodRegistry.setClassGroup}). */
const NO_CLASS_GROUPS: ReadonlyMap<string, ClassGroup> = new Map();

/**
 * The plugin's bookkeeping, synchronous and without I/O: pods by UID, containers by id, NoPod
 * containers by id, and the sandbox → UID and container → UID indexes. Counters are derived from
 * container states on demand, so they cannot drift. Not thread-safe by itself: `ResctrlPlugin`
 * serializes async work per pod and mutates this only between awaits.
 */
export class PodRegistry {
  readonly pods = new Map<string, PodEntry>();
  readonly noPod = new Map<string, ContainerEntry>();
  #sandboxToUid = new Map<string, string>();
  #owner = new Map<string, string>();
  #seq = 0;
  /** Group path → UIDs of pods whose group Exists there (normally one). */
  readonly #pathOwners = new Map<string, string | Set<string>>();

  uidOfSandbox(sandboxId: string): string | undefined {
    return this.#sandboxToUid.get(sandboxId);
  }

  /** UID of the pod a tracked (non-NoPod) container belongs to. */
  ownerOf(containerId: string): string | undefined {
    return this.#owner.get(containerId);
  }

  /** True if the container is tracked in any state, NoPod included. */
  knows(containerId: string): boolean {
    return this.#owner.has(containerId) || this.noPod.has(containerId);
  }

  addPod(pod: NriPod, groupState: ResctrlGroupState): PodEntry {
    const entry: PodEntry = {
      uid: pod.uid,
      name: pod.name,
      namespace: pod.namespace,
      seq: ++this.#seq,
      sandboxes: new Map([[pod.id, pod]]),
      groupState,
      containers: new Map(),
      hadContainers: false,
      lastEmitted: { path: "", total: Number.NaN, reconciled: Number.NaN },
      classGroups: NO_CLASS_GROUPS,
    };
    this.pods.set(pod.uid, entry);
    this.#index(entry);
    this.#sandboxToUid.set(pod.id, pod.uid);
    return entry;
  }

  /** Records (or refreshes) one more sandbox of a known UID. */
  addSandbox(entry: PodEntry, pod: NriPod): void {
    entry.sandboxes.set(pod.id, pod);
    entry.name = pod.name;
    entry.namespace = pod.namespace;
    this.#sandboxToUid.set(pod.id, entry.uid);
  }

  /** Forgets a sandbox and its containers; returns the removed containers. */
  removeSandbox(entry: PodEntry, sandboxId: string): ContainerEntry[] {
    entry.sandboxes.delete(sandboxId);
    if (this.#sandboxToUid.get(sandboxId) === entry.uid) this.#sandboxToUid.delete(sandboxId);
    const removed: ContainerEntry[] = [];
    for (const c of [...entry.containers.values()]) {
      if (c.sandboxId === sandboxId || !entry.sandboxes.has(c.sandboxId)) {
        entry.containers.delete(c.id);
        this.#owner.delete(c.id);
        removed.push(c);
      }
    }
    return removed;
  }

  /** Forgets a pod, all its sandboxes and containers. */
  deletePod(entry: PodEntry): void {
    for (const sid of entry.sandboxes.keys()) {
      if (this.#sandboxToUid.get(sid) === entry.uid) this.#sandboxToUid.delete(sid);
    }
    for (const id of entry.containers.keys()) this.#owner.delete(id);
    if (this.pods.get(entry.uid) === entry) {
      this.pods.delete(entry.uid);
      this.#unindex(entry);
    }
  }

  addContainer(
    entry: PodEntry,
    c: NriContainer,
    sandboxId: string,
    state: ContainerSyncState,
  ): ContainerEntry {
    const ce: ContainerEntry = { id: c.id, seq: ++this.#seq, sandboxId, container: c, state };
    entry.containers.set(c.id, ce);
    entry.hadContainers = true;
    this.#owner.set(c.id, entry.uid);
    return ce;
  }

  addNoPod(c: NriContainer, sandboxId: string): ContainerEntry {
    const ce: ContainerEntry = { id: c.id, seq: ++this.#seq, sandboxId, container: c, state: "NoPod" };
    this.noPod.set(c.id, ce);
    return ce;
  }

  /** Removes a container wherever it is; returns the pod it was counted in, if any. */
  removeContainer(id: string): { entry: ContainerEntry; pod?: PodEntry } | undefined {
    const np = this.noPod.get(id);
    if (np) {
      this.noPod.delete(id);
      return { entry: np };
    }
    const uid = this.#owner.get(id);
    const pod = uid === undefined ? undefined : this.pods.get(uid);
    const entry = pod?.containers.get(id);
    if (!pod || !entry) return undefined;
    pod.containers.delete(id);
    this.#owner.delete(id);
    return { entry, pod };
  }

  /**
   * Moves the NoPod containers of `sandboxId` into `entry`: live ones as Pending (returned, to be
   * reconciled), stopped ones as Stopped (not returned).
   */
  promoteNoPod(entry: PodEntry, sandboxId: string): ContainerEntry[] {
    const out: ContainerEntry[] = [];
    for (const np of [...this.noPod.values()]) {
      if (np.sandboxId !== sandboxId) continue;
      this.noPod.delete(np.id);
      if (np.state === "Stopped") this.addContainer(entry, np.container, sandboxId, "Stopped");
      else out.push(this.addContainer(entry, np.container, sandboxId, "Pending"));
    }
    return out;
  }

  /** Containers of the pod that have not stopped (any state but Stopped). */
  liveContainers(entry: PodEntry): number {
    let n = 0;
    for (const c of entry.containers.values()) if (c.state !== "Stopped") n += 1;
    return n;
  }

  /** Drops NoPod containers of a sandbox (its pod went away before we learned of it). */
  dropNoPodOfSandbox(sandboxId: string): number {
    let n = 0;
    for (const np of [...this.noPod.values()]) {
      if (np.sandboxId === sandboxId) {
        this.noPod.delete(np.id);
        n += 1;
      }
    }
    return n;
  }

  /**
   * True if a pod other than `exceptUid` holds the group at `path` (sanitization collision guard).
   * O(1): an index of existing groups' paths, kept by {@link addPod}, {@link setGroupState} and
   * {@link deletePod} (a scan of every pod per new pod made Synchronize quadratic).
   */
  groupPathInUse(path: string, exceptUid?: string): boolean {
    const owners = this.#pathOwners.get(path);
    if (owners === undefined) return false;
    if (typeof owners === "string") return owners !== exceptUid;
    for (const uid of owners) if (uid !== exceptUid) return true;
    return false;
  }

  /** Sets a pod's group state, keeping the path index. */
  setGroupState(entry: PodEntry, gs: ResctrlGroupState): void {
    this.#unindex(entry);
    entry.groupState = gs;
    this.#index(entry);
  }

  /** Records the pod's group in control group `ctrl` (the first one gives the pod its own map). */
  setClassGroup(entry: PodEntry, ctrl: string, group: ClassGroup): void {
    if (entry.classGroups === NO_CLASS_GROUPS) entry.classGroups = new Map([[ctrl, group]]);
    else (entry.classGroups as Map<string, ClassGroup>).set(ctrl, group);
  }

  /** Forgets the pod's group in control group `ctrl`. */
  deleteClassGroup(entry: PodEntry, ctrl: string): void {
    if (entry.classGroups !== NO_CLASS_GROUPS) (entry.classGroups as Map<string, ClassGroup>).delete(ctrl);
  }

  #index(entry: PodEntry): void {
    if (entry.groupState.kind !== "Exists") return;
    // One owner (the normal case) is the UID itself; a Set only for a collision.
    const path = entry.groupState.path;
    const owners = this.#pathOwners.get(path);
    if (owners === undefined || owners === entry.uid) this.#pathOwners.set(path, entry.uid);
    else if (typeof owners === "string") this.#pathOwners.set(path, new Set([owners, entry.uid]));
    else owners.add(entry.uid);
  }

  #unindex(entry: PodEntry): void {
    if (entry.groupState.kind !== "Exists") return;
    const path = entry.groupState.path;
    const owners = this.#pathOwners.get(path);
    if (owners === entry.uid) this.#pathOwners.delete(path);
    else if (typeof owners === "object") {
      owners.delete(entry.uid);
      if (owners.size === 0) this.#pathOwners.delete(path);
    }
  }

  /**
   * The group state a consumer sees: Failed, or Exists at the group in the control group of the
   * pod's first container (a class group once it exists), else the pod's group under the root.
   */
  reportedGroup(entry: PodEntry): ResctrlGroupState {
    const gs = entry.groupState;
    if (gs.kind !== "Exists" || entry.primaryCtrl === undefined) return { ...gs };
    const cg = entry.classGroups.get(entry.primaryCtrl);
    return cg?.exists ? { kind: "Exists", path: cg.path } : { ...gs };
  }

  counts(entry: PodEntry): { total: number; reconciled: number } {
    let total = 0;
    let reconciled = 0;
    for (const c of entry.containers.values()) {
      if (c.state === "Partial" || c.state === "Reconciled") total += 1;
      if (c.state === "Reconciled") reconciled += 1;
    }
    return { total, reconciled };
  }

  snapshotOf(entry: PodEntry): PodSnapshot {
    const { total, reconciled } = this.counts(entry);
    return {
      podUid: entry.uid,
      podName: entry.name,
      podNamespace: entry.namespace,
      sandboxIds: [...entry.sandboxes.keys()],
      groupState: this.reportedGroup(entry),
      ...(entry.groupError !== undefined && entry.groupState.kind === "Failed"
        ? { groupError: entry.groupError }
        : {}),
      totalContainers: total,
      reconciledContainers: reconciled,
      containers: [...entry.containers.values()].sort((a, b) => a.seq - b.seq).map(containerSnapshot),
      ...(entry.classGroups.size > 0 ? { groups: groupsOf(entry) } : {}),
    };
  }

  /** Every pod, oldest first. */
  snapshot(): PodSnapshot[] {
    return [...this.pods.values()].sort((a, b) => a.seq - b.seq).map((p) => this.snapshotOf(p));
  }

  /** Every NoPod container, oldest first. */
  noPodSnapshot(): ContainerSnapshot[] {
    return [...this.noPod.values()].sort((a, b) => a.seq - b.seq).map(containerSnapshot);
  }
}

function containerSnapshot(c: ContainerEntry): ContainerSnapshot {
  return {
    id: c.id,
    name: c.container.name,
    podSandboxId: c.sandboxId,
    state: c.state,
    ...(c.reason !== undefined && c.state !== "Reconciled" && c.state !== "Stopped"
      ? { reason: c.reason }
      : {}),
  };
}

function groupsOf(entry: PodEntry): PodGroupSnapshot[] {
  const gs = entry.groupState;
  // Class keys are `<root>/<class>`: their parent is the resctrl root.
  const rootCtrl = posix.dirname([...entry.classGroups.keys()][0] ?? "/");
  const out: PodGroupSnapshot[] = [
    gs.kind === "Exists"
      ? { controlGroup: rootCtrl, path: gs.path, state: "Exists" }
      : {
          controlGroup: rootCtrl,
          path: "",
          state: "Failed",
          ...(entry.groupError ? { error: entry.groupError } : {}),
        },
  ];
  for (const [ctrl, g] of [...entry.classGroups].sort(([a], [b]) => (a < b ? -1 : 1))) {
    out.push({
      controlGroup: ctrl,
      path: g.path,
      state: g.exists ? "Exists" : "Failed",
      ...(g.error !== undefined && !g.exists ? { error: g.error } : {}),
    });
  }
  return out;
}
