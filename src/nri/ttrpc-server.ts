import { pino, type Logger } from "pino";
import { Request, Response } from "./gen/ttrpc/request.js";
import { MAX_TIMER_MS, MessageType } from "./constants.js";
import { Code, TtrpcError } from "./errors.js";
import { frameMessage, MessageReader, type TtrpcHeader } from "./ttrpc.js";
import type { MuxSink } from "./mux.js";

/** Per-call context given to a method handler. */
export interface CallContext {
  service: string;
  method: string;
  streamId: number;
  /** Deadline from the request's `timeout_nano`, in ms (undefined = none). */
  timeoutMs: number | undefined;
  metadata: Array<{ key: string; value: string }>;
  /**
   * Aborted when the deadline passes or the connection closes (already aborted if that happened
   * before the first read). Created on first read: no handler of ours needs it, and Node 20 leaves
   * three fresh hidden classes in old space for every AbortSignal it creates.
   */
  readonly signal: AbortSignal;
}

/** One dispatched call: its context, and its cancellation (an AbortController once `signal` is read). */
class Call implements CallContext {
  #ac: AbortController | undefined;
  #reason: unknown;
  #aborted = false;

  constructor(
    readonly service: string,
    readonly method: string,
    readonly streamId: number,
    readonly timeoutMs: number | undefined,
    readonly metadata: Array<{ key: string; value: string }>,
  ) {}

  get signal(): AbortSignal {
    if (!this.#ac) {
      this.#ac = new AbortController();
      if (this.#aborted) this.#ac.abort(this.#reason);
    }
    return this.#ac.signal;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#ac?.abort(reason);
  }
}

/** A unary method: receives the encoded request message, returns the encoded response message. */
export type MethodHandler = (payload: Buffer, ctx: CallContext) => Promise<Uint8Array> | Uint8Array;

/** Options of {@link TtrpcServer}. */
export interface TtrpcServerOptions {
  /** Writes the frame payloads of one message, contiguously (Mux.send bound to a connection). */
  send: (frames: Buffer[]) => void;
  logger?: Logger;
  maxMessageLength?: number;
}

/**
 * A ttrpc server (containerd/ttrpc semantics, unary only) on one logical connection. Use it as the
 * connection's {@link MuxSink}.
 *
 * Behaviour: requests are dispatched concurrently by service/method; the reply goes on the caller's
 * stream id with type 2 and flags 0, exactly once. Success → Response{payload} without status (a
 * zero-length message for an empty payload); a thrown TtrpcError → its code; any other error → 2
 * UNKNOWN with the message; unknown service/method → 12 UNIMPLEMENTED "service X"/"method Y";
 * undecodable request → 3 INVALID_ARGUMENT; even or non-increasing stream id → 3 INVALID_ARGUMENT (Go's
 * rules); oversized message → 8 RESOURCE_EXHAUSTED.
 *
 * Timeouts: if `timeout_nano` > 0 and the handler has not settled by then, the server replies 4
 * DEADLINE_EXCEEDED, logs a warning and aborts `ctx.signal`; the handler's late result is dropped.
 * After the connection closes, no reply is sent and pending signals are aborted. Never throws.
 */
export class TtrpcServer implements MuxSink {
  private readonly methods = new Map<string, Map<string, MethodHandler>>();
  private readonly reader: MessageReader;
  private readonly log: Logger;
  private readonly inflight = new Set<Call>();
  private lastStreamId = 0;
  private closed = false;

  constructor(private readonly opts: TtrpcServerOptions) {
    this.log = opts.logger ?? pino({ level: "silent" });
    this.reader = new MessageReader({ maxMessageLength: opts.maxMessageLength });
  }

  /** Registers `service`/`method`. A second registration replaces the first. */
  register(service: string, method: string, handler: MethodHandler): void {
    let m = this.methods.get(service);
    if (!m) this.methods.set(service, (m = new Map()));
    m.set(method, handler);
  }

  /**
   * Handlers dispatched and not yet settled (0 after close). A call's reply, if any, is written
   * before it leaves this count, so 0 means every reply due so far has been sent.
   */
  get inflightCount(): number {
    return this.inflight.size;
  }

  /** Bytes buffered by the message reader (for memory-bound checks). */
  get bufferedBytes(): number {
    return this.reader.bufferedBytes;
  }

  /** The underlying reader (read-only use: framing emulation). */
  get messageReader(): MessageReader {
    return this.reader;
  }

  data(chunk: Buffer): void {
    if (this.closed) return;
    const { messages, oversized } = this.reader.push(chunk);
    for (const h of oversized) {
      this.log.warn({ streamId: h.streamId, length: h.length }, "ttrpc server: oversized message discarded");
      if (h.type === MessageType.REQUEST) {
        this.reply(h.streamId, {
          code: Code.RESOURCE_EXHAUSTED,
          message: `message length ${h.length} exceed maximum message size`,
        });
      }
    }
    for (const m of messages) this.onMessage(m.header, m.payload);
  }

  close(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    for (const call of this.inflight) call.abort(err ?? new TtrpcError(Code.UNAVAILABLE, "ttrpc: closed"));
    this.inflight.clear();
  }

  private onMessage(h: TtrpcHeader, payload: Buffer): void {
    if (h.type !== MessageType.REQUEST) {
      this.log.warn({ streamId: h.streamId, type: h.type }, "ttrpc server: ignoring non-request message");
      return;
    }
    if (h.streamId % 2 === 0) {
      this.reply(h.streamId, {
        code: Code.INVALID_ARGUMENT,
        message: "StreamID must be odd for client initiated streams",
      });
      return;
    }
    if (h.streamId <= this.lastStreamId) {
      this.reply(h.streamId, {
        code: Code.INVALID_ARGUMENT,
        message: "StreamID cannot be re-used and must increment",
      });
      return;
    }
    this.lastStreamId = h.streamId;
    let req: Request;
    try {
      req = Request.decode(payload);
    } catch (err) {
      this.log.warn({ err, streamId: h.streamId }, "ttrpc server: undecodable request");
      this.reply(h.streamId, {
        code: Code.INVALID_ARGUMENT,
        message: `unmarshal request error: ${errText(err)}`,
      });
      return;
    }
    const svc = this.methods.get(req.service);
    const handler = svc?.get(req.method);
    if (!svc || !handler) {
      const message = svc ? `method ${req.method}` : `service ${req.service}`;
      this.log.debug({ service: req.service, method: req.method }, "ttrpc server: unimplemented");
      this.reply(h.streamId, { code: Code.UNIMPLEMENTED, message });
      return;
    }
    void this.invoke(h.streamId, req, handler);
  }

  private async invoke(streamId: number, req: Request, handler: MethodHandler): Promise<void> {
    // Clamp to setTimeout's range (a larger value would silently become 1 ms).
    const timeoutMs =
      req.timeoutNano > 0 ? Math.min(MAX_TIMER_MS, Math.max(1, Math.ceil(req.timeoutNano / 1e6))) : undefined;
    const call = new Call(req.service, req.method, streamId, timeoutMs, req.metadata);
    this.inflight.add(call);
    let replied = false;
    const once = (status: { code: number; message: string } | undefined, out?: Uint8Array): void => {
      if (replied) return;
      replied = true;
      this.reply(streamId, status, out);
    };
    let timer: NodeJS.Timeout | undefined;
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => {
        this.log.warn(
          { service: req.service, method: req.method, streamId, timeoutMs },
          "ttrpc server: handler exceeded the request deadline; replying DEADLINE_EXCEEDED",
        );
        once({ code: Code.DEADLINE_EXCEEDED, message: `${req.method}: context deadline exceeded` });
        call.abort(new TtrpcError(Code.DEADLINE_EXCEEDED, "context deadline exceeded"));
      }, timeoutMs);
      timer.unref();
    }
    try {
      const out = await handler(req.payload, call);
      if (replied) this.log.warn({ method: req.method, streamId }, "ttrpc server: dropping late reply");
      once(undefined, out);
    } catch (err) {
      const code = err instanceof TtrpcError ? err.code : Code.UNKNOWN;
      if (!replied) this.log.debug({ err, method: req.method }, "ttrpc server: handler failed");
      once({ code, message: errText(err) });
    } finally {
      if (timer) clearTimeout(timer);
      this.inflight.delete(call);
    }
  }

  private reply(streamId: number, status?: { code: number; message: string }, payload?: Uint8Array): void {
    if (this.closed) return;
    let body: Uint8Array;
    try {
      body = Response.encode({
        status: status ? { code: status.code, message: status.message, details: [] } : undefined,
        payload: payload ? Buffer.from(payload) : Buffer.alloc(0),
      }).finish();
    } catch (err) {
      this.log.error({ err, streamId }, "ttrpc server: failed to encode response");
      body = Response.encode({
        status: { code: Code.INTERNAL, message: "failed to encode response", details: [] },
        payload: Buffer.alloc(0),
      }).finish();
    }
    this.opts.send(frameMessage({ length: 0, streamId, type: MessageType.RESPONSE, flags: 0 }, body));
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
