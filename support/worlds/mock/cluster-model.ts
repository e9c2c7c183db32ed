import { randomBytes, randomUUID } from "node:crypto";
import { NriContainerState, type NriContainer, type NriPod } from "../../../src/nri/types.js";
import { CgroupGoneError } from "../../../src/plugin/errors.js";
import type { ContainerSpec, PodPlacement, TaskScript } from "../types.js";

/** Namespace of a mock pod the scenario placed nowhere in particular. */
export const MOCK_NAMESPACE = "scenario";

/** First thread id handed out; far from real host PIDs so a mix-up is visible in logs. */
export const FIRST_MOCK_TID = 40_001;

/** A pod as the mock world tracks it. */
export interface PodModel {
  name: string;
  nri: NriPod;
  /** "declared": known to the scenario only; "running": the runtime knows it; "removed". */
  phase: "declared" | "running" | "removed";
  /** The newest attempt of each container name. */
  containers: Map<string, ContainerModel>;
  /** Earlier attempts the kubelet replaced (exited, kept until the pod or the name is removed). */
  history: ContainerModel[];
}

/** A container as the mock world tracks it: its NRI view and its threads. */
export interface ContainerModel {
  name: string;
  pod: string;
  nri: NriContainer;
  /** Thread ids of the container's (single) process, main thread first. */
  tids: number[];
  /** The kubelet's restart count for this name: 0, then +1 per replacement. */
  attempt: number;
  /** Its process exited (crashed, completed, or stopped); the runtime lists it STOPPED until removal. */
  exited: boolean;
  /** Exited before a runtime restart: the restarted runtime does not know it (no REMOVE_CONTAINER for it). */
  forgottenByRuntime?: boolean;
  /** Its process is gone and its cgroup removed (also before the runtime noticed: {@link ClusterModel.exitThreads}). */
  processGone: boolean;
  removed: boolean;
}

/**
 * The mock world's picture of the cluster: scenario names ↔ generated UIDs/ids, thread ids per
 * container, and how each container's tasks behave (its {@link TaskScript}). Pure bookkeeping, no
 * I/O; the world turns it into FakeRuntime calls and PID-source answers. A thread id that exited
 * (removed container, vanishing script) is never reused.
 */
export class ClusterModel {
  readonly pods = new Map<string, PodModel>();
  readonly #scripts = new Map<string, TaskScript>();
  readonly #exited = new Set<number>();
  readonly #allocated = new Set<number>();
  #nextTid = FIRST_MOCK_TID;

  /**
   * The pod, created as "declared" with fresh ids if unknown. `uid` overrides the generated UID;
   * `placement` its namespace (default {@link MOCK_NAMESPACE}) and adds labels.
   */
  pod(name: string, uid?: string, placement: PodPlacement = {}): PodModel {
    const known = this.pods.get(name);
    if (known) return known;
    const id = randomBytes(32).toString("hex");
    const podUid = uid ?? randomUUID();
    const nri: NriPod = {
      id,
      name,
      uid: podUid,
      namespace: placement.namespace ?? MOCK_NAMESPACE,
      labels: { "scenario/pod": name, ...placement.labels },
      annotations: {},
      cgroupParent: `/kubepods/besteffort/pod${podUid}`,
      cgroupsPath: `/kubepods/besteffort/pod${podUid}/${id}`,
      pid: this.#allocate(),
    };
    const model: PodModel = { name, nri, phase: "declared", containers: new Map(), history: [] };
    this.pods.set(name, model);
    return model;
  }

  /** The pod or a clear error. */
  existingPod(name: string): PodModel {
    const p = this.pods.get(name);
    if (!p) throw new Error(`failed to find pod ${JSON.stringify(name)}: the scenario never created it`);
    return p;
  }

  /**
   * A new container in `pod` with `spec.threads` fresh thread ids (default 1). Rejects a name that
   * still runs; an exited container of that name is kept in the pod's history (a kubelet restart:
   * the replacement gets attempt + 1).
   */
  addContainer(pod: PodModel, spec: ContainerSpec): ContainerModel {
    const existing = pod.containers.get(spec.name);
    if (existing && !existing.removed && !existing.exited)
      throw new Error(`failed to add container ${spec.name} to pod ${pod.name}: it already runs`);
    if (existing && !existing.removed) pod.history.push(existing);
    const threads = spec.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1)
      throw new Error(`failed to add container ${spec.name}: threads must be ≥ 1, got ${threads}`);
    const tids = Array.from({ length: threads }, () => this.#allocate());
    const id = randomBytes(32).toString("hex");
    const nri: NriContainer = {
      id,
      podSandboxId: pod.nri.id,
      name: spec.name,
      state: NriContainerState.RUNNING,
      labels: {},
      annotations: {},
      cgroupsPath: `${pod.nri.cgroupParent}/${id}`,
      pid: tids[0] ?? 0,
    };
    const c: ContainerModel = {
      name: spec.name,
      pod: pod.name,
      nri,
      tids,
      attempt: existing ? existing.attempt + 1 : 0,
      exited: false,
      processGone: false,
      removed: false,
    };
    pod.containers.set(spec.name, c);
    if (this.scriptOf(pod.name, spec.name) === "vanishing") this.#exit(c);
    return c;
  }

  /** The container or a clear error. */
  container(pod: string, name: string): ContainerModel {
    const c = this.existingPod(pod).containers.get(name);
    if (!c) throw new Error(`failed to find container ${JSON.stringify(name)} of pod ${pod}`);
    return c;
  }

  /**
   * The container's process exits (crash, completion, stop): its threads exit and the runtime's
   * view of it (`nri`, a new object) becomes STOPPED. It stays in the pod until removed.
   */
  exitContainer(c: ContainerModel): void {
    c.exited = true;
    c.processGone = true;
    this.#exit(c);
    c.nri = { ...c.nri, state: NriContainerState.STOPPED, pid: 0 };
  }

  /** Only the container's threads exit (the runtime has not noticed yet: its view is unchanged). */
  exitThreads(c: ContainerModel): void {
    c.processGone = true;
    this.#exit(c);
  }

  /** Marks a container removed: its threads exit. */
  removeContainer(c: ContainerModel): void {
    c.removed = true;
    this.#exit(c);
  }

  /** Every container the runtime still holds in the pod (all attempts, exited ones too), oldest first. */
  containersOf(pod: PodModel): ContainerModel[] {
    return [...pod.history, ...pod.containers.values()].filter((c) => !c.removed);
  }

  /** Marks a pod removed: all its containers' threads exit. */
  removePod(pod: PodModel): void {
    pod.phase = "removed";
    for (const c of [...pod.history, ...pod.containers.values()]) this.removeContainer(c);
  }

  /**
   * Sets how a container's tasks behave; the container may not exist yet. "vanishing" makes its
   * current threads exit; leaving "vanishing" gives it fresh, live threads (the process restarted).
   */
  setScript(pod: string, container: string, script: TaskScript): void {
    const before = this.scriptOf(pod, container);
    this.#scripts.set(`${pod}/${container}`, script);
    const c = this.pods.get(pod)?.containers.get(container);
    if (!c || c.removed) return;
    if (script === "vanishing") this.#exit(c);
    else if (before === "vanishing") {
      c.tids = c.tids.map(() => this.#allocate());
      c.nri.pid = c.tids[0] ?? 0;
    }
  }

  /** The container's script (default "steady"). */
  scriptOf(pod: string, container: string): TaskScript {
    return this.#scripts.get(`${pod}/${container}`) ?? "steady";
  }

  /** What the PID source answers for a container right now; its cgroup is gone once its process is. */
  pidAnswer(c: ContainerModel): number[] {
    if (c.processGone) throw new CgroupGoneError(c.nri.id, [`/mock-cgroup/${c.nri.id}/cgroup.procs`]);
    const tids = [...c.tids];
    return this.scriptOf(c.pod, c.name) === "with-zero" ? [0, ...tids] : tids;
  }

  /** True if `tid` was handed out and has not exited (the kernel would accept a write of it). */
  alive(tid: number): boolean {
    return this.#allocated.has(tid) && !this.#exited.has(tid);
  }

  /** Live thread ids of the pod's live containers, ascending. */
  liveTasksOf(pod: string): number[] {
    const p = this.existingPod(pod);
    return [...p.history, ...p.containers.values()]
      .filter((c) => !c.removed && !c.exited)
      .flatMap((c) => c.tids)
      .filter((t) => this.alive(t))
      .sort((a, b) => a - b);
  }

  /** The scenario name of a pod UID (for events), or `uid:<uid>` for a UID the scenario never made. */
  nameOfUid(uid: string): string {
    for (const p of this.pods.values()) if (p.nri.uid === uid) return p.name;
    return `uid:${uid}`;
  }

  #allocate(): number {
    const t = this.#nextTid++;
    this.#allocated.add(t);
    return t;
  }

  #exit(c: ContainerModel): void {
    for (const t of c.tids) this.#exited.add(t);
  }
}
