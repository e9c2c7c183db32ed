import { pino, type Logger } from "pino";
import { Request, Response } from "./gen/ttrpc/request.js";
import { MAX_TIMER_MS, MessageType } from "./constants.js";
import { Code, TtrpcError } from "./errors.js";
import { frameMessage, MessageReader } from "./ttrpc.js";
import type { MuxSink } from "./mux.js";

/** Options of {@link TtrpcClient}. */
export interface TtrpcClientOptions {
  /** Writes the frame payloads of one message, contiguously (Mux.send bound to a connection). */
  send: (frames: Buffer[]) => void;
  logger?: Logger;
  /** Default per-call timeout in ms; 0 or undefined = none. */
  timeoutMs?: number;
  maxMessageLength?: number;
}

/** Per-call options. */
export interface CallOptions {
  /** Overrides the client's default timeout; also sent to the server as `timeout_nano`. */
  timeoutMs?: number;
  metadata?: Array<{ key: string; value: string }>;
}

interface Pending {
  resolve(payload: Buffer): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | undefined;
  method: string;
}

/**
 * A unary ttrpc client on one logical connection (use it as the connection's {@link MuxSink}).
 * Stream ids are odd and increasing (1, 3, 5, …) for the client's lifetime; replies are matched by
 * stream id and may arrive in any order. `call()` resolves with the response payload (empty Buffer
 * for a zero-length reply) or rejects with a TtrpcError: the peer's non-zero status, 4
 * DEADLINE_EXCEEDED on timeout (the late reply is then dropped with a log line), 14 UNAVAILABLE when
 * the connection closes (every pending call fails) or is already closed. Never throws synchronously.
 */
export class TtrpcClient implements MuxSink {
  private readonly pending = new Map<number, Pending>();
  private readonly reader: MessageReader;
  private readonly log: Logger;
  private nextStreamId = 1;
  private closedWith: Error | undefined;
  private closed = false;

  constructor(private readonly opts: TtrpcClientOptions) {
    this.log = opts.logger ?? pino({ level: "silent" });
    this.reader = new MessageReader({ maxMessageLength: opts.maxMessageLength });
  }

  /** Number of calls awaiting a reply. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Bytes buffered by the message reader (for memory-bound checks). */
  get bufferedBytes(): number {
    return this.reader.bufferedBytes;
  }

  /** The underlying reader (read-only use: framing emulation). */
  get messageReader(): MessageReader {
    return this.reader;
  }

  /** Calls `service`/`method` with an encoded request; resolves with the encoded response. */
  call(service: string, method: string, payload: Uint8Array, opts: CallOptions = {}): Promise<Buffer> {
    if (this.closed) {
      return Promise.reject(
        new TtrpcError(Code.UNAVAILABLE, `failed to call ${method}: ttrpc: closed`, {
          cause: this.closedWith,
        }),
      );
    }
    const streamId = this.nextStreamId;
    if (streamId > 0xffffffff) {
      return Promise.reject(new TtrpcError(Code.RESOURCE_EXHAUSTED, "ttrpc: stream ids exhausted"));
    }
    this.nextStreamId += 2;
    const timeoutMs = opts.timeoutMs ?? this.opts.timeoutMs ?? 0;
    let body: Uint8Array;
    try {
      body = Request.encode({
        service,
        method,
        payload: Buffer.from(payload),
        timeoutNano: timeoutMs > 0 ? timeoutMs * 1e6 : 0,
        metadata: opts.metadata ?? [],
      }).finish();
    } catch (err) {
      return Promise.reject(
        new TtrpcError(Code.INTERNAL, `failed to encode ${method} request`, { cause: err }),
      );
    }
    return new Promise<Buffer>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      if (timeoutMs > 0) {
        // Clamped to setTimeout's range (a longer delay would fire after 1 ms).
        timer = setTimeout(
          () => {
            if (!this.pending.delete(streamId)) return;
            reject(
              new TtrpcError(Code.DEADLINE_EXCEEDED, `failed to call ${method}: context deadline exceeded`),
            );
          },
          Math.min(MAX_TIMER_MS, timeoutMs),
        );
        timer.unref();
      }
      this.pending.set(streamId, { resolve, reject, timer, method });
      this.opts.send(frameMessage({ length: 0, streamId, type: MessageType.REQUEST, flags: 0 }, body));
    });
  }

  data(chunk: Buffer): void {
    if (this.closed) return;
    const { messages, oversized } = this.reader.push(chunk);
    for (const h of oversized) {
      this.settle(
        h.streamId,
        new TtrpcError(Code.RESOURCE_EXHAUSTED, `reply of ${h.length} bytes exceeds limit`),
      );
    }
    for (const m of messages) {
      if (m.header.type !== MessageType.RESPONSE) {
        this.log.warn(
          { streamId: m.header.streamId, type: m.header.type },
          "ttrpc client: ignoring non-response",
        );
        continue;
      }
      let resp: Response;
      try {
        resp = Response.decode(m.payload);
      } catch (err) {
        this.settle(
          m.header.streamId,
          new TtrpcError(Code.INTERNAL, "failed to decode ttrpc response", { cause: err }),
        );
        continue;
      }
      if (resp.status && resp.status.code !== Code.OK) {
        this.settle(m.header.streamId, new TtrpcError(resp.status.code, resp.status.message));
      } else {
        this.settle(m.header.streamId, resp.payload);
      }
    }
  }

  close(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.closedWith = err;
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(new TtrpcError(Code.UNAVAILABLE, `failed to call ${p.method}: ttrpc: closed`, { cause: err }));
    }
  }

  private settle(streamId: number, result: Buffer | Error): void {
    const p = this.pending.get(streamId);
    if (!p) {
      this.log.warn({ streamId }, "ttrpc client: received message on inactive stream");
      return;
    }
    this.pending.delete(streamId);
    if (p.timer) clearTimeout(p.timer);
    if (result instanceof Error) p.reject(result);
    else p.resolve(result);
  }
}
