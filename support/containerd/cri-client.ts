import {
  credentials,
  Metadata,
  type CallOptions,
  type ClientUnaryCall,
  type ServiceError,
} from "@grpc/grpc-js";
import { pino, type Logger } from "pino";
import type { Container, PodSandbox } from "../cri/gen/cri/api.js";
import {
  ContainerConfig,
  ContainerState,
  ContainerStatusRequest,
  CreateContainerRequest,
  ExecSyncRequest,
  ListContainersRequest,
  ListPodSandboxRequest,
  NamespaceMode,
  PodSandboxConfig,
  PodSandboxStatusRequest,
  RemoveContainerRequest,
  RemovePodSandboxRequest,
  RunPodSandboxRequest,
  RuntimeServiceClient,
  StartContainerRequest,
  StopContainerRequest,
  StopPodSandboxRequest,
  VersionRequest,
  type VersionResponse,
} from "../cri/gen/cri/api.js";

/** Deadline of every CRI call unless `callTimeoutMs` says otherwise. */
export const DEFAULT_CRI_CALL_TIMEOUT_MS = 15_000;
/** Image of containers created without an explicit image (built by hardware/local-containerd). */
export const DEFAULT_CONTAINER_IMAGE = "localhost/busybox:1";
/** Command of containers created without an explicit command. */
export const DEFAULT_CONTAINER_COMMAND: readonly string[] = ["sleep", "3600"];
/** Poll interval of {@link CriClient.waitForContainerState}. */
export const CONTAINER_STATE_POLL_MS = 20;

/** What a test says about a pod; turned into a kubelet-like `PodSandboxConfig` by {@link podSandboxConfig}. */
export interface PodSpec {
  name: string;
  /** Kubernetes pod UID (any string; kubelet uses a UUID). */
  uid: string;
  /** Default "default". */
  namespace?: string;
  /** kubelet's cgroupfs form, e.g. `/kubepods/pod<uid>` or `/kubepods/burstable/pod<uid>`. Default: none (containerd then uses `/k8s.io/<id>`). */
  cgroupParent?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** What a test says about a container. */
export interface ContainerSpec {
  name: string;
  /** Default {@link DEFAULT_CONTAINER_IMAGE}. Must already be in containerd: the client never pulls. */
  image?: string;
  /** Default {@link DEFAULT_CONTAINER_COMMAND}. */
  command?: readonly string[];
  args?: readonly string[];
  labels?: Record<string, string>;
  /** Container annotations (containerd puts them in the OCI spec, and so in NRI's `Container.annotations`). */
  annotations?: Record<string, string>;
  /** `metadata.attempt`: 0 for a new container, previous + 1 when the kubelet restarts one of the same name. */
  attempt?: number;
  /** Host paths bind-mounted into the container. */
  mounts?: readonly { containerPath: string; hostPath: string; readonly?: boolean }[];
}

/** A container's state in CRI terms, lower-cased; `"unknown"` also for values this client does not know. */
export type CriContainerState = "created" | "running" | "exited" | "unknown";

/** What ContainerStatus says about a container (the parts tests use). */
export interface CriContainerStatus {
  id: string;
  /** `metadata.name`: the name the kubelet gave it (the same for every attempt). */
  name: string;
  /** `metadata.attempt`. */
  attempt: number;
  state: CriContainerState;
  /** The process's exit status once exited (128 + signal when a signal ended it), else 0. */
  exitCode: number;
  /** Why it exited as the runtime saw it ("Completed", "Error", "OOMKilled", …), "" while it runs. */
  reason: string;
}

/** CRI ContainerState → {@link CriContainerState}. Pure. */
export function criContainerState(s: ContainerState): CriContainerState {
  switch (s) {
    case ContainerState.CONTAINER_CREATED:
      return "created";
    case ContainerState.CONTAINER_RUNNING:
      return "running";
    case ContainerState.CONTAINER_EXITED:
      return "exited";
    default:
      return "unknown";
  }
}

/** Options of {@link CriClient}. */
export interface CriClientOptions {
  /** Path of containerd's gRPC socket (the CRI is served there). */
  socketPath: string;
  callTimeoutMs?: number;
  logger?: Logger;
}

/**
 * Builds the sandbox config kubelet would send for a host-network pod: metadata, cgroup parent,
 * `network = NODE` (no CNI needed), `pid = CONTAINER`. Pure; never throws.
 */
export function podSandboxConfig(pod: PodSpec): PodSandboxConfig {
  return PodSandboxConfig.fromPartial({
    metadata: { name: pod.name, uid: pod.uid, namespace: pod.namespace ?? "default", attempt: 0 },
    labels: pod.labels ?? {},
    annotations: pod.annotations ?? {},
    linux: {
      cgroupParent: pod.cgroupParent ?? "",
      securityContext: {
        namespaceOptions: {
          network: NamespaceMode.NODE,
          pid: NamespaceMode.CONTAINER,
          ipc: NamespaceMode.POD,
        },
      },
    },
  });
}

/**
 * A small typed promise wrapper over the CRI `runtime.v1.RuntimeService` of one containerd, for
 * tests. Every call carries a deadline; every failure rejects with
 * `failed to <verb> <object> <id>` and the gRPC error as `cause`. Owns one gRPC channel, which
 * {@link CriClient.close} releases (calls after close reject).
 */
export class CriClient {
  readonly socketPath: string;
  readonly #client: RuntimeServiceClient;
  readonly #timeoutMs: number;
  readonly #log: Logger;

  constructor(opts: CriClientOptions) {
    this.socketPath = opts.socketPath;
    this.#timeoutMs = opts.callTimeoutMs ?? DEFAULT_CRI_CALL_TIMEOUT_MS;
    this.#log = opts.logger ?? pino({ level: "silent" });
    this.#client = new RuntimeServiceClient(`unix://${opts.socketPath}`, credentials.createInsecure());
  }

  /** CRI Version: containerd answers runtimeName "containerd" and its version. */
  version(): Promise<VersionResponse> {
    return this.#call("get", "runtime version", "", this.#client.version, VersionRequest.fromPartial({}));
  }

  /** RunPodSandbox for a host-network pod; resolves to the sandbox id. */
  async runPod(pod: PodSpec): Promise<string> {
    const req = RunPodSandboxRequest.fromPartial({ config: podSandboxConfig(pod) });
    const res = await this.#call("run", "pod sandbox", pod.name, this.#client.runPodSandbox, req);
    return res.podSandboxId;
  }

  /**
   * CreateContainer in a running sandbox (also how an ephemeral `kubectl debug` container starts);
   * resolves to its id. A restart by the kubelet is a CreateContainer with the same name and
   * `attempt` + 1 (containerd refuses a second container with the same name and attempt).
   */
  async createContainer(sandboxId: string, pod: PodSpec, c: ContainerSpec): Promise<string> {
    const config = ContainerConfig.fromPartial({
      metadata: { name: c.name, attempt: c.attempt ?? 0 },
      image: { image: c.image ?? DEFAULT_CONTAINER_IMAGE },
      command: [...(c.command ?? DEFAULT_CONTAINER_COMMAND)],
      args: [...(c.args ?? [])],
      labels: c.labels ?? {},
      annotations: c.annotations ?? {},
      mounts: (c.mounts ?? []).map((m) => ({
        containerPath: m.containerPath,
        hostPath: m.hostPath,
        readonly: m.readonly ?? false,
      })),
      linux: {
        securityContext: { namespaceOptions: { network: NamespaceMode.NODE, pid: NamespaceMode.CONTAINER } },
      },
    });
    const req = CreateContainerRequest.fromPartial({
      podSandboxId: sandboxId,
      config,
      sandboxConfig: podSandboxConfig(pod),
    });
    const res = await this.#call("create", "container", c.name, this.#client.createContainer, req);
    return res.containerId;
  }

  async startContainer(id: string): Promise<void> {
    await this.#call(
      "start",
      "container",
      id,
      this.#client.startContainer,
      StartContainerRequest.fromPartial({ containerId: id }),
    );
  }

  /** StopContainer; `timeoutSeconds` 0 (default) kills at once, else SIGTERM then SIGKILL after it. */
  async stopContainer(id: string, timeoutSeconds = 0): Promise<void> {
    const req = StopContainerRequest.fromPartial({ containerId: id, timeout: timeoutSeconds });
    await this.#call("stop", "container", id, this.#client.stopContainer, req);
  }

  async removeContainer(id: string): Promise<void> {
    const req = RemoveContainerRequest.fromPartial({ containerId: id });
    await this.#call("remove", "container", id, this.#client.removeContainer, req);
  }

  async stopPod(sandboxId: string): Promise<void> {
    const req = StopPodSandboxRequest.fromPartial({ podSandboxId: sandboxId });
    await this.#call("stop", "pod sandbox", sandboxId, this.#client.stopPodSandbox, req);
  }

  async removePod(sandboxId: string): Promise<void> {
    const req = RemovePodSandboxRequest.fromPartial({ podSandboxId: sandboxId });
    await this.#call("remove", "pod sandbox", sandboxId, this.#client.removePodSandbox, req);
  }

  /** ContainerStatus: name, attempt, state and exit code of one container. Rejects for an unknown id. */
  async containerStatus(id: string): Promise<CriContainerStatus> {
    const req = ContainerStatusRequest.fromPartial({ containerId: id, verbose: false });
    const res = await this.#call("get", "status of container", id, this.#client.containerStatus, req);
    const s = res.status;
    if (!s) throw new Error(`failed to get status of container ${id}: the runtime sent no status`);
    return {
      id: s.id || id,
      name: s.metadata?.name ?? "",
      attempt: s.metadata?.attempt ?? 0,
      state: criContainerState(s.state),
      exitCode: s.exitCode,
      reason: s.reason,
    };
  }

  /**
   * Polls ContainerStatus until the container is in `state` (e.g. "exited" once its process ended
   * and containerd processed the exit: by then containerd 1.7/2.x has delivered NRI StopContainer,
   * which it sends while deleting the task, before it records the exit). Resolves with that status;
   * rejects after `timeoutMs` with the last state seen, or with the CRI error.
   */
  async waitForContainerState(
    id: string,
    state: CriContainerState,
    timeoutMs: number,
  ): Promise<CriContainerStatus> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.containerStatus(id);
      if (s.state === state) return s;
      if (Date.now() >= deadline)
        throw new Error(
          `failed to wait for container ${id} to be ${state}: still ${s.state} after ${timeoutMs} ms`,
        );
      await new Promise((r) => setTimeout(r, CONTAINER_STATE_POLL_MS));
    }
  }

  /** The container's init PID on the host (ContainerStatus verbose → info JSON `pid`); rejects if absent or 0. */
  async containerPid(id: string): Promise<number> {
    const req = ContainerStatusRequest.fromPartial({ containerId: id, verbose: true });
    const res = await this.#call("get", "status of container", id, this.#client.containerStatus, req);
    return pidFromInfo(res.info["info"], `container ${id}`);
  }

  /**
   * ExecSync: runs `cmd` in the container and waits for it (at most `timeoutSeconds`, 0 = no limit;
   * the call deadline still applies). Resolves with its output and exit code, also when non-zero.
   */
  async execSync(
    id: string,
    cmd: readonly string[],
    timeoutSeconds = 0,
  ): Promise<{ stdout: string; stderr: string; exitCode: number }> {
    const req = ExecSyncRequest.fromPartial({ containerId: id, cmd: [...cmd], timeout: timeoutSeconds });
    const res = await this.#call("exec in", "container", id, this.#client.execSync, req);
    return {
      stdout: res.stdout.toString("utf8"),
      stderr: res.stderr.toString("utf8"),
      exitCode: res.exitCode,
    };
  }

  /** The sandbox (pause) PID on the host (PodSandboxStatus verbose → info JSON `pid`). */
  async podPid(sandboxId: string): Promise<number> {
    const req = PodSandboxStatusRequest.fromPartial({ podSandboxId: sandboxId, verbose: true });
    const res = await this.#call(
      "get",
      "status of pod sandbox",
      sandboxId,
      this.#client.podSandboxStatus,
      req,
    );
    return pidFromInfo(res.info["info"], `pod sandbox ${sandboxId}`);
  }

  async listPods(): Promise<PodSandbox[]> {
    const res = await this.#call(
      "list",
      "pod sandboxes",
      "",
      this.#client.listPodSandbox,
      ListPodSandboxRequest.fromPartial({}),
    );
    return res.items;
  }

  /** ListContainers, optionally only those of one sandbox. */
  async listContainers(filter: { podSandboxId?: string } = {}): Promise<Container[]> {
    const req = ListContainersRequest.fromPartial({ filter: { podSandboxId: filter.podSandboxId ?? "" } });
    const res = await this.#call(
      "list",
      "containers",
      filter.podSandboxId ?? "",
      this.#client.listContainers,
      req,
    );
    return res.containers;
  }

  /** Closes the channel. Idempotent; never throws. */
  close(): void {
    this.#client.close();
  }

  #call<Req, Res>(
    verb: string,
    object: string,
    id: string,
    method: (
      req: Req,
      md: Metadata,
      opts: Partial<CallOptions>,
      cb: (err: ServiceError | null, res: Res) => void,
    ) => ClientUnaryCall,
    req: Req,
  ): Promise<Res> {
    const what = `${verb} ${object}${id ? ` ${id}` : ""}`;
    this.#log.debug({ req }, `CRI: ${what}`);
    return new Promise<Res>((resolve, reject) => {
      method.call(
        this.#client,
        req,
        new Metadata(),
        { deadline: Date.now() + this.#timeoutMs },
        (err, res) => {
          if (err) reject(new Error(`failed to ${what}: ${err.details || err.message}`, { cause: err }));
          else resolve(res);
        },
      );
    });
  }
}

function pidFromInfo(info: string | undefined, what: string): number {
  let pid: unknown;
  try {
    pid = (JSON.parse(info ?? "null") as { pid?: unknown } | null)?.pid;
  } catch (cause) {
    throw new Error(`failed to parse verbose info of ${what}`, { cause });
  }
  if (typeof pid !== "number" || !Number.isInteger(pid) || pid <= 0) {
    throw new Error(`failed to find a pid in the verbose info of ${what} (got ${String(pid)})`);
  }
  return pid;
}
