import type { Workload } from "../types.js";
import type { HostPort } from "./host.js";
import { parseSandboxPid } from "./rdt-classes.js";

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
 * Restart policy of every test pod. OnFailure, as a Job's pods: the kubelet restarts a container
 * that crashed (non-zero exit) with attempt + 1 and keeps the exited one, and leaves a container
 * that completed (exit 0) exited. The policy is immutable, so every pod gets it.
 */
export const POD_RESTART_POLICY = "OnFailure";
/** Command of an init container: it exits 0 by itself at once (alpine's busybox `true`). */
export const INIT_COMMAND: readonly string[] = ["true"];
/** Prefix of init container names (slots are `c<i>`, so they never collide). */
export const INIT_PREFIX = "init-";

/** Bytes of each of the two buffers a streaming workload copies between: together far above any LLC (m7i: 105 MiB per socket). */
export const STREAM_BUFFER_BYTES = 256 * 1024 * 1024;

/**
 * The workload: `python3 -c WORKLOAD_SCRIPT <spec | path>` where the spec (or the file at path,
 * default "1" when missing) is `<n>` or `<n> stream`: n threads in total (main + n-1 sleepers);
 * with `stream` the main thread copies a {@link STREAM_BUFFER_BYTES} buffer into another, forever
 * (a memcpy far larger than the last-level cache, so the group's llc_occupancy and its memory
 * bandwidth counters move), instead of sleeping. SIGTERM makes it exit 0 at once by itself (as PID
 * 1 of its PID namespace it would ignore an unhandled SIGTERM; a streaming main thread runs the
 * handler between two copies): that is how a scenario makes a container complete or a debug
 * session end.
 */
export const WORKLOAD_SCRIPT = [
  "import os, signal, sys, threading, time",
  "signal.signal(signal.SIGTERM, lambda *_: os._exit(0))",
  "a = sys.argv[1] if len(sys.argv) > 1 else '1'",
  "w = (a if a[:1].isdigit() else (open(a).read() if os.path.exists(a) else '1')).split() or ['1']",
  "n = int(w[0]) if w[0].isdigit() else 1",
  "[threading.Thread(target=time.sleep, args=(10**9,), daemon=True).start() for _ in range(max(n, 1) - 1)]",
  `b, c = (bytearray(${STREAM_BUFFER_BYTES}), bytearray(${STREAM_BUFFER_BYTES})) if 'stream' in w[1:] else (None, None)`,
  "while b is not None: c[:] = b",
  "time.sleep(10**9)",
].join("\n");

/** The workload spec of a container: `<threads>`, or `<threads> stream` for a memory-streaming one. Pure. */
export function workloadSpec(threads: number, workload: Workload = "idle"): string {
  return workload === "memory-stream" ? `${threads} stream` : String(threads);
}

/** Command of a container running a {@link workloadSpec} (ephemeral containers: the spec is in argv) or reading it from a file. */
export function workloadCommand(specOrFile: number | string): string[] {
  return ["python3", "-c", WORKLOAD_SCRIPT, String(specOrFile)];
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
  /** Init containers (Kubernetes names), run in order to completion before the slots start. */
  inits?: readonly string[];
  /** Labels added to the pod's own (a scenario's, for the plugin's label selector). */
  labels?: Readonly<Record<string, string>>;
}

/**
 * The pod of one scenario pod: `slots` containers, each `python3 -c WORKLOAD_SCRIPT /cfg/<slot>`.
 * Containers not yet started use a never-present image with pull policy Never, so the sandbox runs
 * (RUN_POD_SANDBOX) while they wait; starting one later = patching its image (the only mutable
 * container field), which the kubelet answers with CREATE + START_CONTAINER. Init containers run
 * {@link INIT_COMMAND}, which exits 0. Restart policy {@link POD_RESTART_POLICY}. Pure.
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
  const initContainers = (o.inits ?? []).map((name) => ({
    name,
    image: WORKLOAD_IMAGE,
    imagePullPolicy: "Never",
    command: [...INIT_COMMAND],
  }));
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: o.name,
      namespace: o.namespace ?? TEST_NAMESPACE,
      labels: { ...o.labels, "app.kubernetes.io/part-of": "nri-resctrl-e2e", [RUN_LABEL]: o.run },
    },
    spec: {
      restartPolicy: POD_RESTART_POLICY,
      terminationGracePeriodSeconds: 1,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      tolerations: [{ operator: "Exists" }],
      ...(initContainers.length > 0 ? { initContainers } : {}),
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
  /** Container name → exit code of a terminated container. */
  exitCodes: Map<string, number>;
  /** Container name → how often the kubelet restarted it (`restartCount`; the current attempt). */
  restarts: Map<string, number>;
}

interface RawStatus {
  name: string;
  containerID?: string;
  restartCount?: number;
  state?: { running?: unknown; waiting?: { reason?: string }; terminated?: { exitCode?: number } };
}

/**
 * Extracts {@link PodStatusView} from `kubectl get pod -o json` output (init, regular and
 * ephemeral containers; their names never collide). Pure.
 */
export function parsePodStatus(json: string): PodStatusView {
  const pod = JSON.parse(json) as {
    metadata?: { uid?: string };
    status?: {
      phase?: string;
      initContainerStatuses?: RawStatus[];
      containerStatuses?: RawStatus[];
      ephemeralContainerStatuses?: RawStatus[];
    };
  };
  const view: PodStatusView = {
    uid: pod.metadata?.uid ?? "",
    phase: pod.status?.phase ?? "Unknown",
    running: new Map(),
    waiting: new Map(),
    terminated: new Map(),
    exitCodes: new Map(),
    restarts: new Map(),
  };
  for (const s of [
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.containerStatuses ?? []),
    ...(pod.status?.ephemeralContainerStatuses ?? []),
  ]) {
    const id = (s.containerID ?? "").replace(/^[a-z]+:\/\//, "");
    view.restarts.set(s.name, s.restartCount ?? 0);
    if (s.state?.running !== undefined && id) view.running.set(s.name, id);
    else if (s.state?.waiting !== undefined) view.waiting.set(s.name, s.state.waiting.reason ?? "Waiting");
    else if (s.state?.terminated !== undefined && id) {
      view.terminated.set(s.name, id);
      view.exitCodes.set(s.name, s.state.terminated.exitCode ?? -1);
    }
  }
  return view;
}

/** What `crictl inspect -o json <id>` says about one container (the parts the world reads). */
export interface RuntimeContainerView {
  /** CRI state name: CONTAINER_CREATED, CONTAINER_RUNNING, CONTAINER_EXITED, CONTAINER_UNKNOWN. */
  state: string;
  /** Exit status once exited (128 + signal when a signal ended it). */
  exitCode: number;
  /** CRI `metadata.attempt`. */
  attempt: number;
  /** Host PID of the container's main process; 0 once it exited. */
  pid: number;
}

/** Parses `crictl inspect -o json` output into {@link RuntimeContainerView}. Throws on other input. Pure. */
export function parseCrictlInspect(json: string): RuntimeContainerView {
  const raw = JSON.parse(json) as {
    status?: { state?: unknown; exitCode?: unknown; metadata?: { attempt?: unknown } };
    info?: { pid?: unknown };
  };
  const state = raw.status?.state;
  if (typeof state !== "string")
    throw new Error(`failed to parse crictl inspect output: no status.state in ${json.slice(0, 200)}`);
  const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);
  return {
    state,
    exitCode: num(raw.status?.exitCode),
    attempt: num(raw.status?.metadata?.attempt),
    pid: num(raw.info?.pid),
  };
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

  /** Creates the namespace unless it exists; `labels` mark it (a run's own namespaces carry {@link RUN_LABEL}). */
  async ensureNamespace(labels: Readonly<Record<string, string>> = {}): Promise<void> {
    const metadata =
      Object.keys(labels).length > 0 ? { name: this.namespace, labels } : { name: this.namespace };
    const ns = { apiVersion: "v1", kind: "Namespace", metadata };
    await this.kubectl(`create namespace ${this.namespace}`, ["apply", "-f", "-"], JSON.stringify(ns));
  }

  /** Deletes the namespace (and what is left in it) without waiting. */
  async deleteNamespace(): Promise<void> {
    await this.kubectl(`delete namespace ${this.namespace}`, [
      "delete",
      "namespace",
      this.namespace,
      "--wait=false",
      "--ignore-not-found",
    ]);
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

  /** `kubectl debug`: adds an ephemeral container running a {@link workloadSpec} (a thread count, optionally streaming). */
  async debug(pod: string, container: string, threads: number | string): Promise<void> {
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

  /**
   * Host PID of the pod's ready sandbox (its pause process, `crictl inspectp` `info.pid`); its
   * parent is the pod's containerd shim. Rejects when no sandbox of the pod is ready.
   */
  async sandboxPid(podUid: string): Promise<number> {
    const out = await this.crictl(`list ready sandboxes of pod ${podUid}`, [
      "pods",
      "--label",
      `io.kubernetes.pod.uid=${podUid}`,
      "--state",
      "ready",
      "-q",
    ]);
    const id = out
      .split("\n")
      .map((s) => s.trim())
      .find(Boolean);
    if (!id) throw new Error(`failed to find a ready sandbox of pod ${podUid}`);
    return parseSandboxPid(await this.crictl(`inspect sandbox ${id}`, ["inspectp", "-o", "json", id]));
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

  /** The runtime's view of one container (`crictl inspect`). */
  async inspectContainer(id: string): Promise<RuntimeContainerView> {
    return parseCrictlInspect(await this.crictl(`inspect container ${id}`, ["inspect", "-o", "json", id]));
  }

  /** CRI StopContainer (`crictl stop`): SIGTERM, SIGKILL after `graceSeconds`; the container is kept. */
  async stopContainer(id: string, graceSeconds: number): Promise<void> {
    await this.crictl(`stop container ${id}`, ["stop", "--timeout", String(graceSeconds), id]);
  }

  /**
   * Sends `signal` (KILL, TERM, …) to the container's main process from the host (`kill`), as a
   * crash or the process's own end would come, not through the runtime.
   */
  async signalContainer(id: string, signal: string): Promise<void> {
    const { pid, state } = await this.inspectContainer(id);
    if (state !== "CONTAINER_RUNNING" || pid <= 0)
      throw new Error(`failed to signal container ${id}: it is ${state} (pid ${pid})`);
    const r = await this.host.run("kill", ["-s", signal, String(pid)], { timeoutMs: 10_000 });
    if (r.exitCode !== 0)
      throw new Error(`failed to send SIG${signal} to container ${id} (pid ${pid}): ${r.stderr.trim()}`);
  }

  /**
   * Polls `crictl inspect` until the runtime reports the container exited (containerd has then
   * delivered NRI StopContainer, which it sends while it deletes the task, before it records the
   * exit); a container that is gone altogether counts as exited (exit code -1). Rejects after
   * `timeoutMs` with the last state.
   */
  async waitContainerExited(id: string, timeoutMs: number, pollMs = 250): Promise<RuntimeContainerView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await this.inspectContainer(id).catch((e: Error) =>
        /not found|NotFound/i.test(e.message)
          ? { state: "GONE", exitCode: -1, attempt: 0, pid: 0 }
          : Promise.reject(e),
      );
      if (v.state === "CONTAINER_EXITED" || v.state === "GONE") return v;
      if (Date.now() >= deadline)
        throw new Error(
          `failed to wait for container ${id} to exit within ${timeoutMs} ms: it is ${v.state}`,
        );
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }
}
