/**
 * What the daemon runs around the plugin besides the NRI stub and the control API: the sweep loop
 * every `--retry-interval`, the metrics, and the `/metrics` `/healthz` `/readyz` endpoint with the
 * readiness rule, fed by the stub's connection events. `startDaemon` (src/cli.ts) uses it, and so
 * can anyone who runs a `ResctrlPlugin` in-process (the scenario worlds do), so the wiring exists once.
 */
import type { Logger } from "pino";
import type { DaemonMetrics } from "./metrics/daemon-metrics.js";
import { startHttpServer, type HttpServerHandle } from "./metrics/http-server.js";
import { readinessOf } from "./metrics/readiness.js";
import type { ResctrlPlugin } from "./plugin/plugin.js";
import { startSweepLoop, type SweepLoop } from "./plugin/sweep-loop.js";
import type { MonDataReader, RuntimeStatusView } from "./metrics/types.js";

/** The stub events the services follow (an `NriStub` fits). */
export interface StubEvents {
  on(event: "registered" | "closed" | "synchronized", listener: () => void): unknown;
}

/** Options of {@link startDaemonServices}. */
export interface DaemonServicesOptions {
  plugin: ResctrlPlugin;
  resctrl: MonDataReader;
  /** ms between sweeps; 0 = no loop. */
  retryIntervalMs: number;
  /** `HOST:PORT` of the endpoint; undefined = no endpoint (metrics are still kept). */
  httpListen?: string;
  /** `node` label on every metric. */
  nodeName?: string;
  logger: Logger;
}

/** Running services; {@link stop} ends the loop and the endpoint (idempotent, never rejects). */
export interface DaemonServices {
  /** The metrics, kept only when there is an endpoint to serve them (prom-client costs ~13 MB). */
  readonly metrics: DaemonMetrics | undefined;
  /** The endpoint with the port it really bound, when `httpListen` was given. */
  readonly http: HttpServerHandle | undefined;
  readonly sweeps: SweepLoop;
  /** The connection as the metrics and readiness see it. */
  readonly runtime: RuntimeStatusView;
  /** Pass as the stub's `onRequest` (the NRI request histogram). */
  readonly onRequest: (method: string, seconds: number) => void;
  /** Follow a stub's connection: registered → connected (not synchronized yet), synchronized, closed. */
  watch(stub: StubEvents): void;
  stop(): Promise<void>;
}

/** Starts the endpoint (rejects if it cannot bind) and the sweep loop. */
export async function startDaemonServices(o: DaemonServicesOptions): Promise<DaemonServices> {
  const rt = { connected: false, synchronized: false, registrations: 0 };
  const runtime: RuntimeStatusView = {
    connected: () => rt.connected,
    synchronized: () => rt.synchronized,
    reconnects: () => Math.max(0, rt.registrations - 1),
  };
  const metrics = o.httpListen
    ? new (await import("./metrics/daemon-metrics.js")).DaemonMetrics({
        plugin: o.plugin,
        resctrl: o.resctrl,
        runtime,
        nodeName: o.nodeName,
        logger: o.logger,
      })
    : undefined;
  const http =
    o.httpListen && metrics
      ? await startHttpServer({
          listen: o.httpListen,
          metrics,
          readiness: () => readinessOf(runtime, o.plugin),
          logger: o.logger,
        })
      : undefined;
  const sweeps = startSweepLoop(o.plugin, o.retryIntervalMs, o.logger);
  let stopping: Promise<void> | undefined;
  return {
    metrics,
    http,
    sweeps,
    runtime,
    onRequest: (method, seconds) => metrics?.observeNriRequest(method, seconds),
    watch(stub) {
      stub.on("registered", () => {
        rt.connected = true;
        rt.synchronized = false;
        rt.registrations += 1;
      });
      stub.on("closed", () => {
        rt.connected = false;
        rt.synchronized = false;
      });
      stub.on("synchronized", () => {
        rt.synchronized = true;
      });
    },
    stop() {
      stopping ??= (async () => {
        await sweeps.stop().catch(() => undefined);
        await http?.close().catch(() => undefined);
      })();
      return stopping;
    },
  };
}
