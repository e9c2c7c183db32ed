import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile, rmdir } from "node:fs/promises";
import type { CriClient, CriContainerStatus, PodSpec } from "../../containerd/cri-client.js";
import type { ContainerSpec } from "../types.js";
import { bootTicksNow, kernelMembers } from "./clone-inheritance.js";

/** Deadline of every CRI call of the world (CreateContainer can be slow on a loaded machine). */
export const CREATE_CONTAINER_TIMEOUT_MS = 20_000;
/** How long a multi-threaded scenario container sleeps (it is stopped long before). */
export const CONTAINER_SLEEP_SECONDS = 3600;
/** Where cgroup hierarchies are mounted. */
export const CGROUP_FS_ROOT = "/sys/fs/cgroup";
/** A FIFO inside a one-thread container, held open read-write so its shell blocks reading it. */
export const HOLD_FIFO = "/tmp/scenario-hold";
/** Grace of the world's CRI StopContainer (SIGTERM, then SIGKILL after it), like the kubelet's termination grace. */
export const STOP_GRACE_SECONDS = 2;
/** Command of an init container: it exits 0 at once, by itself. */
export const INIT_COMMAND: readonly string[] = ["true"];

/** How a container's main process ends by itself. */
export type ExitHow = "crash" | "complete";
/**
 * The signal the world sends a container's main process from the host. `crash`: SIGKILL, an
 * exit by signal (status 137). `complete`: SIGTERM, which every scenario container handles by
 * exiting 0 itself (as PID 1 of its PID namespace it would ignore an unhandled SIGTERM).
 */
export const EXIT_SIGNAL: Readonly<Record<ExitHow, NodeJS.Signals>> = {
  crash: "SIGKILL",
  complete: "SIGTERM",
};

/** A pod this world created through CRI. */
export interface CriPod {
  name: string;
  /** The UID containerd reports to the plugin (may be hostile). */
  uid: string;
  /** Always a fresh UUID: the kubelet-like cgroup parent never contains a hostile UID. */
  cgroupUid: string;
  spec: PodSpec;
  sandboxId: string;
  removed: boolean;
  /** The latest attempt of each container name (init containers included). */
  containers: Map<string, CriContainer>;
  /** Earlier attempts of restarted containers: exited and kept, as the kubelet keeps them; oldest first. */
  earlier: CriContainer[];
}

/** One attempt of a container this world created through CRI. */
export interface CriContainer {
  name: string;
  id: string;
  threads: number;
  /** CRI `metadata.attempt`: 0, then +1 per restart. */
  attempt: number;
  /** An init container (runs to completion before the pod's containers start). */
  init: boolean;
  /** Its process ended (crashed, completed or stopped); the container is kept until removed. */
  exited: boolean;
  removed: boolean;
  /** Clock ticks since boot just before StartContainer: tasks created later may inherit the group. */
  startTicks: number;
}

/**
 * The command of a container with `threads` threads; every one exits 0 by itself on SIGTERM
 * (so a scenario can make it complete) and stays until then. One thread: busybox `sh` blocked
 * reading a FIFO it holds open, with a TERM trap (one process, one thread, like busybox `sleep`,
 * which could not be asked to exit 0). More: busybox sh cannot make threads, so the host's perl
 * (with ithreads) runs from a read-only bind mount of the host's /usr, through the dynamic loader
 * (the busybox image has no /lib64): one main thread plus `threads - 1` perl threads, all sleeping,
 * and a TERM handler in the main thread that exits 0.
 */
export function threadedCommand(threads: number): { command: string[]; mountHostUsr: boolean } {
  if (threads <= 1)
    return {
      command: ["sh", "-c", `trap "exit 0" TERM; mkfifo ${HOLD_FIFO}; read x <>${HOLD_FIFO}`],
      mountHostUsr: false,
    };
  const perl = `$SIG{TERM} = sub { POSIX::_exit(0) }; threads->create(sub { sleep ${CONTAINER_SLEEP_SECONDS} }) for 1..${threads - 1}; sleep ${CONTAINER_SLEEP_SECONDS}`;
  const ld = "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2";
  return {
    command: [
      ld,
      "--library-path",
      "/usr/lib/x86_64-linux-gnu",
      "/usr/bin/perl",
      "-MPOSIX",
      "-Mthreads",
      "-e",
      perl,
    ],
    mountHostUsr: true,
  };
}

/**
 * Whether an exit status matches how the scenario made the process end: a crash is any non-zero
 * status, a completion exactly 0. Pure.
 */
export function exitMatches(how: ExitHow, exitCode: number): boolean {
  return how === "complete" ? exitCode === 0 : exitCode !== 0;
}

/**
 * Pods and containers of one scenario, driven through containerd's CRI like the kubelet would:
 * host network, cgroupfs parent `/kubepods/burstable/pod<uid>`, busybox containers. Keeps the
 * scenario-name ↔ id mapping (every attempt of a restarted container) and removes everything it
 * created in {@link removeAll}. Every method rejects with the CRI error ("failed to <verb> …") and
 * changes nothing it did not report.
 */
export class CriPods {
  readonly pods = new Map<string, CriPod>();

  constructor(
    private readonly cri: CriClient,
    /** The namespace of the scenario's pods unless placed elsewhere. */
    readonly namespace: string,
  ) {}

  /**
   * RunPodSandbox; resolves once containerd answered (NRI RUN_POD_SANDBOX was delivered).
   * `annotations` go into the sandbox config (NRI `PodSandbox.annotations`); `placement` sets its
   * namespace (default: the scenario's) and adds labels (NRI `PodSandbox.namespace`, `.labels`).
   */
  async runPod(
    name: string,
    uid?: string,
    annotations?: Record<string, string>,
    placement: { namespace?: string; labels?: Readonly<Record<string, string>> } = {},
  ): Promise<CriPod> {
    const known = this.pods.get(name);
    if (known && !known.removed) throw new Error(`failed to run pod ${name}: it already runs`);
    const cgroupUid = randomUUID();
    const podUid = uid ?? cgroupUid;
    const spec: PodSpec = {
      name,
      uid: podUid,
      namespace: placement.namespace ?? this.namespace,
      cgroupParent: `/kubepods/burstable/pod${cgroupUid}`,
      labels: { "scenario/pod": name, ...placement.labels },
      ...(annotations ? { annotations } : {}),
    };
    // Known before the call: the plugin's first event may arrive while RunPodSandbox is still running.
    const pod: CriPod = {
      name,
      uid: podUid,
      cgroupUid,
      spec,
      sandboxId: "",
      removed: false,
      containers: new Map(),
      earlier: [],
    };
    this.pods.set(name, pod);
    try {
      pod.sandboxId = await this.cri.runPod(spec);
    } catch (err) {
      if (known) this.pods.set(name, known);
      else this.pods.delete(name);
      throw err;
    }
    return pod;
  }

  /**
   * CreateContainer + StartContainer in the running sandbox (also what `kubectl debug` amounts to).
   * `annotations` go into the container config (NRI `Container.annotations`).
   */
  async startContainer(
    podName: string,
    c: ContainerSpec,
    annotations?: Record<string, string>,
  ): Promise<CriContainer> {
    const pod = this.running(podName);
    const existing = pod.containers.get(c.name);
    if (existing && !existing.removed)
      throw new Error(
        `failed to start container ${c.name} of pod ${podName}: it exists (${existing.exited ? "exited: restart it" : "running"})`,
      );
    return this.#startAttempt(pod, c.name, c.threads ?? 1, undefined, annotations);
  }

  /**
   * What the kubelet does with an exited container of a pod that restarts it: CreateContainer with
   * the same name and attempt + 1, StartContainer. The exited attempt stays (not removed).
   */
  async restartContainer(podName: string, name: string): Promise<CriContainer> {
    const pod = this.running(podName);
    const prev = pod.containers.get(name);
    if (!prev || prev.removed)
      throw new Error(`failed to restart container ${name} of pod ${podName}: the scenario never started it`);
    if (!prev.exited)
      throw new Error(
        `failed to restart container ${name} of pod ${podName}: it still runs (the kubelet restarts only an exited container)`,
      );
    return this.#startAttempt(pod, name, prev.threads, prev);
  }

  /**
   * An init container: CreateContainer + StartContainer of a command that exits 0 by itself, then
   * waits (at most `timeoutMs`) until CRI reports it exited. Rejects if it exited non-zero.
   */
  async runInitContainer(podName: string, name: string, timeoutMs: number): Promise<CriContainer> {
    const pod = this.running(podName);
    if (pod.containers.has(name))
      throw new Error(`failed to run init container ${name} of pod ${podName}: the name is taken`);
    const id = await this.cri.createContainer(pod.sandboxId, pod.spec, {
      name,
      command: INIT_COMMAND,
      labels: { "scenario/container": name, "scenario/init": "true" },
    });
    const c: CriContainer = {
      name,
      id,
      threads: 1,
      attempt: 0,
      init: true,
      exited: false,
      removed: false,
      startTicks: await bootTicksNow(),
    };
    pod.containers.set(name, c);
    await this.cri.startContainer(id);
    await this.#awaitExit(pod, c, "complete", timeoutMs);
    return c;
  }

  /**
   * Makes a running container's main process end by itself (see {@link EXIT_SIGNAL}) without
   * waiting; {@link awaitExit} waits for the runtime to process it. Resolves with the container.
   */
  async signalExit(podName: string, name: string, how: ExitHow): Promise<CriContainer> {
    const c = this.live(podName, name);
    const pid = await this.cri.containerPid(c.id);
    process.kill(pid, EXIT_SIGNAL[how]);
    return c;
  }

  /**
   * Waits (at most `timeoutMs`) until CRI reports the container EXITED, i.e. containerd processed
   * the exit — containerd sends NRI StopContainer while it deletes the task, before it records the
   * exit, so the stop was delivered by then. Rejects if the exit status does not match `how`.
   */
  async awaitExit(
    podName: string,
    name: string,
    how: ExitHow,
    timeoutMs: number,
  ): Promise<CriContainerStatus> {
    const pod = this.running(podName);
    const c = pod.containers.get(name);
    if (!c || c.removed)
      throw new Error(`failed to find container ${JSON.stringify(name)} of pod ${podName}`);
    return this.#awaitExit(pod, c, how, timeoutMs);
  }

  /** {@link signalExit} + {@link awaitExit}: the container crashes or completes; it is kept, exited. */
  async exitContainer(
    podName: string,
    name: string,
    how: ExitHow,
    timeoutMs: number,
  ): Promise<CriContainerStatus> {
    await this.signalExit(podName, name, how);
    return this.awaitExit(podName, name, how, timeoutMs);
  }

  /**
   * CRI StopContainer with a grace of {@link STOP_GRACE_SECONDS} (SIGTERM, which the scenario
   * containers answer by exiting 0); the container is kept, exited. Resolves once CRI reports it
   * exited (StopContainer returns only then).
   */
  async stopContainer(podName: string, name: string, timeoutMs: number): Promise<CriContainerStatus> {
    const c = this.live(podName, name);
    await this.cri.stopContainer(c.id, STOP_GRACE_SECONDS);
    const s = await this.cri.waitForContainerState(c.id, "exited", timeoutMs);
    c.exited = true;
    return s;
  }

  /**
   * Removes every attempt of a container name: the latest is stopped at once (SIGKILL) if it still
   * runs, then each is removed (RemoveContainer), latest first.
   */
  async removeContainer(podName: string, name: string): Promise<CriContainer> {
    const c = this.container(podName, name);
    if (!c.exited) await this.cri.stopContainer(c.id);
    const pod = this.running(podName);
    for (const attempt of [c, ...pod.earlier.filter((e) => e.name === name).reverse()]) {
      if (attempt.removed) continue;
      await this.cri.removeContainer(attempt.id);
      attempt.exited = true;
      attempt.removed = true;
    }
    return c;
  }

  /**
   * The kubelet's order for a deleted pod: StopContainer for every running container, then
   * StopPodSandbox, RemoveContainer for every attempt (exited ones too), RemovePodSandbox; then the
   * empty pod cgroup goes as in {@link removePod}.
   */
  async removePodKubeletOrder(name: string, timeoutMs: number): Promise<CriPod> {
    const pod = this.running(name);
    for (const c of liveContainers(pod)) await this.stopContainer(name, c.name, timeoutMs);
    await this.cri.stopPod(pod.sandboxId);
    for (const c of [...pod.earlier, ...pod.containers.values()]) {
      if (c.removed) continue;
      await this.cri.removeContainer(c.id);
      c.exited = true;
      c.removed = true;
    }
    await this.cri.removePod(pod.sandboxId);
    pod.removed = true;
    await removePodCgroups(pod.spec.cgroupParent ?? "");
    return pod;
  }

  /**
   * An operator by hand: `crictl rm -f` for each container (a running one is stopped at once, then
   * removed: REMOVE_CONTAINER while the sandbox still runs), then `crictl rmp -f` (StopPodSandbox +
   * RemovePodSandbox); then the empty pod cgroup goes as in {@link removePod}.
   */
  async removePodContainersFirst(name: string): Promise<CriPod> {
    const pod = this.running(name);
    for (const c of [...pod.containers.values()]) if (!c.removed) await this.removeContainer(name, c.name);
    return this.removePod(name);
  }

  /** StopPodSandbox + RemovePodSandbox (containerd removes the pod's containers, every attempt, first). */
  async removePod(name: string): Promise<CriPod> {
    const pod = this.running(name);
    await this.cri.stopPod(pod.sandboxId);
    await this.cri.removePod(pod.sandboxId);
    pod.removed = true;
    for (const c of [...pod.containers.values(), ...pod.earlier]) c.removed = true;
    await removePodCgroups(pod.spec.cgroupParent ?? "");
    return pod;
  }

  /** Every thread of every process in the cgroups of the pod's live (not exited) containers, read from /proc, ascending. */
  async liveThreadsOf(podName: string): Promise<number[]> {
    const pod = this.existing(podName);
    const all: number[] = [];
    for (const c of liveContainers(pod))
      all.push(...(await threadsOfCgroup(`${pod.spec.cgroupParent ?? ""}/${c.id}`)));
    return all.sort((a, b) => a - b);
  }

  /** Every thread of the processes in the cgroup of one container (its newest attempt), ascending; [] once it exited. */
  async liveThreadsOfContainer(podName: string, name: string): Promise<number[]> {
    const pod = this.existing(podName);
    const c = pod.containers.get(name);
    if (!c || c.removed || c.exited) return [];
    return (await threadsOfCgroup(`${pod.spec.cgroupParent ?? ""}/${c.id}`)).sort((a, b) => a - b);
  }

  /**
   * The tasks of the pod's live containers that a real kernel would have in the group listing
   * `listed` (see {@link kernelMembers}); `notBeforeTicks` is when the plugin started.
   */
  async kernelMembersOf(
    podName: string,
    listed: ReadonlySet<number>,
    notBeforeTicks: number,
  ): Promise<number[]> {
    const pod = this.existing(podName);
    const all: number[] = [];
    for (const c of liveContainers(pod)) {
      const procs = await procsOfCgroup(`${pod.spec.cgroupParent ?? ""}/${c.id}`);
      all.push(...(await kernelMembers(procs, listed, Math.max(c.startTicks, notBeforeTicks))));
    }
    return all;
  }

  /** The scenario name of a pod UID, or `uid:<uid>` for one this scenario never made. */
  nameOfUid(uid: string): string {
    for (const p of this.pods.values()) if (p.uid === uid) return p.name;
    return `uid:${uid}`;
  }

  existing(name: string): CriPod {
    const p = this.pods.get(name);
    if (!p) throw new Error(`failed to find pod ${JSON.stringify(name)}: the scenario never created it`);
    return p;
  }

  running(name: string): CriPod {
    const p = this.existing(name);
    if (p.removed) throw new Error(`failed to act on pod ${name}: it was removed`);
    return p;
  }

  /** The latest attempt of a container that is not removed (running or exited). */
  container(podName: string, name: string): CriContainer {
    const c = this.running(podName).containers.get(name);
    if (!c || c.removed)
      throw new Error(
        `failed to find container ${JSON.stringify(name)} of pod ${podName}: never started or removed`,
      );
    return c;
  }

  /** The latest attempt of a container whose process still runs. */
  live(podName: string, name: string): CriContainer {
    const c = this.container(podName, name);
    if (c.exited)
      throw new Error(
        `failed to find running container ${JSON.stringify(name)} of pod ${podName}: it exited`,
      );
    return c;
  }

  /** Removes every pod this scenario created and still runs; returns the failures (never rejects). */
  async removeAll(): Promise<string[]> {
    const failures: string[] = [];
    for (const p of this.pods.values()) {
      if (p.removed) continue;
      await this.removePod(p.name).catch((err: unknown) => failures.push(`${p.name}: ${String(err)}`));
    }
    return failures;
  }

  /** Pod cgroup directories of this scenario's pods that still exist in any hierarchy (should be none after removal). */
  leftoverPodCgroups(): string[] {
    const dirs: string[] = [];
    for (const p of this.pods.values()) {
      for (const h of ["pids", "cpu", "memory", "unified", "systemd"]) {
        const d = `${CGROUP_FS_ROOT}/${h}${p.spec.cgroupParent ?? ""}`;
        if (existsSync(d)) dirs.push(d);
      }
    }
    return dirs;
  }

  /** CreateContainer + StartContainer of one attempt; `prev` is the exited attempt it replaces. */
  async #startAttempt(
    pod: CriPod,
    name: string,
    threads: number,
    prev: CriContainer | undefined,
    annotations?: Record<string, string>,
  ): Promise<CriContainer> {
    const { command, mountHostUsr } = threadedCommand(threads);
    const attempt = prev ? prev.attempt + 1 : 0;
    const id = await this.cri.createContainer(pod.sandboxId, pod.spec, {
      name,
      attempt,
      command,
      labels: { "scenario/container": name },
      ...(annotations ? { annotations } : {}),
      mounts: mountHostUsr ? [{ containerPath: "/usr", hostPath: "/usr", readonly: true }] : [],
    });
    const container: CriContainer = {
      name,
      id,
      threads,
      attempt,
      init: false,
      exited: false,
      removed: false,
      startTicks: await bootTicksNow(),
    };
    if (prev) pod.earlier.push(prev);
    pod.containers.set(name, container);
    await this.cri.startContainer(id);
    const cgroup = `${pod.spec.cgroupParent ?? ""}/${id}`;
    if (threads > 1) await settleThreads(cgroup, threads);
    else await settleShell(cgroup);
    return container;
  }

  async #awaitExit(
    pod: CriPod,
    c: CriContainer,
    how: ExitHow,
    timeoutMs: number,
  ): Promise<CriContainerStatus> {
    const s = await this.cri.waitForContainerState(c.id, "exited", timeoutMs);
    c.exited = true;
    if (!exitMatches(how, s.exitCode))
      throw new Error(
        `failed to make container ${c.name} of pod ${pod.name} ${how === "crash" ? "crash" : "complete"}: it exited with status ${s.exitCode} (${s.reason || "no reason"})`,
      );
    return s;
  }
}

/** The containers of a pod whose processes run: the latest attempts, neither exited nor removed. */
function liveContainers(pod: CriPod): CriContainer[] {
  return [...pod.containers.values()].filter((c) => !c.removed && !c.exited);
}

/**
 * What the kubelet does after RemovePodSandbox with the cgroupfs driver (containerd leaves the pod
 * level behind): rmdir the pod's now empty cgroup in every hierarchy. Only `/kubepods/.../pod<uuid>`
 * paths are touched; a busy or missing directory is left alone. Never rejects.
 */
export async function removePodCgroups(cgroupParent: string): Promise<void> {
  if (!/^\/kubepods\/(?:burstable\/)?pod[0-9a-f-]{36}$/.test(cgroupParent)) return;
  const hierarchies = await readdir(CGROUP_FS_ROOT).catch(() => [] as string[]);
  await Promise.all(
    hierarchies.map((h) => rmdir(`${CGROUP_FS_ROOT}/${h}${cgroupParent}`).catch(() => undefined)),
  );
}

/**
 * A container "starts with N threads" once its process has made them: runc's init threads exit at
 * exec and perl creates its threads a moment later, so until then the thread set is in flux. Waits
 * (bounded) until the cgroup holds exactly `threads` threads; rejects with what it saw otherwise.
 */
async function settleThreads(relPath: string, threads: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen: number[] = [];
  while (Date.now() < deadline) {
    seen = await threadsOfCgroup(relPath);
    if (seen.length === threads) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(
    `failed to start container ${relPath} with ${threads} threads: it has ${seen.length} (${seen.join(", ")})`,
  );
}

/**
 * A one-thread container "starts" once its shell blocks reading {@link HOLD_FIFO}: when CRI
 * StartContainer returns, the process may still be `runc init` (several Go threads), then busybox
 * sh, which forks a short-lived child for `mkfifo` (busybox runs the applet in a fork). Until the
 * FIFO exists and that child is gone, the container's task set is in flux, and two reads of it a
 * moment apart (the group's tasks, the container's threads) can disagree. Also, only then is the
 * TERM trap installed. Waits (bounded) until the cgroup holds one process with one thread whose
 * root has the FIFO; rejects with what it saw otherwise.
 */
async function settleShell(relPath: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen = "nothing";
  while (Date.now() < deadline) {
    const procs = await procsOfCgroup(relPath);
    const [pid] = procs;
    if (procs.length === 1 && pid !== undefined) {
      const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
      const fifo = existsSync(`/proc/${pid}/root${HOLD_FIFO}`);
      if (tasks.length === 1 && fifo) return;
      seen = `process ${pid} with ${tasks.length} thread(s), FIFO ${fifo ? "present" : "absent"}`;
    } else seen = `processes ${procs.join(", ") || "none"}`;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(
    `failed to start container ${relPath}: its shell did not settle (one process, one thread, ${HOLD_FIFO} made) within ${timeoutMs} ms; saw ${seen}`,
  );
}

/** Threads of all processes in a cgroup (cgroupfs path relative to the hierarchy): v1 `pids`, else v2/unified. */
export async function threadsOfCgroup(relPath: string): Promise<number[]> {
  const procs = await procsOfCgroup(relPath);
  const tids: number[] = [];
  for (const pid of procs) {
    const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
    tids.push(...tasks.map(Number));
  }
  return tids;
}

/** Processes of a cgroup (cgroupfs path relative to the hierarchy): v1 `pids`, else v2/unified. */
export async function procsOfCgroup(relPath: string): Promise<number[]> {
  const candidates = [
    `${CGROUP_FS_ROOT}/pids${relPath}`,
    `${CGROUP_FS_ROOT}${relPath}`,
    `${CGROUP_FS_ROOT}/unified${relPath}`,
  ];
  const dir = candidates.find((d) => existsSync(`${d}/cgroup.procs`));
  if (!dir) throw new Error(`failed to find the cgroup ${relPath} in ${candidates.join(", ")}`);
  return (await readFile(`${dir}/cgroup.procs`, "utf8")).split("\n").filter(Boolean).map(Number);
}

/** True while `/proc/<tid>` exists (the thread, or a process reusing its id, is alive). */
export function threadAlive(tid: number): boolean {
  return tid > 0 && existsSync(`/proc/${tid}`);
}
