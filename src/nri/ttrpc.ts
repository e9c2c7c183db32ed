import { DEFAULT_MAX_MESSAGE_LENGTH, GO_BUFIO_SIZE, TTRPC_HEADER_LENGTH } from "./constants.js";

/** A decoded 10-byte ttrpc message header. */
export interface TtrpcHeader {
  length: number;
  streamId: number;
  type: number;
  flags: number;
}

/** Encodes a ttrpc header `[u32be length][u32be streamId][u8 type][u8 flags]`. Pure. */
export function encodeHeader(h: TtrpcHeader): Buffer {
  const b = Buffer.alloc(TTRPC_HEADER_LENGTH);
  b.writeUInt32BE(h.length, 0);
  b.writeUInt32BE(h.streamId, 4);
  b.writeUInt8(h.type, 8);
  b.writeUInt8(h.flags, 9);
  return b;
}

/** Decodes a ttrpc header from the first 10 bytes of `b` (caller guarantees the length). Pure. */
export function decodeHeader(b: Buffer): TtrpcHeader {
  return {
    length: b.readUInt32BE(0),
    streamId: b.readUInt32BE(4),
    type: b.readUInt8(8),
    flags: b.readUInt8(9),
  };
}

/**
 * Splits one ttrpc message into mux frame payloads following nri-protocol.md §3.4: a message of at
 * most 4096 bytes in total is one frame (rule 2); a longer one is a 10-byte header frame followed by
 * one frame holding exactly the payload (rule 1). Never produces a frame > 4096 bytes that starts at a
 * message boundary. Pure.
 */
export function frameMessage(header: TtrpcHeader, payload: Uint8Array): Buffer[] {
  const h = encodeHeader({
    length: payload.length,
    streamId: header.streamId,
    type: header.type,
    flags: header.flags,
  });
  const p = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (p.length === 0) return [h];
  if (TTRPC_HEADER_LENGTH + p.length <= GO_BUFIO_SIZE) return [Buffer.concat([h, p])];
  return [h, p];
}

/** One complete ttrpc message. */
export interface TtrpcMessage {
  header: TtrpcHeader;
  payload: Buffer;
}

/** Options of {@link MessageReader}. */
export interface MessageReaderOptions {
  /** Payloads longer than this are discarded as they stream in (never buffered). */
  maxMessageLength?: number;
}

/**
 * Reassembles ttrpc messages from one connection's byte stream. `push()` returns the messages
 * completed by a chunk plus the headers of oversized messages, whose payload is skipped without
 * buffering (the caller answers RESOURCE_EXHAUSTED, like Go). Truncated input simply waits. Buffered
 * bytes never exceed 10 + maxMessageLength. Never throws.
 */
export class MessageReader {
  private readonly max: number;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private header: TtrpcHeader | undefined;
  private skipRemaining = 0;

  constructor(opts: MessageReaderOptions = {}) {
    this.max = opts.maxMessageLength ?? DEFAULT_MAX_MESSAGE_LENGTH;
  }

  /** Bytes currently held (header + partial payload). */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /**
   * Payload bytes still missing from the message being read, or 0 when the reader is at a message
   * boundary (or inside a header). Used to emulate the Go reader's framing constraints.
   */
  get payloadRemaining(): number {
    if (this.skipRemaining > 0) return this.skipRemaining;
    if (!this.header) return 0;
    return this.header.length - (this.buffered - TTRPC_HEADER_LENGTH);
  }

  /** Feeds a chunk; returns completed messages and skipped (oversized) headers, in order. */
  push(chunk: Buffer): { messages: TtrpcMessage[]; oversized: TtrpcHeader[] } {
    const messages: TtrpcMessage[] = [];
    const oversized: TtrpcHeader[] = [];
    let off = 0;
    while (off < chunk.length) {
      if (this.skipRemaining > 0) {
        const n = Math.min(this.skipRemaining, chunk.length - off);
        this.skipRemaining -= n;
        off += n;
        continue;
      }
      const want = this.header ? TTRPC_HEADER_LENGTH + this.header.length : TTRPC_HEADER_LENGTH;
      const n = Math.min(want - this.buffered, chunk.length - off);
      this.chunks.push(chunk.subarray(off, off + n));
      this.buffered += n;
      off += n;
      if (this.buffered < want) break;
      const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
      if (!this.header) {
        const h = decodeHeader(all);
        if (h.length > this.max) {
          this.reset();
          this.skipRemaining = h.length;
          oversized.push(h);
          continue;
        }
        this.header = h;
        this.chunks = [all];
        if (h.length > 0) continue;
      }
      messages.push({ header: this.header, payload: all.subarray(TTRPC_HEADER_LENGTH) });
      this.reset();
    }
    return { messages, oversized };
  }

  private reset(): void {
    this.chunks = [];
    this.buffered = 0;
    this.header = undefined;
  }
}
