import { EventEmitter } from "node:events";
import { mkdirSync, rmSync } from "node:fs";
import net from "node:net";
import { dirname } from "node:path";
import { pino, type Logger } from "pino";
import {
  CreateContainerRequest,
  StateChangeEvent,
  StopContainerRequest,
  UpdateContainerRequest,
} from "../../src/nri/gen/nri/api.js";
import { fromNriContainer, fromNriPod } from "../../src/nri/convert.js";
import {
  NriContainerState,
  NriEvent,
  eventBit,
  type NriContainer,
  type NriPod,
} from "../../src/nri/types.js";
import { PluginSession, type FakePluginInfo } from "./fake-runtime-session.js";
import { nriGeneration, type NriGeneration, type NriGenerationProfile } from "./nri-generations.js";
import { Code, TtrpcError } from "../../src/nri/errors.js";

export type { FakePluginInfo } from "./fake-runtime-session.js";

/** Default per-request timeout (containerd's plugin_request_timeout). */
export const DEFAULT_FAKE_REQUEST_TIMEOUT_MS = 2000;
/** Default registration timeout (containerd's plugin_registration_timeout). */
export const DEFAULT_FAKE_REGISTRATION_TIMEOUT_MS = 5000;

/**
 * One request the fake runtime sent (or would have sent) to a plugin subscribed to every event, in
 * order: what the conformance test compares with the traces recorded from real containerd.
 */
export interface SentRecord {
  /** Plugin-service method: "StateChange", "CreateContainer", "StopContainer", "Synchronize", … */
  method: string;
  /** Event name ("START_CONTAINER"), or undefined for Synchronize. */
  event?: string;
  podId: string;
  containerId?: string;
  /** For Synchronize: the pods and containers (with their states) it listed. */
  sync?: { podIds: string[]; containers: Array<{ id: string; state: number }> };
  /** Container state the request carried. */
  state?: number;
  /** The container's pid in the request was > 0. */
  pid?: boolean;
  /** Whether the current plugin was subscribed (and so actually received it). */
  delivered: boolean;
}

/** Options of {@link FakeRuntime.listen}. */
export interface FakeRuntimeOptions {
  socketPath: string;
  requestTimeoutMs?: number;
  registrationTimeoutMs?: number;
  logger?: Logger;
  /** Forces Synchronize into chunks of this many objects with more=true (a scripted runtime). */
  syncChunkSize?: number;
  /** The NRI generation spoken (default v0.6, containerd 1.7.24's). */
  nri?: NriGeneration;
  /** Default: the generation's runtime version. */
  runtimeVersion?: string;
  /**
   * List exited (STOPPED) and UNKNOWN containers in Synchronize. Default false: containerd's NRI
   * `ListContainers` skips them (1.7.24 and 2.1.9), so a plugin never learns of an exited
   * container from a Synchronize. True models a runtime that lists them.
   */
  listExitedContainers?: boolean;
}

/**
 * The runtime side of NRI (what containerd does), listening on a unix socket, for the mock world and
 * plugin tests. It reuses the real mux/ttrpc code and is strict where containerd 1.7 is strict (see
 * PluginSession). One plugin is active at a time: a new connection replaces (closes) the previous one,
 * so reconnecting plugins are registered, configured and synchronized again with the current state.
 *
 * The runtime state (pods, containers) is sent in Synchronize. Besides `addPod` & co., the event
 * methods keep it up to date like containerd would: runPodSandbox/createContainer add,
 * start/stop/update replace, removePodSandbox/removeContainer delete.
 *
 * Event methods resolve `true` when the plugin replied, `false` when no ready plugin is subscribed
 * to the event, and reject on an error status, a timeout (fatal: the plugin is closed) or a closed
 * connection. Emits "plugin-ready" (info) and "plugin-closed" (info, reason).
 */
export class FakeRuntime extends EventEmitter {
  private readonly podState = new Map<string, NriPod>();
  private readonly ctrState = new Map<string, NriContainer>();
  private current: PluginSession | undefined;
  private latest: PluginSession | undefined;
  private readonly sessions = new Set<PluginSession>();
  /** Every event request made while a plugin was ready, delivered or filtered out by its mask. */
  readonly journal: SentRecord[] = [];

  private constructor(
    private readonly server: net.Server,
    private readonly opts: Required<
      Omit<FakeRuntimeOptions, "syncChunkSize" | "nri" | "listExitedContainers">
    > & {
      listExitedContainers: boolean;
      syncChunkSize?: number;
      nri: NriGenerationProfile;
    },
  ) {
    super();
    server.on("connection", (s) => this.onConnection(s));
  }

  /** Removes a stale socket file, creates the parent directory (0700) and listens. */
  static async listen(opts: FakeRuntimeOptions): Promise<FakeRuntime> {
    mkdirSync(dirname(opts.socketPath), { recursive: true, mode: 0o700 });
    rmSync(opts.socketPath, { force: true });
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.socketPath, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const nri = nriGeneration(opts.nri ?? "v0.6");
    return new FakeRuntime(server, {
      socketPath: opts.socketPath,
      requestTimeoutMs: opts.requestTimeoutMs ?? DEFAULT_FAKE_REQUEST_TIMEOUT_MS,
      registrationTimeoutMs: opts.registrationTimeoutMs ?? DEFAULT_FAKE_REGISTRATION_TIMEOUT_MS,
      logger: opts.logger ?? pino({ level: "silent" }),
      runtimeVersion: opts.runtimeVersion ?? nri.runtimeVersion,
      nri,
      listExitedContainers: opts.listExitedContainers ?? false,
      ...(opts.syncChunkSize !== undefined ? { syncChunkSize: opts.syncChunkSize } : {}),
    });
  }

  addPod(pod: NriPod): void {
    this.podState.set(pod.id, pod);
  }
  addContainer(c: NriContainer): void {
    this.ctrState.set(c.id, c);
  }
  removePodState(id: string): void {
    this.podState.delete(id);
  }
  removeContainerState(id: string): void {
    this.ctrState.delete(id);
  }
  pods(): NriPod[] {
    return [...this.podState.values()];
  }
  containers(): NriContainer[] {
    return [...this.ctrState.values()];
  }
  /** The containers a Synchronize lists (see {@link FakeRuntimeOptions.listExitedContainers}). */
  syncedContainers(): NriContainer[] {
    if (this.opts.listExitedContainers) return this.containers();
    return this.containers().filter(
      (c) => c.state !== NriContainerState.STOPPED && c.state !== NriContainerState.UNKNOWN,
    );
  }

  /** The most recently registered plugin (kept after it closes, with `closedReason`), or undefined. */
  get plugin(): FakePluginInfo | undefined {
    return this.latest?.info;
  }

  /** Resolves once a plugin has registered, been configured and synchronized. */
  waitForPlugin(timeoutMs = 5000): Promise<void> {
    if (this.current?.ready) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off("plugin-ready", onReady);
        reject(new Error(`failed to wait for plugin: none ready within ${timeoutMs} ms`));
      }, timeoutMs);
      // ref'd on purpose: the caller is waiting for this outcome
      const onReady = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.once("plugin-ready", onReady);
    });
  }

  runPodSandbox(pod: NriPod): Promise<boolean> {
    this.addPod(pod);
    return this.stateChange(NriEvent.RUN_POD_SANDBOX, pod);
  }
  stopPodSandbox(pod: NriPod): Promise<boolean> {
    return this.stateChange(NriEvent.STOP_POD_SANDBOX, pod);
  }
  removePodSandbox(pod: NriPod): Promise<boolean> {
    this.removePodState(pod.id);
    return this.stateChange(NriEvent.REMOVE_POD_SANDBOX, pod);
  }
  createContainer(pod: NriPod, c: NriContainer): Promise<boolean> {
    this.addContainer(c);
    return this.rpc(NriEvent.CREATE_CONTAINER, "CreateContainer", pod, c, () =>
      CreateContainerRequest.encode({ pod: fromNriPod(pod), container: fromNriContainer(c) }).finish(),
    );
  }
  postCreateContainer(pod: NriPod, c: NriContainer): Promise<boolean> {
    return this.stateChange(NriEvent.POST_CREATE_CONTAINER, pod, c);
  }
  startContainer(pod: NriPod, c: NriContainer): Promise<boolean> {
    this.addContainer(c);
    return this.stateChange(NriEvent.START_CONTAINER, pod, c);
  }
  postStartContainer(pod: NriPod, c: NriContainer): Promise<boolean> {
    return this.stateChange(NriEvent.POST_START_CONTAINER, pod, c);
  }
  updateContainer(pod: NriPod, c: NriContainer): Promise<boolean> {
    this.addContainer(c);
    return this.rpc(NriEvent.UPDATE_CONTAINER, "UpdateContainer", pod, c, () =>
      UpdateContainerRequest.encode({ pod: fromNriPod(pod), container: fromNriContainer(c) }).finish(),
    );
  }
  stopContainer(pod: NriPod, c: NriContainer): Promise<boolean> {
    this.addContainer(c);
    return this.rpc(NriEvent.STOP_CONTAINER, "StopContainer", pod, c, () =>
      StopContainerRequest.encode({ pod: fromNriPod(pod), container: fromNriContainer(c) }).finish(),
    );
  }
  removeContainer(pod: NriPod, c: NriContainer): Promise<boolean> {
    this.removeContainerState(c.id);
    return this.stateChange(NriEvent.REMOVE_CONTAINER, pod, c);
  }

  /** The NRI generation this runtime speaks. */
  get nri(): NriGenerationProfile {
    return this.opts.nri;
  }

  /**
   * Sends a raw StateChange (any event value, even unknown ones) if the plugin is ready; the mask is
   * checked only for known events (1..11). On v0.12+ an event with a dedicated RPC goes there first.
   */
  sendStateChange(event: number, pod: NriPod, c?: NriContainer): Promise<boolean> {
    return this.rpc(event, "StateChange", pod, c, () =>
      StateChangeEvent.encode({
        event,
        pod: fromNriPod(pod),
        container: c ? fromNriContainer(c) : undefined,
      }).finish(),
    );
  }

  /** Closes the current (or registering) plugin's connection: the plugin sees EOF. */
  dropPlugin(): void {
    (this.current ?? this.latest)?.close("dropped by test");
  }

  /** Closes the listener and every connection, removes the socket file. */
  async close(): Promise<void> {
    for (const s of this.sessions) s.close("runtime shutting down");
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await Promise.all([...this.sessions].map((s) => s.trunk.mux.closedPromise()));
    rmSync(this.opts.socketPath, { force: true });
  }

  private stateChange(event: NriEvent, pod: NriPod, c?: NriContainer): Promise<boolean> {
    return this.sendStateChange(event, pod, c);
  }

  private async rpc(
    event: number,
    method: string,
    pod: NriPod,
    c: NriContainer | undefined,
    encode: () => Uint8Array,
  ): Promise<boolean> {
    const s = this.current;
    if (!s?.ready || !s.info) return false;
    const subscribed = !(event >= 1 && event <= 14 && (s.info.mask & eventBit(event as NriEvent)) === 0);
    const record: SentRecord = {
      method,
      event: NriEvent[event] ?? String(event),
      podId: pod.id,
      ...(c ? { containerId: c.id, state: c.state, pid: c.pid > 0 } : {}),
      delivered: subscribed,
    };
    this.journal.push(record);
    if (!subscribed) return false;
    const dedicated =
      method === "StateChange" ? this.opts.nri.dedicatedRpcs.get(event as NriEvent) : undefined;
    if (dedicated && !s.info.stateChangeFallback) {
      // v0.12+: the per-event RPC first ({pod = 1, container = 2}, the layout StopContainerRequest
      // has too); UNIMPLEMENTED switches this plugin to StateChange for good (nri pkg/adaptation).
      try {
        await s.call(
          dedicated,
          StopContainerRequest.encode({
            pod: fromNriPod(pod),
            container: c ? fromNriContainer(c) : undefined,
          }).finish(),
        );
        record.method = dedicated;
        return true;
      } catch (err) {
        if (!(err instanceof TtrpcError && err.code === Code.UNIMPLEMENTED)) throw err;
        s.info.stateChangeFallback = true;
      }
    }
    await s.call(method, encode());
    return true;
  }

  private onConnection(socket: net.Socket): void {
    const session = new PluginSession(socket, {
      requestTimeoutMs: this.opts.requestTimeoutMs,
      registrationTimeoutMs: this.opts.registrationTimeoutMs,
      syncChunkSize: this.opts.syncChunkSize,
      runtimeVersion: this.opts.runtimeVersion,
      nri: this.opts.nri,
      logger: this.opts.logger,
      snapshot: () => ({
        pods: this.pods().map(fromNriPod),
        containers: this.syncedContainers().map(fromNriContainer),
      }),
    });
    this.sessions.add(session);
    session.on("registered", () => {
      this.latest = session;
    });
    session.on("ready", () => {
      // What the session really sent, all chunks of it (not the state read again now).
      const sent = session.info?.syncRequests ?? [];
      this.journal.push({
        method: "Synchronize",
        podId: "",
        sync: {
          podIds: sent.flatMap((r) => r.pods.map((p) => p.id)),
          containers: sent.flatMap((r) => r.containers.map((c) => ({ id: c.id, state: c.state }))),
        },
        delivered: true,
      });
      const prev = this.current;
      this.current = session;
      if (prev && prev !== session) prev.close("replaced by a newer plugin connection");
      this.emit("plugin-ready", session.info);
    });
    session.on("closed", (reason: string) => {
      this.sessions.delete(session);
      if (session.info) this.emit("plugin-closed", session.info, reason);
      if (this.current === session) this.current = undefined;
    });
  }
}
