import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile, rmdir } from "node:fs/promises";
import { credentials, Metadata } from "@grpc/grpc-js";
import type { CriClient } from "../../containerd/cri-client.js";
import { DEFAULT_CONTAINER_IMAGE, podSandboxConfig, type PodSpec } from "../../containerd/cri-client.js";
import {
  ContainerConfig,
  CreateContainerRequest,
  NamespaceMode,
  RuntimeServiceClient,
} from "../../cri/gen/cri/api.js";
import type { ContainerSpec } from "../types.js";
import { bootTicksNow, kernelMembers } from "./clone-inheritance.js";

/** Deadline of the CreateContainer calls this module makes itself. */
export const CREATE_CONTAINER_TIMEOUT_MS = 20_000;
/** How long a scenario container sleeps (it is killed long before). */
export const CONTAINER_SLEEP_SECONDS = 3600;
/** Where cgroup hierarchies are mounted. */
export const CGROUP_FS_ROOT = "/sys/fs/cgroup";

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
  containers: Map<string, CriContainer>;
}

/** A container this world created through CRI. */
export interface CriContainer {
  name: string;
  id: string;
  threads: number;
  removed: boolean;
  /** Clock ticks since boot just before StartContainer: tasks created later may inherit the group. */
  startTicks: number;
}

/**
 * The command of a container with `threads` threads. One thread: busybox `sleep`. More: busybox sh
 * cannot make threads, so the host's perl (with ithreads) runs from a read-only bind mount of the
 * host's /usr, through the dynamic loader (the busybox image has no /lib64): one main thread plus
 * `threads - 1` perl threads, all sleeping.
 */
export function threadedCommand(threads: number): { command: string[]; mountHostUsr: boolean } {
  if (threads <= 1) return { command: ["sleep", String(CONTAINER_SLEEP_SECONDS)], mountHostUsr: false };
  const perl = `threads->create(sub { sleep ${CONTAINER_SLEEP_SECONDS} }) for 1..${threads - 1}; sleep ${CONTAINER_SLEEP_SECONDS}`;
  const ld = "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2";
  return {
    command: [ld, "--library-path", "/usr/lib/x86_64-linux-gnu", "/usr/bin/perl", "-Mthreads", "-e", perl],
    mountHostUsr: true,
  };
}

/**
 * Pods and containers of one scenario, driven through containerd's CRI like the kubelet would:
 * host network, cgroupfs parent `/kubepods/burstable/pod<uid>`, busybox containers. Keeps the
 * scenario-name ↔ id mapping and removes everything it created in {@link removeAll}.
 * Every method rejects with the CRI error ("failed to <verb> …") and changes nothing it did not report.
 */
export class CriPods {
  readonly pods = new Map<string, CriPod>();
  readonly #raw: RuntimeServiceClient;

  constructor(
    private readonly cri: CriClient,
    criSocket: string,
    private readonly namespace: string,
  ) {
    this.#raw = new RuntimeServiceClient(`unix://${criSocket}`, credentials.createInsecure());
  }

  /** RunPodSandbox; resolves once containerd answered (NRI RUN_POD_SANDBOX was delivered). */
  async runPod(name: string, uid?: string): Promise<CriPod> {
    const known = this.pods.get(name);
    if (known && !known.removed) throw new Error(`failed to run pod ${name}: it already runs`);
    const cgroupUid = randomUUID();
    const podUid = uid ?? cgroupUid;
    const spec: PodSpec = {
      name,
      uid: podUid,
      namespace: this.namespace,
      cgroupParent: `/kubepods/burstable/pod${cgroupUid}`,
      labels: { "scenario/pod": name },
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

  /** CreateContainer + StartContainer in the running sandbox (also what `kubectl debug` amounts to). */
  async startContainer(podName: string, c: ContainerSpec): Promise<CriContainer> {
    const pod = this.running(podName);
    const existing = pod.containers.get(c.name);
    if (existing && !existing.removed)
      throw new Error(`failed to start container ${c.name} of pod ${podName}: it already runs`);
    const threads = c.threads ?? 1;
    const id = await this.#create(pod, c.name, threads);
    const container: CriContainer = {
      name: c.name,
      id,
      threads,
      removed: false,
      startTicks: await bootTicksNow(),
    };
    pod.containers.set(c.name, container);
    await this.cri.startContainer(id);
    if (threads > 1) await settleThreads(`${pod.spec.cgroupParent ?? ""}/${id}`, threads);
    return container;
  }

  /** StopContainer (SIGKILL at once) + RemoveContainer. */
  async removeContainer(podName: string, name: string): Promise<CriContainer> {
    const c = this.container(podName, name);
    await this.cri.stopContainer(c.id);
    await this.cri.removeContainer(c.id);
    c.removed = true;
    return c;
  }

  /** StopPodSandbox + RemovePodSandbox (containerd removes the pod's containers first). */
  async removePod(name: string): Promise<CriPod> {
    const pod = this.running(name);
    await this.cri.stopPod(pod.sandboxId);
    await this.cri.removePod(pod.sandboxId);
    pod.removed = true;
    for (const c of pod.containers.values()) c.removed = true;
    await removePodCgroups(pod.spec.cgroupParent ?? "");
    return pod;
  }

  /** Every thread of every process in the cgroups of the pod's live containers, read from /proc, ascending. */
  async liveThreadsOf(podName: string): Promise<number[]> {
    const pod = this.existing(podName);
    const all: number[] = [];
    for (const c of pod.containers.values()) {
      if (!c.removed) all.push(...(await threadsOfCgroup(`${pod.spec.cgroupParent ?? ""}/${c.id}`)));
    }
    return all.sort((a, b) => a - b);
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
    for (const c of pod.containers.values()) {
      if (c.removed) continue;
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

  container(podName: string, name: string): CriContainer {
    const c = this.running(podName).containers.get(name);
    if (!c || c.removed)
      throw new Error(`failed to find running container ${JSON.stringify(name)} of pod ${podName}`);
    return c;
  }

  /** Removes every pod this scenario created and still runs; returns the failures (never rejects). */
  async removeAll(): Promise<string[]> {
    const failures: string[] = [];
    for (const p of this.pods.values()) {
      if (p.removed) continue;
      await this.removePod(p.name).catch((err: unknown) => failures.push(`${p.name}: ${String(err)}`));
    }
    this.#raw.close();
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

  #create(pod: CriPod, name: string, threads: number): Promise<string> {
    const { command, mountHostUsr } = threadedCommand(threads);
    const config = ContainerConfig.fromPartial({
      metadata: { name, attempt: 0 },
      image: { image: DEFAULT_CONTAINER_IMAGE },
      command,
      labels: { "scenario/container": name },
      mounts: mountHostUsr ? [{ containerPath: "/usr", hostPath: "/usr", readonly: true }] : [],
      linux: {
        securityContext: { namespaceOptions: { network: NamespaceMode.NODE, pid: NamespaceMode.CONTAINER } },
      },
    });
    const req = CreateContainerRequest.fromPartial({
      podSandboxId: pod.sandboxId,
      config,
      sandboxConfig: podSandboxConfig(pod.spec),
    });
    return new Promise((resolve, reject) => {
      this.#raw.createContainer(
        req,
        new Metadata(),
        { deadline: Date.now() + CREATE_CONTAINER_TIMEOUT_MS },
        (err, res) => {
          if (err)
            reject(
              new Error(
                `failed to create container ${name} of pod ${pod.name}: ${err.details || err.message}`,
                { cause: err },
              ),
            );
          else resolve(res.containerId);
        },
      );
    });
  }
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
