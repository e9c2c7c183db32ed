import type { HostPort } from "./host.js";

/** Namespace of every pod the hardware world creates (teardown.sh deletes it). */
export const TEST_NAMESPACE = "nri-resctrl-e2e";
/** Image of every test container: python gives an exact, scriptable thread count. Pre-pulled by provision.sh. */
export const WORKLOAD_IMAGE = "docker.io/library/python:3.12-alpine";
/** An image that is never present; with pull policy Never the container waits (ErrImageNeverPull) and never starts. */
export const PLACEHOLDER_IMAGE = "localhost/nri-resctrl-e2e/not-started:0";
/** Container slots added to every pod beyond the ones a scenario declares, for containers that join later. */
export const SPARE_SLOTS = 3;
/** Where slot containers read their thread count (a hostPath the world writes before starting the slot). */
export const SLOT_CONFIG_MOUNT = "/cfg";
/** Label carrying the scenario nonce, so a sweep can find everything a run created. */
export const RUN_LABEL = "nri-resctrl-e2e/run";

/**
 * The workload: `python3 -c WORKLOAD_SCRIPT <n | path>` runs n threads in total (main + n-1
 * sleepers); given a path it reads n from that file (default 1 when the file is missing).
 */
export const WORKLOAD_SCRIPT = [
  "import os, sys, threading, time",
  "a = sys.argv[1] if len(sys.argv) > 1 else '1'",
  "n = int(a) if a.isdigit() else (int(open(a).read().strip() or 1) if os.path.exists(a) else 1)",
  "[threading.Thread(target=time.sleep, args=(10**9,), daemon=True).start() for _ in range(max(n, 1) - 1)]",
  "time.sleep(10**9)",
].join("\n");

/** Command of a container running `threads` threads (ephemeral containers: the count is in argv). */
export function workloadCommand(threadsOrFile: number | string): string[] {
  return ["python3", "-c", WORKLOAD_SCRIPT, String(threadsOrFile)];
}

/** Kubernetes object name from parts: lowercase DNS-1123 label, at most 63 characters. Pure. */
export function kubeName(...parts: string[]): string {
  const s = parts
    .join("-")
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-|-$/g, "");
  const cut = s.slice(0, 63).replace(/-$/, "");
  if (cut === "") throw new Error(`failed to build a Kubernetes name from ${JSON.stringify(parts)}`);
  return cut;
}

/** Name of slot `i` of a pod. */
export const slotName = (i: number): string => `c${i}`;

/** Options of {@link podManifest}. */
export interface PodManifestOptions {
  name: string;
  namespace?: string;
  /** The scenario nonce, stored in {@link RUN_LABEL}. */
  run: string;
  /** Number of container slots; slot i is named {@link slotName}(i). */
  slots: number;
  /** Slots that run from the start (the others wait on {@link PLACEHOLDER_IMAGE}). */
  started: ReadonlySet<number>;
  /** Host directory with one `<slot>` file per slot holding its thread count (mounted at {@link SLOT_CONFIG_MOUNT}). */
  hostConfigDir: string;
}

/**
 * The pod of one scenario pod: `slots` containers, each `python3 -c WORKLOAD_SCRIPT /cfg/<slot>`.
 * Containers not yet started use a never-present image with pull policy Never, so the sandbox runs
 * (RUN_POD_SANDBOX) while they wait; starting one later = patching its image (the only mutable
 * container field), which the kubelet answers with CREATE + START_CONTAINER. Pure.
 */
export function podManifest(o: PodManifestOptions): Record<string, unknown> {
  const containers = Array.from({ length: o.slots }, (_, i) => ({
    name: slotName(i),
    image: o.started.has(i) ? WORKLOAD_IMAGE : PLACEHOLDER_IMAGE,
    // Never for every slot: the policy is immutable, the image is not. The workload image is
    // pre-pulled (provision.sh, HardwareWorld.init); the placeholder never exists.
    imagePullPolicy: "Never",
    command: workloadCommand(`${SLOT_CONFIG_MOUNT}/${slotName(i)}`),
    volumeMounts: [{ name: "cfg", mountPath: SLOT_CONFIG_MOUNT, readOnly: true }],
  }));
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: o.name,
      namespace: o.namespace ?? TEST_NAMESPACE,
      labels: { "app.kubernetes.io/part-of": "nri-resctrl-e2e", [RUN_LABEL]: o.run },
    },
    spec: {
      restartPolicy: "Never",
      terminationGracePeriodSeconds: 1,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      tolerations: [{ operator: "Exists" }],
      containers,
      volumes: [{ name: "cfg", hostPath: { path: o.hostConfigDir, type: "DirectoryOrCreate" } }],
    },
  };
}

/** The parts of a pod's status the world reads. */
export interface PodStatusView {
  uid: string;
  phase: string;
  /** Container name → runtime id (without `containerd://`), running containers only. */
  running: Map<string, string>;
  /** Container name → waiting reason (e.g. ErrImageNeverPull). */
  waiting: Map<string, string>;
  /** Container name → last runtime id of a terminated container. */
  terminated: Map<string, string>;
}

interface RawStatus {
  name: string;
  containerID?: string;
  state?: { running?: unknown; waiting?: { reason?: string }; terminated?: unknown };
}

/** Extracts {@link PodStatusView} from `kubectl get pod -o json` output (regular and ephemeral containers). Pure. */
export function parsePodStatus(json: string): PodStatusView {
  const pod = JSON.parse(json) as {
    metadata?: { uid?: string };
    status?: { phase?: string; containerStatuses?: RawStatus[]; ephemeralContainerStatuses?: RawStatus[] };
  };
  const view: PodStatusView = {
    uid: pod.metadata?.uid ?? "",
    phase: pod.status?.phase ?? "Unknown",
    running: new Map(),
    waiting: new Map(),
    terminated: new Map(),
  };
  for (const s of [
    ...(pod.status?.containerStatuses ?? []),
    ...(pod.status?.ephemeralContainerStatuses ?? []),
  ]) {
    const id = (s.containerID ?? "").replace(/^[a-z]+:\/\//, "");
    if (s.state?.running !== undefined && id) view.running.set(s.name, id);
    else if (s.state?.waiting !== undefined) view.waiting.set(s.name, s.state.waiting.reason ?? "Waiting");
    else if (s.state?.terminated !== undefined && id) view.terminated.set(s.name, id);
  }
  return view;
}

/**
 * kubectl and crictl for one namespace, through the {@link HostPort}. Every call is bounded by
 * `timeoutMs`; a non-zero exit rejects with "failed to <what>: <stderr>". Owns nothing.
 */
export class Kube {
  constructor(
    private readonly host: HostPort,
    private readonly o: {
      namespace?: string;
      kubeconfig?: string;
      crictl?: string[];
      timeoutMs?: number;
    } = {},
  ) {}

  get namespace(): string {
    return this.o.namespace ?? TEST_NAMESPACE;
  }

  /** Runs kubectl; resolves stdout. */
  async kubectl(what: string, args: string[], input?: string): Promise<string> {
    const env = this.o.kubeconfig ? { KUBECONFIG: this.o.kubeconfig } : {};
    const r = await this.host.run("kubectl", args, { env, input, timeoutMs: this.o.timeoutMs ?? 60_000 });
    if (r.exitCode !== 0)
      throw new Error(
        `failed to ${what}: kubectl ${args.join(" ")}: ${r.stderr.trim() || `exit ${r.exitCode}`}`,
      );
    return r.stdout;
  }

  /** Runs crictl (default `k3s crictl`); resolves stdout. */
  async crictl(what: string, args: string[]): Promise<string> {
    const [cmd, ...pre] = this.o.crictl ?? ["k3s", "crictl"];
    const r = await this.host.run(cmd!, [...pre, ...args], { timeoutMs: this.o.timeoutMs ?? 60_000 });
    if (r.exitCode !== 0)
      throw new Error(
        `failed to ${what}: crictl ${args.join(" ")}: ${r.stderr.trim() || `exit ${r.exitCode}`}`,
      );
    return r.stdout;
  }

  /** Polls until the API answers and every node is Ready (after a k3s restart); rejects at the deadline. */
  async waitClusterReady(timeoutMs: number, pollMs = 1_000): Promise<void> {
    const env = this.o.kubeconfig ? { KUBECONFIG: this.o.kubeconfig } : {};
    const deadline = Date.now() + timeoutMs;
    let last = "";
    for (;;) {
      const api = await this.host.run("kubectl", ["get", "--raw", "/readyz"], { env, timeoutMs: 10_000 });
      if (api.exitCode === 0) {
        const node = await this.host.run(
          "kubectl",
          ["wait", "--for=condition=Ready", "node", "--all", "--timeout=5s"],
          { env, timeoutMs: 15_000 },
        );
        if (node.exitCode === 0) return;
        last = node.stderr.trim();
      } else last = api.stderr.trim();
      if (Date.now() >= deadline)
        throw new Error(`failed to wait for the cluster to be ready within ${timeoutMs} ms: ${last}`);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  async ensureNamespace(): Promise<void> {
    const ns = { apiVersion: "v1", kind: "Namespace", metadata: { name: this.namespace } };
    await this.kubectl(`create namespace ${this.namespace}`, ["apply", "-f", "-"], JSON.stringify(ns));
  }

  async apply(what: string, manifest: Record<string, unknown>): Promise<void> {
    await this.kubectl(what, ["apply", "-f", "-"], JSON.stringify(manifest));
  }

  /** The pod's status, or undefined when it does not exist. */
  async podStatus(name: string): Promise<PodStatusView | undefined> {
    const env = this.o.kubeconfig ? { KUBECONFIG: this.o.kubeconfig } : {};
    const args = ["-n", this.namespace, "get", "pod", name, "-o", "json"];
    const r = await this.host.run("kubectl", args, { env, timeoutMs: this.o.timeoutMs ?? 60_000 });
    if (r.exitCode !== 0) {
      if (/NotFound/.test(r.stderr)) return undefined;
      throw new Error(`failed to read pod ${name}: ${r.stderr.trim()}`);
    }
    return parsePodStatus(r.stdout);
  }

  /** Sets the image of one container (the slot's pull policy stays Never: the image must be local). */
  async setImage(pod: string, container: string, image: string): Promise<void> {
    const patch = { spec: { containers: [{ name: container, image }] } };
    await this.kubectl(`set the image of ${pod}/${container}`, [
      "-n",
      this.namespace,
      "patch",
      "pod",
      pod,
      "--type=strategic",
      "-p",
      JSON.stringify(patch),
    ]);
  }

  /** `kubectl debug`: adds an ephemeral container running `threads` threads. */
  async debug(pod: string, container: string, threads: number): Promise<void> {
    await this.kubectl(`add ephemeral container ${container} to ${pod}`, [
      "-n",
      this.namespace,
      "debug",
      `pod/${pod}`,
      `--container=${container}`,
      `--image=${WORKLOAD_IMAGE}`,
      "--image-pull-policy=IfNotPresent",
      "--profile=general",
      "--attach=false",
      "--quiet",
      "--",
      ...workloadCommand(threads),
    ]);
  }

  /** Deletes a pod and waits until the API object is gone. */
  async deletePod(pod: string): Promise<void> {
    await this.kubectl(`delete pod ${pod}`, [
      "-n",
      this.namespace,
      "delete",
      "pod",
      pod,
      "--grace-period=1",
      "--wait=true",
      "--ignore-not-found",
    ]);
  }

  /** Deletes every pod of a run (cleanup; does not wait). */
  async deleteRun(run: string): Promise<void> {
    await this.kubectl(`delete the pods of run ${run}`, [
      "-n",
      this.namespace,
      "delete",
      "pod",
      "-l",
      `${RUN_LABEL}=${run}`,
      "--grace-period=1",
      "--wait=false",
      "--ignore-not-found",
    ]);
  }

  /** Sandbox ids of a pod UID still known to the runtime. */
  async sandboxesOf(podUid: string): Promise<string[]> {
    const out = await this.crictl(`list sandboxes of pod ${podUid}`, [
      "pods",
      "--label",
      `io.kubernetes.pod.uid=${podUid}`,
      "-q",
    ]);
    return out
      .split("\n")
      .map((s) => s.trim())
      .filter(Boolean);
  }

  /** Stops and removes a sandbox now (REMOVE_POD_SANDBOX) instead of waiting for the kubelet's GC. */
  async removeSandbox(id: string): Promise<void> {
    await this.crictl(`remove sandbox ${id}`, ["rmp", "--force", id]);
  }

  /** Pulls an image into the runtime unless it is already there. */
  async ensureImage(image: string): Promise<void> {
    const [cmd, ...pre] = this.o.crictl ?? ["k3s", "crictl"];
    const have = await this.host.run(cmd!, [...pre, "inspecti", image], { timeoutMs: 30_000 });
    if (have.exitCode !== 0) await this.crictl(`pull image ${image}`, ["pull", image]);
  }

  /** Stops and removes a container now (REMOVE_CONTAINER). */
  async removeContainer(id: string): Promise<void> {
    await this.crictl(`remove container ${id}`, ["rm", "--force", id]);
  }
}
