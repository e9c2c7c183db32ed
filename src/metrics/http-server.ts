import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { isIPv6 } from "node:net";
import type { AddressInfo } from "node:net";
import { pino, type Logger } from "pino";
import type { DaemonMetrics } from "./daemon-metrics.js";
import type { Readiness } from "./readiness.js";

/** A parsed `--http-listen` value. */
export interface ListenAddress {
  host: string;
  port: number;
}

/**
 * Parses `HOST:PORT` (`127.0.0.1:9100`, `[::1]:9100`, `0.0.0.0:0`, `localhost:9100`); port 0 means
 * an ephemeral port. Throws an Error naming the flag for anything else.
 */
export function parseListenAddress(s: string): ListenAddress {
  const bad = (): Error => new Error(`failed to parse --http-listen ${JSON.stringify(s)}: want HOST:PORT`);
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(s) ?? /^([^:[\]\s/]+):(\d{1,5})$/.exec(s);
  if (!m) throw bad();
  const host = m[1] as string;
  const port = Number(m[2]);
  if (port > 65535) throw bad();
  if (s.startsWith("[") && !isIPv6(host)) throw bad();
  return { host, port };
}

/** Limits on slow clients (ms). */
export interface HttpTimeouts {
  /** Time to receive a request's headers; default 5000. */
  headersMs?: number;
  /** Time to receive a whole request; default 10000. */
  requestMs?: number;
  /** Idle time of a keep-alive connection; default 5000. */
  keepAliveMs?: number;
}

/** Options of {@link startHttpServer}. */
export interface HttpServerOptions {
  /** `HOST:PORT`, see {@link parseListenAddress}. */
  listen: string;
  metrics: Pick<DaemonMetrics, "metrics" | "registry">;
  readiness: () => Readiness;
  /** Default silent. */
  logger?: Logger;
  /** `/metrics` requests answered at once; more get 503 "busy" right away. Default 8. */
  maxInFlight?: number;
  /** Open connections; more are refused. Default 64. */
  maxConnections?: number;
  timeouts?: HttpTimeouts;
}

/** A running server: where it listens, and how to stop it. */
export interface HttpServerHandle {
  host: string;
  port: number;
  /** Stops listening, closes idle and active connections, resolves when the server is closed. */
  close(): Promise<void>;
}

const PATHS = new Set(["/metrics", "/healthz", "/readyz"]);

function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, " ").trim();
}

/**
 * The daemon's HTTP endpoint: `GET|HEAD /metrics` (Prometheus text format), `/healthz` (200 while the
 * process serves) and `/readyz` (200, or 503 with the reason). Unknown paths get 404, other methods
 * 405 with `Allow`. Request bodies are ignored. Slow clients are bounded by the timeouts, the
 * connection limit and the in-flight limit of `/metrics` (the only endpoint that does work; the
 * probes answer synchronously and are never refused as busy, so a slow scrape cannot fail a
 * liveness probe).
 */
export async function startHttpServer(opts: HttpServerOptions): Promise<HttpServerHandle> {
  const { host, port } = parseListenAddress(opts.listen);
  const log = opts.logger ?? pino({ level: "silent" });
  const maxInFlight = opts.maxInFlight ?? 8;
  const headersMs = opts.timeouts?.headersMs ?? 5000;
  const requestMs = Math.max(opts.timeouts?.requestMs ?? 10000, headersMs);
  let inFlight = 0;

  const send = (
    res: ServerResponse,
    status: number,
    body: string,
    headers: Record<string, string> = {},
  ): void => {
    if (res.destroyed || res.writableEnded) return;
    res.writeHead(status, {
      "Content-Type": "text/plain; charset=utf-8",
      "Content-Length": String(Buffer.byteLength(body)),
      ...headers,
    });
    res.end(body); // HEAD: node sends the headers only
  };

  const serveMetrics = async (res: ServerResponse): Promise<void> => {
    if (inFlight >= maxInFlight) {
      send(res, 503, "busy\n", { "Retry-After": "1" });
      return;
    }
    inFlight++;
    try {
      const body = await opts.metrics.metrics();
      send(res, 200, body, { "Content-Type": opts.metrics.registry.contentType });
    } catch (e) {
      const msg = oneLine(e instanceof Error ? e.message : String(e));
      log.error({ err: msg }, "failed to collect metrics");
      send(res, 500, `failed to collect metrics: ${msg}\n`);
    } finally {
      inFlight--;
    }
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    // Request bodies are never read: node discards an unread body once the response ends.
    const path = (req.url ?? "/").split("?")[0] as string;
    if (!PATHS.has(path)) return send(res, 404, "not found\n");
    if (req.method !== "GET" && req.method !== "HEAD") {
      return send(res, 405, "method not allowed\n", { Allow: "GET, HEAD" });
    }
    if (path === "/healthz") return send(res, 200, "ok\n");
    if (path === "/readyz") {
      let r: Readiness;
      try {
        r = opts.readiness();
      } catch (e) {
        r = { ready: false, reason: `readiness check failed: ${e instanceof Error ? e.message : String(e)}` };
      }
      return send(res, r.ready ? 200 : 503, r.ready ? "ready\n" : `${oneLine(r.reason)}\n`);
    }
    void serveMetrics(res);
  };

  const server = createServer(
    {
      headersTimeout: headersMs,
      requestTimeout: requestMs,
      keepAliveTimeout: opts.timeouts?.keepAliveMs ?? 5000,
      // How often node checks headersTimeout/requestTimeout (its default is 30 s).
      connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(headersMs / 4))),
    },
    handle,
  );
  server.keepAliveTimeout = opts.timeouts?.keepAliveMs ?? 5000;
  server.maxConnections = opts.maxConnections ?? 64;
  server.maxHeadersCount = 100;

  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error): void => reject(new Error(`failed to listen on ${opts.listen}: ${e.message}`));
    server.once("error", onError);
    server.listen({ host, port }, () => {
      server.off("error", onError);
      resolve();
    });
  });
  server.on("error", (e) => log.error({ err: e.message }, "http server error"));
  const addr = server.address() as AddressInfo;
  log.info({ host: addr.address, port: addr.port }, "serving /metrics, /healthz and /readyz");

  let closing: Promise<void> | undefined;
  return {
    host: addr.address,
    port: addr.port,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
