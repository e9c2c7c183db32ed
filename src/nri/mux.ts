import type { Duplex } from "node:stream";
import { pino, type Logger } from "pino";
import { DEFAULT_MAX_FRAME_LENGTH, MUX_HEADER_LENGTH } from "./constants.js";
import { ProtocolError } from "./errors.js";

/** Receiver of one logical connection's byte stream. */
export interface MuxSink {
  /** A slice of the connection's byte stream, in order. The buffer may be kept. */
  data(chunk: Buffer): void;
  /** The trunk closed; `err` is set unless it was a clean local close or EOF. Called once. */
  close(err?: Error): void;
  /**
   * Optional admission check called when a frame header for this connection arrives, before any of
   * its payload is delivered. Throwing closes the trunk with that error (used by the fake runtime to
   * emulate the Go reader's ENOMEM on a frame > 4096 bytes at a message boundary).
   */
  frame?(length: number): void;
}

/** Options of {@link Mux}. */
export interface MuxOptions {
  /** Frames announcing a longer payload close the trunk with a ProtocolError. */
  maxFrameLength?: number;
  logger?: Logger;
}

/**
 * The NRI connection multiplexer (containerd/nri pkg/net/multiplex) over one trunk socket: frames
 * `[u32be connId][u32be length][payload]`, demultiplexed into per-connection byte streams.
 *
 * Ownership: the Mux owns the socket from construction; `close()` destroys it. Incoming frame payloads
 * are forwarded to the sink as they arrive (never buffered here beyond the 8-byte header), so memory
 * stays bounded whatever the peer sends. Frames for a connection without a sink are discarded with
 * one warning per frame. A frame longer than `maxFrameLength` closes the trunk with a ProtocolError.
 *
 * Writing: {@link send} writes each frame as one `socket.write(Buffer)` and all frames of one call
 * synchronously, so frames never interleave; the socket's write buffer is the single write queue.
 * It never throws: writes after close are dropped (debug log).
 */
export class Mux {
  private readonly sinks = new Map<number, MuxSink>();
  private readonly maxFrameLength: number;
  private readonly log: Logger;
  private readonly header = Buffer.alloc(MUX_HEADER_LENGTH);
  private headerFill = 0;
  private frameConn = 0;
  private frameRemaining = 0;
  private frameSink: MuxSink | undefined;
  private closed = false;
  private closeError: Error | undefined;
  private readonly closeWaiters: Array<() => void> = [];

  constructor(
    private readonly socket: Duplex,
    opts: MuxOptions = {},
  ) {
    this.maxFrameLength = opts.maxFrameLength ?? DEFAULT_MAX_FRAME_LENGTH;
    this.log = opts.logger ?? pino({ level: "silent" });
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("end", () => this.finish(undefined));
    socket.on("error", (err: Error) =>
      this.finish(new ProtocolError("failed to read nri trunk socket", { cause: err })),
    );
    socket.on("close", () => this.finish(undefined));
  }

  /** Attaches the receiver of connection `connId` (1 or 2 for NRI). Replaces any previous sink. */
  attach(connId: number, sink: MuxSink): void {
    if (this.closed) {
      sink.close(this.closeError);
      return;
    }
    this.sinks.set(connId, sink);
  }

  /** Why the trunk closed: undefined while open, or after a clean local close / EOF. */
  get closeReason(): Error | undefined {
    return this.closeError;
  }

  /** True once the trunk is closed (locally, by EOF or by a protocol error). */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Sends each buffer as one frame on `connId`, in order, contiguously. Empty buffers are skipped
   * (zero-length frames are pointless). Returns false if the trunk is closed (nothing sent).
   */
  send(connId: number, payloads: readonly Buffer[]): boolean {
    if (this.closed || this.socket.destroyed) {
      this.log.debug({ connId }, "mux: dropping write on closed trunk");
      return false;
    }
    for (const p of payloads) {
      if (p.length === 0) continue;
      const frame = Buffer.allocUnsafe(MUX_HEADER_LENGTH + p.length);
      frame.writeUInt32BE(connId, 0);
      frame.writeUInt32BE(p.length, 4);
      p.copy(frame, MUX_HEADER_LENGTH);
      this.socket.write(frame);
    }
    return true;
  }

  /** Closes the trunk (destroys the socket); sinks get `close(err)`. Idempotent. */
  close(err?: Error): void {
    this.finish(err);
    this.socket.destroy();
  }

  /** Resolves once the trunk is closed. */
  closedPromise(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  private onData(chunk: Buffer): void {
    let off = 0;
    try {
      while (off < chunk.length && !this.closed) {
        if (this.frameRemaining === 0 && this.headerFill < MUX_HEADER_LENGTH) {
          const n = Math.min(MUX_HEADER_LENGTH - this.headerFill, chunk.length - off);
          chunk.copy(this.header, this.headerFill, off, off + n);
          this.headerFill += n;
          off += n;
          if (this.headerFill === MUX_HEADER_LENGTH) this.startFrame();
          continue;
        }
        const n = Math.min(this.frameRemaining, chunk.length - off);
        const slice = chunk.subarray(off, off + n);
        off += n;
        this.frameRemaining -= n;
        if (this.frameRemaining === 0) this.headerFill = 0;
        this.frameSink?.data(slice);
      }
    } catch (err) {
      const e =
        err instanceof ProtocolError
          ? err
          : new ProtocolError(`failed to handle nri frame on conn ${this.frameConn}`, { cause: err });
      this.log.error({ err: e }, "mux: closing trunk");
      this.close(e);
    }
  }

  private startFrame(): void {
    const connId = this.header.readUInt32BE(0);
    const length = this.header.readUInt32BE(4);
    if (length > this.maxFrameLength) {
      throw new ProtocolError(
        `failed to accept nri frame on conn ${connId}: length ${length} exceeds limit ${this.maxFrameLength}`,
      );
    }
    this.frameConn = connId;
    this.frameSink = this.sinks.get(connId);
    if (!this.frameSink) this.log.warn({ connId, length }, "mux: discarding frame for unknown connection");
    else this.frameSink.frame?.(length);
    this.frameRemaining = length;
    if (length === 0) this.headerFill = 0;
  }

  private finish(err: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.closeError = err;
    const sinks = [...this.sinks.values()];
    this.sinks.clear();
    for (const s of sinks) {
      try {
        s.close(err);
      } catch (e) {
        this.log.error({ err: e }, "mux: sink close handler threw");
      }
    }
    for (const w of this.closeWaiters.splice(0)) w();
    if (!this.socket.destroyed) this.socket.destroy();
  }
}
