import { Duplex } from "node:stream";

/**
 * An in-memory trunk socket for wire-level tests: everything written to it is recorded in
 * `writes` (one entry per write call, i.e. per mux frame), and `inject()` delivers bytes as if
 * they came from the peer. `end()` from the peer side via `injectEnd()`.
 */
export class CaptureDuplex extends Duplex {
  readonly writes: Buffer[] = [];

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.writes.push(Buffer.from(chunk));
    cb();
  }

  override _read(): void {
    // Data is pushed by inject().
  }

  /** Delivers bytes to the reader side, as if sent by the peer. */
  inject(bytes: Buffer | string): void {
    this.push(typeof bytes === "string" ? Buffer.from(bytes.replace(/\s+/g, ""), "hex") : bytes);
  }

  /** Signals EOF from the peer. */
  injectEnd(): void {
    this.push(null);
  }

  /** All written bytes as one hex string. */
  hex(): string {
    return Buffer.concat(this.writes).toString("hex");
  }
}

/** Builds a mux frame `[connId][len][payload]`. Pure. */
export function muxFrame(connId: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(connId, 0);
  h.writeUInt32BE(payload.length, 4);
  return Buffer.concat([h, payload]);
}

/** Parses a byte string of whole mux frames into `{connId, payload}` entries (throws on a partial frame). */
export function parseFrames(bytes: Buffer): Array<{ connId: number; payload: Buffer }> {
  const out: Array<{ connId: number; payload: Buffer }> = [];
  let off = 0;
  while (off < bytes.length) {
    if (off + 8 > bytes.length) throw new Error("partial mux header");
    const connId = bytes.readUInt32BE(off);
    const len = bytes.readUInt32BE(off + 4);
    if (off + 8 + len > bytes.length) throw new Error("partial mux frame");
    out.push({ connId, payload: bytes.subarray(off + 8, off + 8 + len) });
    off += 8 + len;
  }
  return out;
}

/** Waits for pending I/O callbacks (stream writes/reads are async). */
export function tick(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

/**
 * Polls `cond` every few ms until it holds; rejects with "condition not met in time" after `ms`.
 * For tests that wait on state changed by socket I/O or timers.
 */
export async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 2));
  }
}
