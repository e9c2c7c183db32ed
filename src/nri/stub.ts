import { EventEmitter } from "node:events";
import type net from "node:net";
import { pino, type Logger } from "pino";
import { Empty, RegisterPluginRequest } from "./gen/nri/api.js";
import { Backoff, formatDelay, type BackoffOptions } from "./backoff.js";
import { PLUGIN_SERVICE_CONN, RUNTIME_SERVICE, RUNTIME_SERVICE_CONN } from "./constants.js";
import type { PluginHandler } from "./handler.js";
import { deriveEventMask } from "./stub-mask.js";
import { nriSocketPath, openNriSocket, RuntimeUnavailableError, runtimeAbsentCode } from "./stub-socket.js";
import { registerPluginService } from "./stub-service.js";
import { openTrunk, type Trunk } from "./trunk.js";
import type { NriConfigureRequest, NriContainer, NriPod } from "./types.js";

/** Default time allowed for the RegisterPlugin call (the runtime's own registration timeout). */
export const DEFAULT_REGISTRATION_TIMEOUT_MS = 5000;

/** Options of {@link NriStub}. */
export interface StubOptions {
  /** Plugin name; non-empty, `[A-Za-z0-9_.+-]` (what newer runtimes accept). */
  name: string;
  /** Plugin index: exactly two digits, "00".."99". */
  idx: string;
  /** Runtime socket. Default DEFAULT_NRI_SOCKET, or the fd in NRI_PLUGIN_SOCKET when that is set. */
  socketPath?: string;
  /** A pre-connected trunk socket (used once; reconnecting needs a socket path). */
  socket?: net.Socket;
  logger?: Logger;
  registrationTimeoutMs?: number;
  /**
   * Retry with backoff: while nothing listens on the runtime's socket yet, and after the trunk
   * closes (default false: one connect attempt, then stay closed). With `keepAlive: true` a pending
   * retry holds the process open (what a daemon wants); by default it does not.
   */
  reconnect?: false | BackoffOptions;
  /** Environment seam (default process.env): only NRI_PLUGIN_SOCKET is read. */
  env?: Record<string, string | undefined>;
  /** Called after every request the runtime sent, with its method and duration in seconds (metrics). */
  onRequest?: (method: string, seconds: number) => void;
}

/** Payload of the stub's "waiting" event: the runtime is not listening yet, a retry is scheduled. */
export interface WaitingInfo {
  /** The socket path dialled. */
  socket: string;
  /** 1-based attempt number of the scheduled retry. */
  attempt: number;
  delayMs: number;
  /** The connect error code, one of RUNTIME_ABSENT_CODES (ENOENT, ECONNREFUSED). */
  code: string;
}

/** Lifecycle state of the stub. */
export type StubState = "idle" | "connecting" | "registered" | "synchronized" | "closed";

/**
 * An NRI plugin stub in the spirit of containerd/nri pkg/stub: connects to the runtime, serves the
 * Plugin service on mux conn 1 (before registering), registers on conn 2, then dispatches Configure,
 * Synchronize and events to the handler.
 *
 * Events: "registered"; "configured" (req, mask); "synchronized" ({pods, containers}: the NriPod[] and
 * NriContainer[] given to the handler); "closed" (reason?: Error) once per connection;
 * "reconnecting" ({attempt, delayMs}) for each retry scheduled when reconnect is enabled; "waiting"
 * ({@link WaitingInfo}) in addition when that retry is because nothing listens on the socket yet;
 * "error" for unexpected failures (only emitted when someone listens; always logged).
 *
 * Failure behaviour: with `reconnect`, a connect that finds no runtime (ENOENT, ECONNREFUSED: the
 * plugin started before the runtime, or the runtime restarts) is expected: one info line per
 * attempt, `waiting for the runtime at <socket>, next attempt in <delay>`, with {socket, attempt,
 * delayMs, code} and no error; other failures log `nri stub: failure` at error level with the
 * error. A trunk EOF/error closes the connection (pending calls fail); with `reconnect` the stub
 * reconnects with backoff, registers again and is reconfigured/resynchronized. Without `reconnect`
 * a failed first connect rejects `start()` (a {@link RuntimeUnavailableError} when no runtime
 * listens, not logged by the stub). Never throws from socket callbacks.
 */
export class NriStub extends EventEmitter {
  /** Mask derived from the handler's event methods (Configure may override it per connection). */
  readonly eventMask: number;
  private readonly log: Logger;
  private readonly backoff: Backoff | undefined;
  private trunk: Trunk | undefined;
  private phase: "idle" | "connecting" | "open" | "closed" = "idle";
  private registered = false;
  private synchronized = false;
  private stopped = false;
  private socketUsed = false;

  constructor(
    private readonly handler: PluginHandler,
    private readonly opts: StubOptions,
  ) {
    super();
    if (typeof opts.name !== "string" || opts.name === "" || !/^[A-Za-z0-9_.+-]+$/.test(opts.name)) {
      throw new Error(
        `failed to create nri stub: invalid plugin name "${String(opts.name)}" (want [A-Za-z0-9_.+-]+)`,
      );
    }
    if (typeof opts.idx !== "string" || !/^[0-9]{2}$/.test(opts.idx)) {
      throw new Error(
        `failed to create nri stub ${opts.name}: invalid plugin index "${String(opts.idx)}" (want "00".."99")`,
      );
    }
    this.eventMask = deriveEventMask(handler);
    if (this.eventMask === 0) {
      throw new Error(`failed to create nri stub ${opts.name}: the handler implements no event method`);
    }
    this.log = (opts.logger ?? pino({ level: "silent" })).child({ plugin: `${opts.idx}-${opts.name}` });
    this.backoff = opts.reconnect ? new Backoff(opts.reconnect) : undefined;
  }

  /** Current lifecycle state. */
  get state(): StubState {
    if (this.phase === "open" || this.phase === "connecting") {
      if (this.synchronized) return "synchronized";
      if (this.registered) return "registered";
      return "connecting";
    }
    return this.phase;
  }

  /**
   * Connects and registers. Resolves once registered. Without reconnect it rejects on the first
   * failure (state "closed"); with reconnect it keeps retrying until registered, and rejects only if
   * `stop()` is called first. May be called once.
   */
  start(): Promise<void> {
    if (this.phase !== "idle")
      return Promise.reject(new Error(`failed to start nri stub ${this.id}: already started`));
    this.phase = "connecting";
    if (!this.backoff) return this.attempt();
    return new Promise<void>((resolve, reject) => {
      const onReg = (): void => {
        this.off("stopped", onStop);
        resolve();
      };
      const onStop = (): void => {
        this.off("registered", onReg);
        reject(new Error(`failed to start nri stub ${this.id}: stopped before registration`));
      };
      this.once("registered", onReg);
      this.once("stopped", onStop);
      this.attempt().catch(() => undefined);
    });
  }

  /** Closes the connection and stops reconnecting. Resolves when the socket is closed. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.backoff?.stop();
    const t = this.trunk;
    if (t) {
      t.mux.close();
      await t.mux.closedPromise();
    }
    this.phase = "closed";
    this.emit("stopped");
  }

  /**
   * Resolves once the runtime's (final) Synchronize was handled on the current connection. Rejects
   * after `timeoutMs` (if given), or when the stub ends up closed without reconnecting.
   */
  waitSynchronized(timeoutMs?: number): Promise<void> {
    if (this.state === "synchronized") return Promise.resolve();
    if (this.phase === "closed")
      return Promise.reject(new Error(`failed to synchronize nri stub ${this.id}: closed`));
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const cleanup = (): void => {
        if (timer) clearTimeout(timer);
        this.off("synchronized", onSync);
        this.off("closed", onClosed);
        this.off("stopped", onClosed);
      };
      const onSync = (): void => {
        cleanup();
        resolve();
      };
      const onClosed = (): void => {
        if (this.phase !== "closed") return;
        cleanup();
        reject(new Error(`failed to synchronize nri stub ${this.id}: closed`));
      };
      this.on("synchronized", onSync);
      this.on("closed", onClosed);
      this.on("stopped", onClosed);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          cleanup();
          reject(new Error(`failed to synchronize nri stub ${this.id}: timed out after ${timeoutMs} ms`));
        }, timeoutMs); // deliberately ref'd: the caller is waiting for this outcome
      }
    });
  }

  private get id(): string {
    return `${this.opts.idx}-${this.opts.name}`;
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    this.phase = "connecting";
    let socket: net.Socket;
    try {
      socket = await this.openSocket();
    } catch (err) {
      const code = runtimeAbsentCode(err);
      if (code === undefined) {
        const e = new Error(`failed to connect nri stub ${this.id}`, { cause: err });
        this.fail(e);
        this.scheduleReconnect();
        throw e;
      }
      // Expected while the runtime is not up (yet): no error, no stack; wait and retry.
      const socket = nriSocketPath(this.opts);
      this.scheduleReconnect({ socket, code });
      throw new RuntimeUnavailableError(
        socket,
        code,
        `failed to connect nri stub ${this.id}: no runtime listening at ${socket} (${code})`,
        { cause: err },
      );
    }
    if (this.stopped) {
      socket.destroy();
      throw new Error(`failed to start nri stub ${this.id}: stopped while connecting`);
    }
    const trunk = openTrunk(socket, {
      serveConn: PLUGIN_SERVICE_CONN,
      callConn: RUNTIME_SERVICE_CONN,
      logger: this.log,
    });
    this.trunk = trunk;
    this.registered = false;
    this.synchronized = false;
    registerPluginService(trunk.server, {
      handler: this.handler,
      derivedMask: this.eventMask,
      log: this.log,
      ...(this.opts.onRequest ? { onRequest: this.opts.onRequest } : {}),
      onConfigured: (req: NriConfigureRequest, mask: number) => {
        this.log.info(
          { runtime: req.runtimeName, version: req.runtimeVersion, mask },
          "nri stub: configured",
        );
        this.emit("configured", req, mask);
      },
      onSynchronized: (pods: NriPod[], containers: NriContainer[]) => {
        if (this.trunk !== trunk) return;
        this.synchronized = true;
        this.log.info({ pods: pods.length, containers: containers.length }, "nri stub: synchronized");
        this.emit("synchronized", { pods, containers });
      },
    });
    this.phase = "open";
    void trunk.mux.closedPromise().then(() => this.onTrunkClosed(trunk));
    try {
      const req = RegisterPluginRequest.encode({
        pluginName: this.opts.name,
        pluginIdx: this.opts.idx,
        NRIVersion: "",
      });
      const out = await trunk.client.call(RUNTIME_SERVICE, "RegisterPlugin", req.finish(), {
        timeoutMs: this.opts.registrationTimeoutMs ?? DEFAULT_REGISTRATION_TIMEOUT_MS,
      });
      Empty.decode(out);
    } catch (err) {
      const e = new Error(`failed to register plugin ${this.id}`, { cause: err });
      this.fail(e);
      trunk.mux.close(e);
      throw e;
    }
    if (this.trunk !== trunk || trunk.mux.isClosed)
      throw new Error(`failed to register plugin ${this.id}: closed`);
    this.registered = true;
    this.backoff?.reset();
    this.log.info("nri stub: registered");
    this.emit("registered");
  }

  private openSocket(): Promise<net.Socket> {
    const first = !this.socketUsed;
    this.socketUsed = true;
    return openNriSocket(
      { socket: this.opts.socket, socketPath: this.opts.socketPath, env: this.opts.env ?? process.env },
      first,
    );
  }

  private onTrunkClosed(trunk: Trunk): void {
    if (this.trunk !== trunk) return;
    this.trunk = undefined;
    this.registered = false;
    this.synchronized = false;
    const reason = trunk.mux.closeReason;
    this.log.warn({ err: reason }, "nri stub: connection closed");
    this.phase = this.stopped || !this.backoff ? "closed" : "connecting";
    this.emit("closed", reason);
    this.scheduleReconnect();
  }

  /** Schedules the next attempt (with reconnect); `absent` when nothing listened on the socket. */
  private scheduleReconnect(absent?: { socket: string; code: string }): void {
    if (!this.backoff || this.stopped) {
      this.phase = "closed";
      return;
    }
    this.phase = "connecting";
    const info = this.backoff.schedule(() => void this.attempt().catch(() => undefined));
    if (absent) {
      const waiting: WaitingInfo = { socket: absent.socket, ...info, code: absent.code };
      this.log.info(
        waiting,
        `waiting for the runtime at ${absent.socket}, next attempt in ${formatDelay(info.delayMs)}`,
      );
      this.emit("waiting", waiting);
    } else this.log.info(info, "nri stub: reconnecting");
    this.emit("reconnecting", info);
  }

  private fail(err: Error): void {
    this.log.error({ err }, "nri stub: failure");
    if (this.listenerCount("error") > 0) this.emit("error", err);
  }
}
