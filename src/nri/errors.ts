/**
 * Errors of the NRI wire layer. Both carry an ES `cause` when they wrap another error.
 */

/**
 * The peer broke the wire protocol (bad frame, oversized frame, undecodable envelope) or the
 * connection ended while something was pending. The connection that raised it is closed; nothing
 * else is affected.
 */
export class ProtocolError extends Error {
  override readonly name = "ProtocolError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** ttrpc / gRPC status codes used by this layer (gRPC numbering). */
export const Code = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/**
 * A ttrpc call that completed with a non-OK status (from the peer, or synthesised locally for a
 * timeout (DEADLINE_EXCEEDED) or a closed connection (UNAVAILABLE)). `code` is the gRPC status code,
 * `message` the status message as sent.
 */
export class TtrpcError extends Error {
  override readonly name = "TtrpcError";
  constructor(
    readonly code: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
