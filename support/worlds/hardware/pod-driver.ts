import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ContainerSpec, Workload } from "../types.js";
import type { Kube } from "./kube.js";
import {
  INIT_PREFIX,
  PLACEHOLDER_IMAGE,
  SPARE_SLOTS,
  WORKLOAD_IMAGE,
  kubeName,
  podManifest,
  slotName,
  workloadSpec,
  type PodStatusView,
  type RuntimeContainerView,
} from "./kube.js";

/**
 * Waiting reason of a slot on the placeholder image. The kubelet reports it only after it tried to
 * start the container, i.e. after the sandbox exists (ContainerCreating comes before that).
 */
export const NEVER_PULL = "ErrImageNeverPull";
/** Poll interval of every wait on the Kubernetes API. */
export const KUBE_POLL_MS = 250;
/** Grace of `crictl stop` for an ephemeral container (the workload exits 0 on SIGTERM at once). */
export const STOP_GRACE_SECONDS = 2;

/** How a container's main process ends by itself. */
export type ExitHow = "crash" | "complete";
/**
 * The signal sent from the host to a container's main process: `crash` SIGKILL (exit by signal,
 * 137), `complete` SIGTERM, which the workload answers by exiting 0 itself.
 */
export const EXIT_SIGNAL: Readonly<Record<ExitHow, string>> = { crash: "KILL", complete: "TERM" };

/** Whether an exit status matches how the process was made to end (crash: non-zero, complete: 0). Pure. */
export function exitMatches(how: ExitHow, exitCode: number): boolean {
  return how === "complete" ? exitCode === 0 : exitCode !== 0;
}

/** One container of a scenario pod, as the world tracks it. */
export interface HwContainer {
  name: string;
  /** What it runs (a memory-streaming one only matters for the real counters). */
  workload?: Workload;
  /** Kubernetes container name: a slot (`c0`…) or the ephemeral container's own name. */
  kubeName: string;
  ephemeral: boolean;
  threads: number;
  /** Runtime (containerd) id of the latest attempt once running. */
  id?: string;
  /** Runtime ids of every attempt, oldest first (the kubelet keeps exited ones until its GC). */
  ids: string[];
  /** CRI attempt of the latest one (the kubelet's restartCount). */
  attempt: number;
  /** An init container (ran to completion before the slots started). */
  init: boolean;
  /** The latest attempt's process ended (crashed, completed, stopped); not yet replaced. */
  exited: boolean;
  removed: boolean;
}

/** One scenario pod. */
export interface HwPod {
  name: string;
  kubeName: string;
  uid: string;
  slots: number;
  nextSlot: number;
  containers: Map<string, HwContainer>;
  cfgDir: string;
  removed: boolean;
}

/**
 * Drives scenario pods through Kubernetes so the runtime sends the NRI events a scenario asks for:
 * a pod = a Pod whose containers are slots (see {@link podManifest}); a late container = a slot
 * whose image is patched in; an ephemeral container = `kubectl debug`; container removal = the
 * slot patched back to the placeholder, then the stopped container removed through CRI; pod
 * removal = delete, then the sandbox removed through CRI (instead of the kubelet's 1-minute GC);
 * init containers = `initContainers` of the pod spec; a crash or completion = a signal to the
 * container's main process from the host (the kubelet restarts a crashed one, restartPolicy
 * OnFailure); a stop = the kubelet's own CRI StopContainer after the slot's image was patched to
 * the placeholder (an ephemeral container: `crictl stop`).
 * Every method resolves once the runtime has acted (the kubelet or crictl reports the new state).
 */
export class PodDriver {
  constructor(
    private readonly kube: Kube,
    private readonly o: { run: string; cfgRoot: string; timeoutMs: number },
  ) {}

  /** The namespace of this driver's pods. */
  get namespace(): string {
    return this.kube.namespace;
  }

  /**
   * Creates the pod with `specs` running from the start (plus spare slots), after `inits` ran to
   * completion, and waits for it. `labels` are added to the pod's own.
   */
  async create(
    name: string,
    specs: readonly ContainerSpec[],
    inits: readonly string[] = [],
    labels?: Readonly<Record<string, string>>,
  ): Promise<HwPod> {
    const kn = kubeName(this.o.run, name);
    const cfgDir = join(this.o.cfgRoot, kn);
    await mkdir(cfgDir, { recursive: true });
    const slots = specs.length + SPARE_SLOTS;
    const pod: HwPod = {
      name,
      kubeName: kn,
      uid: "",
      slots,
      nextSlot: 0,
      containers: new Map(),
      cfgDir,
      removed: false,
    };
    for (const init of inits) {
      if (pod.containers.has(init))
        throw new Error(`failed to create pod ${name}: container name ${init} is taken`);
      pod.containers.set(init, newContainer(init, kubeName(INIT_PREFIX, init), { init: true }));
    }
    for (const spec of specs) await this.#claimSlot(pod, spec);
    const manifest = podManifest({
      name: kn,
      run: this.o.run,
      slots,
      started: new Set(specs.map((_, i) => i)),
      hostConfigDir: cfgDir,
      inits: inits.map((i) => pod.containers.get(i)!.kubeName),
      labels,
    });
    const created = await this.kube.kubectl(
      `create pod ${kn}`,
      ["create", "-f", "-", "-o", "json"],
      JSON.stringify(manifest),
    );
    pod.uid = (JSON.parse(created) as { metadata: { uid: string } }).metadata.uid;
    const initNames = inits.map((i) => pod.containers.get(i)!.kubeName);
    await this.#waitFor(
      pod,
      "its init containers to complete, its containers to run and its free slots to wait",
      (s) => {
        if (!initNames.every((n) => s.terminated.has(n) && s.exitCodes.get(n) === 0)) return false;
        for (let i = 0; i < slots; i++) {
          const slot = slotName(i);
          const ready = i < specs.length ? s.running.has(slot) : s.waiting.get(slot) === NEVER_PULL;
          if (!ready) return false;
        }
        return true;
      },
    );
    const done = await this.kube.podStatus(kn);
    for (const init of inits) {
      const c = pod.containers.get(init)!;
      c.id = done?.terminated.get(c.kubeName);
      if (c.id) c.ids.push(c.id);
      c.exited = true;
    }
    await this.#recordIds(pod);
    return pod;
  }

  /** Starts a new regular container in a free slot. */
  async startContainer(pod: HwPod, spec: ContainerSpec): Promise<HwContainer> {
    const c = await this.#claimSlot(pod, spec);
    await this.kube.setImage(pod.kubeName, c.kubeName, WORKLOAD_IMAGE);
    await this.#waitFor(pod, `container ${c.kubeName} to run`, (s) => s.running.has(c.kubeName));
    await this.#recordIds(pod);
    return c;
  }

  /** Adds an ephemeral container with `kubectl debug`. */
  async addEphemeral(pod: HwPod, spec: ContainerSpec): Promise<HwContainer> {
    if (pod.containers.has(spec.name))
      throw new Error(`failed to add ephemeral container ${spec.name} to ${pod.name}: the name is taken`);
    const c = newContainer(spec.name, kubeName(spec.name), {
      ephemeral: true,
      threads: spec.threads,
      workload: spec.workload,
    });
    pod.containers.set(spec.name, c);
    await this.kube.debug(pod.kubeName, c.kubeName, workloadSpec(c.threads, c.workload));
    await this.#waitFor(pod, `ephemeral container ${c.kubeName} to run`, (s) => s.running.has(c.kubeName));
    await this.#recordIds(pod);
    return c;
  }

  /**
   * Makes the container's main process end by itself: {@link EXIT_SIGNAL} from the host, without
   * waiting ({@link awaitExit} waits).
   */
  async signalExit(pod: HwPod, c: HwContainer, how: ExitHow): Promise<void> {
    const id = this.#liveId(pod, c, how === "crash" ? "crash" : "complete");
    await this.kube.signalContainer(id, EXIT_SIGNAL[how]);
  }

  /**
   * Waits until the runtime reports the container's latest attempt exited (containerd delivered
   * NRI StopContainer before it records that); rejects if the exit status does not match `how`.
   * The kubelet keeps the container; after a crash it starts a replacement ({@link awaitRestart}).
   */
  async awaitExit(pod: HwPod, c: HwContainer, how: ExitHow): Promise<RuntimeContainerView> {
    const id = c.id;
    if (!id) throw new Error(`failed to wait for container ${c.name} of ${pod.name}: it never ran`);
    const v = await this.kube.waitContainerExited(id, this.o.timeoutMs);
    c.exited = true;
    if (v.state !== "GONE" && !exitMatches(how, v.exitCode))
      throw new Error(
        `failed to make container ${c.name} of ${pod.name} ${how}: it exited with status ${v.exitCode}`,
      );
    return v;
  }

  /** {@link signalExit} + {@link awaitExit}. */
  async exit(pod: HwPod, c: HwContainer, how: ExitHow): Promise<void> {
    await this.signalExit(pod, c, how);
    await this.awaitExit(pod, c, how);
  }

  /**
   * Waits for the kubelet's replacement of a crashed container: the same name running with a new
   * runtime id (attempt = restartCount, previous + 1). The kubelet decides when (at once after a
   * first crash, then CrashLoopBackOff: 10 s, 20 s, …); the exited attempt stays.
   */
  async awaitRestart(pod: HwPod, c: HwContainer): Promise<HwContainer> {
    if (!c.exited || c.removed)
      throw new Error(`failed to restart container ${c.name} of ${pod.name}: it has not exited`);
    if (c.ephemeral || c.init)
      throw new Error(
        `failed to restart container ${c.name} of ${pod.name}: the kubelet never restarts ${c.ephemeral ? "an ephemeral" : "an init"} container that completed`,
      );
    const known = new Set(c.ids);
    await this.#waitFor(pod, `the kubelet to restart container ${c.kubeName}`, (s) => {
      const id = s.running.get(c.kubeName);
      return id !== undefined && !known.has(id);
    });
    const s = await this.kube.podStatus(pod.kubeName);
    const id = s?.running.get(c.kubeName);
    if (!id || known.has(id))
      throw new Error(`failed to restart container ${c.name} of ${pod.name}: it exited again`);
    c.id = id;
    c.ids.push(id);
    c.attempt = s?.restarts.get(c.kubeName) ?? c.attempt + 1;
    c.exited = false;
    return c;
  }

  /**
   * Stops a running container without removing it. A regular slot: its image is patched to the
   * placeholder, so the kubelet calls CRI StopContainer and cannot start the new image (the slot
   * waits); an ephemeral container: `crictl stop` (the kubelet never restarts one). Resolves once
   * the runtime reports it exited.
   */
  async stop(pod: HwPod, c: HwContainer): Promise<void> {
    const id = this.#liveId(pod, c, "stop");
    if (c.ephemeral) await this.kube.stopContainer(id, STOP_GRACE_SECONDS);
    else {
      await this.kube.setImage(pod.kubeName, c.kubeName, PLACEHOLDER_IMAGE);
      await this.#waitFor(pod, `container ${c.kubeName} to stop`, (s) => s.running.get(c.kubeName) !== id);
    }
    await this.kube.waitContainerExited(id, this.o.timeoutMs);
    c.exited = true;
  }

  /**
   * Stops a container for good and removes it from the runtime (REMOVE_CONTAINER), every attempt
   * the kubelet still keeps, latest first.
   */
  async removeContainer(pod: HwPod, c: HwContainer): Promise<void> {
    const id = c.id;
    if (!id) throw new Error(`failed to remove container ${c.name} of ${pod.name}: it never ran`);
    if (!c.ephemeral && !c.init) {
      // The kubelet kills a container whose image changed and would start the new one, which
      // never exists: the slot stays down instead of being restarted.
      await this.kube.setImage(pod.kubeName, c.kubeName, PLACEHOLDER_IMAGE);
      await this.#waitFor(pod, `container ${c.kubeName} to stop`, (s) => s.running.get(c.kubeName) !== id);
    }
    await this.kube.removeContainer(id);
    for (const earlier of c.ids.filter((i) => i !== id).reverse()) {
      // The kubelet's GC may have removed an older attempt already.
      await this.kube.removeContainer(earlier).catch((e: Error) => {
        if (!isNotFound(e)) throw e;
      });
    }
    c.exited = true;
    c.removed = true;
  }

  /**
   * Deletes the pod and removes its sandbox from the runtime (REMOVE_POD_SANDBOX). The kubelet
   * may remove the sandbox itself between the listing and `crictl rmp` (or the pod may be gone
   * already): a sandbox or pod that is not found counts as removed.
   */
  async removePod(pod: HwPod): Promise<void> {
    await this.kube.deletePod(pod.kubeName);
    for (const id of await this.kube.sandboxesOf(pod.uid)) {
      await this.kube.removeSandbox(id).catch((e: Error) => {
        if (!isNotFound(e)) throw e;
      });
    }
    pod.removed = true;
    for (const c of pod.containers.values()) c.removed = true;
    await rm(pod.cfgDir, { recursive: true, force: true });
  }

  /**
   * An operator by hand, containers first: every container that ran is removed through CRI while
   * the sandbox still runs ({@link removeContainer}: a slot is patched to the placeholder first, so
   * the kubelet stops it and cannot start it again, then `crictl rm`), then the pod
   * ({@link removePod}: its API object deleted, so the kubelet does not recreate the sandbox, which
   * it stops, and `crictl rmp`).
   */
  async removePodContainersFirst(pod: HwPod): Promise<void> {
    for (const c of pod.containers.values()) if (!c.removed && c.id) await this.removeContainer(pod, c);
    await this.removePod(pod);
  }

  async #claimSlot(pod: HwPod, spec: ContainerSpec): Promise<HwContainer> {
    if (pod.containers.has(spec.name))
      throw new Error(`failed to start container ${spec.name} in ${pod.name}: the name is taken`);
    if (pod.nextSlot >= pod.slots) {
      throw new Error(
        `failed to start container ${spec.name} in ${pod.name}: all ${pod.slots} slots are used (SPARE_SLOTS=${SPARE_SLOTS})`,
      );
    }
    const c = newContainer(spec.name, slotName(pod.nextSlot++), {
      threads: spec.threads,
      workload: spec.workload,
    });
    await writeFile(join(pod.cfgDir, c.kubeName), `${workloadSpec(c.threads, c.workload)}\n`);
    pod.containers.set(spec.name, c);
    return c;
  }

  async #recordIds(pod: HwPod): Promise<void> {
    const s = await this.kube.podStatus(pod.kubeName);
    if (!s) throw new Error(`failed to read pod ${pod.kubeName}: it is gone`);
    for (const c of pod.containers.values()) {
      const id = s.running.get(c.kubeName);
      // An exited container keeps its id until awaitRestart takes the kubelet's replacement.
      if (id && !c.removed && !c.exited && c.id !== id) {
        c.id = id;
        c.ids.push(id);
      }
    }
  }

  #liveId(pod: HwPod, c: HwContainer, verb: string): string {
    if (!c.id || c.removed || c.exited)
      throw new Error(`failed to ${verb} container ${c.name} of ${pod.name}: it is not running`);
    return c.id;
  }

  async #waitFor(pod: HwPod, what: string, done: (s: PodStatusView) => boolean): Promise<void> {
    const deadline = Date.now() + this.o.timeoutMs;
    let last: PodStatusView | undefined;
    for (;;) {
      last = await this.kube.podStatus(pod.kubeName);
      if (last && done(last)) return;
      if (Date.now() >= deadline) {
        const seen = last
          ? `phase ${last.phase}, running [${[...last.running.keys()].join(" ")}], waiting [${[...last.waiting].map(([k, v]) => `${k}:${v}`).join(" ")}]`
          : "pod not found";
        throw new Error(
          `failed to wait for pod ${pod.kubeName}: ${what} within ${this.o.timeoutMs} ms (${seen})`,
        );
      }
      await new Promise((r) => setTimeout(r, KUBE_POLL_MS));
    }
  }
}

/** A kubectl/crictl failure saying the object does not exist (any more). Pure. */
export function isNotFound(e: Error): boolean {
  return /not ?found/i.test(e.message);
}

/** A container record before it ran. */
function newContainer(
  name: string,
  kube: string,
  o: { ephemeral?: boolean; init?: boolean; threads?: number; workload?: Workload },
): HwContainer {
  return {
    name,
    workload: o.workload,
    kubeName: kube,
    ephemeral: o.ephemeral ?? false,
    init: o.init ?? false,
    threads: o.threads ?? 1,
    ids: [],
    attempt: 0,
    exited: false,
    removed: false,
  };
}
