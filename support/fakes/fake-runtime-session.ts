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
import {
  MIN_OBJECTS_PER_SYNC_MESSAGE,
  TTRPC_MAX_MESSAGE_LENGTH,
  goWriterFrames,
  type NriGenerationProfile,
} from "./nri-generations.js";

/** What the fake runtime knows about a connected plugin. */
export interface FakePluginInfo {
  name: string;
  idx: string;
  /** Effective mask (0 from the plugin means every event valid on the generation, like containerd). */
  mask: number;
  /** NRI_version the plugin sent in RegisterPlugin (v0.12+ field; "" otherwise). */
  nriVersion: string;
  /** v0.12+: the plugin answered a dedicated per-event RPC UNIMPLEMENTED; events go over StateChange for good. */
  stateChangeFallback: boolean;
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
  /** Forced chunk size (scripted runtime); undefined = the generation's own behaviour. */
  syncChunkSize: number | undefined;
  runtimeVersion: string;
  /** The NRI generation spoken (validation, Configure fields, sync splitting, frames). */
  nri: NriGenerationProfile;
  logger: Logger;
  /** Current runtime state, read when Synchronize is sent. */
  snapshot(): { pods: PodSandbox[]; containers: Container[] };
}

/**
 * The runtime side of one plugin connection, as strict as the chosen NRI generation's runtime
 * where that matters: registration timeout, name/index validation, Go ttrpc stream-id rules (by
 * TtrpcServer), mask validation against the generation's valid events, fatal request timeouts,
 * the Go reader's 4096-byte framing limit, Go-writer framing of what it sends, and (v0.8+) split
 * Synchronize with its echo rules. Emits "ready" after register → configure → synchronize, and
 * "closed" (reason) once.
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
      reframe: (frames) => goWriterFrames(Buffer.concat(frames), s.nri.maxFramePayload),
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
      nriVersion: req.NRIVersion,
      stateChangeFallback: false,
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
    const nri = this.s.nri;
    const timeouts = nri.configureTimeouts || this.s.syncChunkSize !== undefined;
    const creq: ConfigureRequest = {
      config: "",
      runtimeName: "fake-runtime",
      runtimeVersion: this.s.runtimeVersion,
      registrationTimeout: timeouts ? this.s.registrationTimeoutMs : 0,
      requestTimeout: timeouts ? this.s.requestTimeoutMs : 0,
      NRIVersion: nri.moduleVersion,
    };
    info.configureRequests.push(creq);
    const cres = ConfigureResponse.decode(
      await this.call("Configure", ConfigureRequest.encode(creq).finish()),
    );
    const events = cres.events;
    if (events !== 0 && (events & ~nri.validEvents) !== 0) {
      throw new Error(`invalid plugin events: 0x${((events & ~nri.validEvents) >>> 0).toString(16)}`);
    }
    info.mask = events === 0 ? nri.validEvents : events;

    const { pods, containers } = this.s.snapshot();
    if (this.s.syncChunkSize !== undefined) {
      for (const req of chunkSync(pods, containers, this.s.syncChunkSize)) await this.syncOnce(req);
    } else if (nri.splitsSync) {
      await this.splitSync(pods, containers);
    } else {
      await this.syncOnce({ pods, containers, more: false });
    }
    this.ready = true;
    this.emit("ready");
  }

  /** Sends one SynchronizeRequest; enforces the split-sync echo rule (nri v0.8+ closes a plugin that breaks it). */
  private async syncOnce(req: SynchronizeRequest): Promise<void> {
    const info = this.info!;
    info.syncRequests.push(req);
    const res = SynchronizeResponse.decode(
      await this.call("Synchronize", SynchronizeRequest.encode(req).finish()),
    );
    info.syncReplies.push(res);
    if (req.more && (res.more !== true || res.update.length > 0)) {
      throw new Error("plugin does not handle split sync requests");
    }
  }

  /**
   * nri v0.8+ `plugin.synchronize`: everything in one message; while ttrpc refuses a message over
   * 4 MiB (ResourceExhausted), retry with `floor(n * min(0.9, max / len))` pods and containers a
   * message (at least 4 + 4); then send the rest in messages of that size with `more`.
   */
  private async splitSync(pods: PodSandbox[], containers: Container[]): Promise<void> {
    let podsToSend = pods;
    let ctrsToSend = containers;
    let podsPerMsg = pods.length;
    let ctrsPerMsg = containers.length;
    for (;;) {
      const req: SynchronizeRequest = {
        pods: podsToSend.slice(0, podsPerMsg),
        containers: ctrsToSend.slice(0, ctrsPerMsg),
        more: podsToSend.length > podsPerMsg || ctrsToSend.length > ctrsPerMsg,
      };
      const len = SynchronizeRequest.encode(req).finish().length;
      if (len > TTRPC_MAX_MESSAGE_LENGTH) {
        if (podsPerMsg + ctrsPerMsg <= MIN_OBJECTS_PER_SYNC_MESSAGE)
          throw new Error("failed to synchronize plugin with split messages");
        const factor = Math.min(0.9, TTRPC_MAX_MESSAGE_LENGTH / len);
        podsPerMsg = Math.floor(podsPerMsg * factor);
        ctrsPerMsg = Math.floor(ctrsPerMsg * factor);
        if (podsPerMsg + ctrsPerMsg < MIN_OBJECTS_PER_SYNC_MESSAGE) {
          podsPerMsg = MIN_OBJECTS_PER_SYNC_MESSAGE / 2;
          ctrsPerMsg = MIN_OBJECTS_PER_SYNC_MESSAGE / 2;
        }
        continue;
      }
      await this.syncOnce(req);
      if (!req.more) return;
      podsToSend = podsToSend.slice(podsPerMsg);
      ctrsToSend = ctrsToSend.slice(ctrsPerMsg);
      podsPerMsg = Math.min(podsPerMsg, podsToSend.length);
      ctrsPerMsg = Math.min(ctrsPerMsg, ctrsToSend.length);
    }
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
