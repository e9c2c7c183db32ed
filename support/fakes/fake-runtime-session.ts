import type net from "node:net";
import { EventEmitter } from "node:events";
import type { Logger } from "pino";
import {
  ConfigureRequest,
  ConfigureResponse,
  Empty,
  RegisterPluginRequest,
  SynchronizeRequest,
  SynchronizeResponse,
  UpdateContainersRequest,
  UpdateContainersResponse,
  type Container,
  type PodSandbox,
} from "../../src/nri/gen/nri/api.js";
import {
  GO_BUFIO_SIZE,
  PLUGIN_SERVICE,
  PLUGIN_SERVICE_CONN,
  RUNTIME_SERVICE,
  RUNTIME_SERVICE_CONN,
} from "../../src/nri/constants.js";
import { Code, ProtocolError, TtrpcError } from "../../src/nri/errors.js";
import type { MessageReader } from "../../src/nri/ttrpc.js";
import { openTrunk, type Trunk } from "../../src/nri/trunk.js";
import { VALID_EVENTS_MASK } from "../../src/nri/types.js";

/** What the fake runtime knows about a connected plugin. */
export interface FakePluginInfo {
  name: string;
  idx: string;
  /** Effective mask (0 from the plugin means all of 0x7FF, like containerd). */
  mask: number;
  configureRequests: ConfigureRequest[];
  syncRequests: SynchronizeRequest[];
  syncReplies: SynchronizeResponse[];
  updateRequests: UpdateContainersRequest[];
  closedReason?: string;
}

/** Settings shared by all sessions of a FakeRuntime. */
export interface SessionSettings {
  requestTimeoutMs: number;
  registrationTimeoutMs: number;
  syncChunkSize: number | undefined;
  runtimeVersion: string;
  logger: Logger;
  /** Current runtime state, read when Synchronize is sent. */
  snapshot(): { pods: PodSandbox[]; containers: Container[] };
}

/**
 * The runtime side of one plugin connection, as strict as containerd 1.7 / NRI v0.6.1 where that
 * matters: registration timeout, name/index validation, Go ttrpc stream-id rules (by TtrpcServer),
 * mask validation, fatal request timeouts, the Go reader's 4096-byte framing limit and split-sync
 * echo rules. Emits "ready" after register → configure → synchronize, and "closed" (reason) once.
 */
export class PluginSession extends EventEmitter {
  readonly trunk: Trunk;
  info: FakePluginInfo | undefined;
  ready = false;
  private closedReason: string | undefined;
  private readonly regTimer: NodeJS.Timeout;

  constructor(
    socket: net.Socket,
    private readonly s: SessionSettings,
  ) {
    super();
    this.trunk = openTrunk(socket, {
      serveConn: RUNTIME_SERVICE_CONN,
      callConn: PLUGIN_SERVICE_CONN,
      logger: s.logger,
      callTimeoutMs: s.requestTimeoutMs,
    });
    const { mux, server, client } = this.trunk;
    // Emulate Go's bufio(4096) over mux conn.Read: ENOMEM → the runtime closes the plugin.
    const framed = (sink: typeof server | typeof client, reader: MessageReader) => ({
      data: (c: Buffer) => sink.data(c),
      close: (e?: Error) => sink.close(e),
      frame: (len: number) => {
        if (len > GO_BUFIO_SIZE && len > reader.payloadRemaining) {
          throw new ProtocolError(
            `failed to read frame of ${len} bytes: cannot allocate memory (ENOMEM emulation)`,
          );
        }
      },
    });
    mux.attach(RUNTIME_SERVICE_CONN, framed(server, server.messageReader));
    mux.attach(PLUGIN_SERVICE_CONN, framed(client, client.messageReader));
    server.register(RUNTIME_SERVICE, "RegisterPlugin", (p) => this.onRegister(p));
    server.register(RUNTIME_SERVICE, "UpdateContainers", (p) => {
      const req = UpdateContainersRequest.decode(p);
      this.info?.updateRequests.push(req);
      return UpdateContainersResponse.encode({ failed: [] }).finish();
    });
    this.regTimer = setTimeout(() => this.close("plugin registration timed out"), s.registrationTimeoutMs);
    this.regTimer.unref();
    void mux.closedPromise().then(() => this.finish(mux.closeReason?.message ?? "connection closed"));
  }

  /** Calls a Plugin method; timeouts and connection loss are fatal (plugin closed), like containerd. */
  async call(method: string, payload: Uint8Array): Promise<Buffer> {
    try {
      return await this.trunk.client.call(PLUGIN_SERVICE, method, payload);
    } catch (err) {
      const fatal =
        err instanceof TtrpcError && (err.code === Code.DEADLINE_EXCEEDED || err.code === Code.UNAVAILABLE);
      // When the trunk is already closed, keep its reason (e.g. the framing error) as closedReason.
      if (fatal && !this.trunk.mux.isClosed) this.close(`failed to handle ${method}: ${err.message}`);
      throw err;
    }
  }

  /** Closes the plugin connection (idempotent). */
  close(reason: string): void {
    if (this.closedReason === undefined) this.closedReason = reason;
    this.s.logger.warn({ plugin: this.info?.name, reason }, "fake runtime: closing plugin");
    this.trunk.mux.close(new ProtocolError(reason));
  }

  private finish(reason: string): void {
    clearTimeout(this.regTimer);
    const r = this.closedReason ?? reason;
    this.closedReason = r;
    if (this.info) this.info.closedReason = r;
    this.ready = false;
    this.emit("closed", r);
  }

  private onRegister(payload: Buffer): Uint8Array {
    const req = RegisterPluginRequest.decode(payload);
    if (this.info) throw new TtrpcError(Code.UNKNOWN, `plugin "${this.info.name}" already registered`);
    if (req.pluginName === "") throw new TtrpcError(Code.UNKNOWN, "invalid (empty) plugin name");
    if (!/^[0-9]{2}$/.test(req.pluginIdx)) {
      throw new TtrpcError(Code.UNKNOWN, `invalid plugin index "${req.pluginIdx}", must be 2 digits`);
    }
    clearTimeout(this.regTimer);
    this.info = {
      name: req.pluginName,
      idx: req.pluginIdx,
      mask: 0,
      configureRequests: [],
      syncRequests: [],
      syncReplies: [],
      updateRequests: [],
    };
    this.emit("registered", this.info);
    // Like containerd, Configure is issued before the RegisterPlugin reply is written.
    void this.configureAndSync().catch((err: unknown) => {
      this.s.logger.warn({ err }, "fake runtime: plugin setup failed");
      this.close(err instanceof Error ? err.message : String(err));
    });
    return Empty.encode({}).finish();
  }

  private async configureAndSync(): Promise<void> {
    const info = this.info!;
    const chunked = this.s.syncChunkSize !== undefined;
    const creq: ConfigureRequest = {
      config: "",
      runtimeName: "fake-runtime",
      runtimeVersion: this.s.runtimeVersion,
      registrationTimeout: chunked ? this.s.registrationTimeoutMs : 0,
      requestTimeout: chunked ? this.s.requestTimeoutMs : 0,
      NRIVersion: "",
    };
    info.configureRequests.push(creq);
    const cres = ConfigureResponse.decode(
      await this.call("Configure", ConfigureRequest.encode(creq).finish()),
    );
    const events = cres.events;
    if (events !== 0 && (events & ~VALID_EVENTS_MASK) !== 0) {
      throw new Error(`invalid plugin events: 0x${(events >>> 0).toString(16)}`);
    }
    info.mask = events === 0 ? VALID_EVENTS_MASK : events;

    const { pods, containers } = this.s.snapshot();
    for (const req of chunkSync(pods, containers, this.s.syncChunkSize)) {
      info.syncRequests.push(req);
      const res = SynchronizeResponse.decode(
        await this.call("Synchronize", SynchronizeRequest.encode(req).finish()),
      );
      info.syncReplies.push(res);
      if (req.more && (res.more !== true || res.update.length > 0)) {
        throw new Error("plugin does not handle split sync requests");
      }
    }
    this.ready = true;
    this.emit("ready");
  }
}

/** Splits the state into SynchronizeRequests of at most `size` objects (one request if undefined). */
export function chunkSync(
  pods: PodSandbox[],
  containers: Container[],
  size: number | undefined,
): SynchronizeRequest[] {
  if (size === undefined) return [{ pods, containers, more: false }];
  const n = Math.max(1, Math.floor(size));
  const items: Array<["p", PodSandbox] | ["c", Container]> = [
    ...pods.map((p) => ["p", p] as ["p", PodSandbox]),
    ...containers.map((c) => ["c", c] as ["c", Container]),
  ];
  const out: SynchronizeRequest[] = [];
  for (let i = 0; i < items.length || out.length === 0; i += n) {
    const slice = items.slice(i, i + n);
    out.push({
      pods: slice.flatMap((x) => (x[0] === "p" ? [x[1]] : [])),
      containers: slice.flatMap((x) => (x[0] === "c" ? [x[1]] : [])),
      more: i + n < items.length,
    });
  }
  return out;
}
