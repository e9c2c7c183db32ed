import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { Mux } from "./mux.js";
import { TtrpcClient } from "./ttrpc-client.js";
import { TtrpcServer } from "./ttrpc-server.js";

/** Options of {@link openTrunk}. */
export interface TrunkOptions {
  /** Connection id on which we serve (1 for a plugin, 2 for a runtime). */
  serveConn: number;
  /** Connection id on which we call (2 for a plugin, 1 for a runtime). */
  callConn: number;
  logger?: Logger;
  maxFrameLength?: number;
  maxMessageLength?: number;
  /** Default timeout of client calls, ms (0 = none). */
  callTimeoutMs?: number;
  /**
   * Re-cuts the frame payloads of each outgoing message (default: as the ttrpc layer cut them).
   * Test runtimes use it to write frames the way a Go runtime does.
   */
  reframe?: (frames: Buffer[]) => Buffer[];
}

/** A connected trunk: the mux plus one ttrpc server and one ttrpc client. */
export interface Trunk {
  mux: Mux;
  server: TtrpcServer;
  client: TtrpcClient;
}

/**
 * Wraps a connected socket into a mux with a ttrpc server on `serveConn` and a client on `callConn`.
 * The trunk owns the socket; `mux.close()` ends everything (pending client calls fail with
 * UNAVAILABLE). Register server methods before data can arrive, i.e. synchronously after this call.
 */
export function openTrunk(socket: Duplex, opts: TrunkOptions): Trunk {
  const mux = new Mux(socket, { logger: opts.logger, maxFrameLength: opts.maxFrameLength });
  const cut = opts.reframe ?? ((frames: Buffer[]) => frames);
  const server = new TtrpcServer({
    send: (frames) => void mux.send(opts.serveConn, cut(frames)),
    logger: opts.logger,
    maxMessageLength: opts.maxMessageLength,
  });
  const client = new TtrpcClient({
    send: (frames) => void mux.send(opts.callConn, cut(frames)),
    logger: opts.logger,
    timeoutMs: opts.callTimeoutMs,
    maxMessageLength: opts.maxMessageLength,
  });
  mux.attach(opts.serveConn, server);
  mux.attach(opts.callConn, client);
  return { mux, server, client };
}
