import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ContainerSpec } from "../types.js";
import type { Kube } from "./kube.js";
import {
  PLACEHOLDER_IMAGE,
  SPARE_SLOTS,
  WORKLOAD_IMAGE,
  kubeName,
  podManifest,
  slotName,
  type PodStatusView,
} from "./kube.js";

/**
 * Waiting reason of a slot on the placeholder image. The kubelet reports it only after it tried to
 * start the container, i.e. after the sandbox exists (ContainerCreating comes before that).
 */
export const NEVER_PULL = "ErrImageNeverPull";
/** Poll interval of every wait on the Kubernetes API. */
export const KUBE_POLL_MS = 250;

/** One container of a scenario pod, as the world tracks it. */
export interface HwContainer {
  name: string;
  /** Kubernetes container name: a slot (`c0`…) or the ephemeral container's own name. */
  kubeName: string;
  ephemeral: boolean;
  threads: number;
  /** Runtime (containerd) id once running. */
  id?: string;
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
 * removal = delete, then the sandbox removed through CRI (instead of the kubelet's 1-minute GC).
 * Every method resolves once the runtime has acted (the kubelet reports the new state).
 */
export class PodDriver {
  constructor(
    private readonly kube: Kube,
    private readonly o: { run: string; cfgRoot: string; timeoutMs: number },
  ) {}

  /** Creates the pod with `specs` running from the start (plus spare slots) and waits for it. */
  async create(name: string, specs: readonly ContainerSpec[]): Promise<HwPod> {
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
    for (const spec of specs) await this.#claimSlot(pod, spec);
    const manifest = podManifest({
      name: kn,
      run: this.o.run,
      slots,
      started: new Set(specs.map((_, i) => i)),
      hostConfigDir: cfgDir,
    });
    const created = await this.kube.kubectl(
      `create pod ${kn}`,
      ["create", "-f", "-", "-o", "json"],
      JSON.stringify(manifest),
    );
    pod.uid = (JSON.parse(created) as { metadata: { uid: string } }).metadata.uid;
    await this.#waitFor(pod, "its containers to run and its free slots to wait", (s) => {
      for (let i = 0; i < slots; i++) {
        const slot = slotName(i);
        const ready = i < specs.length ? s.running.has(slot) : s.waiting.get(slot) === NEVER_PULL;
        if (!ready) return false;
      }
      return true;
    });
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
    const c: HwContainer = {
      name: spec.name,
      kubeName: kubeName(spec.name),
      ephemeral: true,
      threads: spec.threads ?? 1,
      removed: false,
    };
    pod.containers.set(spec.name, c);
    await this.kube.debug(pod.kubeName, c.kubeName, c.threads);
    await this.#waitFor(pod, `ephemeral container ${c.kubeName} to run`, (s) => s.running.has(c.kubeName));
    await this.#recordIds(pod);
    return c;
  }

  /** Stops a container for good and removes it from the runtime (REMOVE_CONTAINER). */
  async removeContainer(pod: HwPod, c: HwContainer): Promise<void> {
    const id = c.id;
    if (!id) throw new Error(`failed to remove container ${c.name} of ${pod.name}: it never ran`);
    if (!c.ephemeral) {
      // The kubelet kills a container whose image changed and would start the new one, which
      // never exists: the slot stays down instead of being restarted.
      await this.kube.setImage(pod.kubeName, c.kubeName, PLACEHOLDER_IMAGE);
      await this.#waitFor(pod, `container ${c.kubeName} to stop`, (s) => s.running.get(c.kubeName) !== id);
    }
    await this.kube.removeContainer(id);
    c.removed = true;
  }

  /** Deletes the pod and removes its sandbox from the runtime (REMOVE_POD_SANDBOX). */
  async removePod(pod: HwPod): Promise<void> {
    await this.kube.deletePod(pod.kubeName);
    for (const id of await this.kube.sandboxesOf(pod.uid)) await this.kube.removeSandbox(id);
    pod.removed = true;
    for (const c of pod.containers.values()) c.removed = true;
    await rm(pod.cfgDir, { recursive: true, force: true });
  }

  async #claimSlot(pod: HwPod, spec: ContainerSpec): Promise<HwContainer> {
    if (pod.containers.has(spec.name))
      throw new Error(`failed to start container ${spec.name} in ${pod.name}: the name is taken`);
    if (pod.nextSlot >= pod.slots) {
      throw new Error(
        `failed to start container ${spec.name} in ${pod.name}: all ${pod.slots} slots are used (SPARE_SLOTS=${SPARE_SLOTS})`,
      );
    }
    const c: HwContainer = {
      name: spec.name,
      kubeName: slotName(pod.nextSlot++),
      ephemeral: false,
      threads: spec.threads ?? 1,
      removed: false,
    };
    await writeFile(join(pod.cfgDir, c.kubeName), `${c.threads}\n`);
    pod.containers.set(spec.name, c);
    return c;
  }

  async #recordIds(pod: HwPod): Promise<void> {
    const s = await this.kube.podStatus(pod.kubeName);
    if (!s) throw new Error(`failed to read pod ${pod.kubeName}: it is gone`);
    for (const c of pod.containers.values()) {
      const id = s.running.get(c.kubeName);
      if (id && !c.removed) c.id = id;
    }
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
