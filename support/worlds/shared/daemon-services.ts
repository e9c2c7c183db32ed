import type { Logger } from "pino";
import { DEFAULT_RETRY_INTERVAL_MS } from "../../../src/cli.js";
import {
  DaemonMetrics,
  readinessOf,
  startHttpServer,
  type HttpServerHandle,
} from "../../../src/metrics/index.js";
import type { NriStub } from "../../../src/nri/index.js";
import type { ResctrlPlugin } from "../../../src/plugin/plugin.js";
import { startSweepLoop, type SweepLoop } from "../../../src/plugin/sweep-loop.js";
import type { Resctrl } from "../../../src/resctrl/index.js";
import { DEFAULT_HTTP_LISTEN } from "../../daemon/daemon-args.js";
import { SERVING_HTTP_MSG } from "../../daemon/daemon-log.js";
import { httpGet } from "../../daemon/http-probe.js";
import { parsePrometheusText } from "../../daemon/prometheus-text.js";
import type { MetricSample, ProbeAnswer } from "../types.js";
import { effectiveRetryInterval } from "./retry-interval.js";

/** Options of {@link DaemonServices.start}. */
export interface DaemonServicesOptions {
  plugin: ResctrlPlugin;
  resctrl: Resctrl;
  /** The scenario's interval (undefined: the daemon's default), before the run-wide overrides. */
  retryIntervalMs: number | undefined;
  logger: Logger;
}

/**
 * What `src/cli.ts` `startDaemon` runs around the plugin besides the NRI stub and the control API,
 * for an in-process plugin (the mock world, the containerd world's in-process mode): the sweep
 * loop every `--retry-interval` (the daemon's default when the scenario states none), the
 * metrics ({@link DaemonMetrics}) and the HTTP endpoint on {@link DEFAULT_HTTP_LISTEN} with the
 * daemon's readiness rule ({@link readinessOf}), fed by the stub's events exactly as the daemon
 * feeds them (registered → connected, not synchronized; synchronized; closed). The wiring copies
 * `startDaemon`'s; keep the two alike (src/cli.ts offers no way to wrap a plugin it did not build).
 * Ownership: the loop and the server; {@link stop} ends both (idempotent, never rejects).
 */
export class DaemonServices {
  readonly #runtime = { connected: false, synchronized: false, registrations: 0 };
  #sweeps: SweepLoop | undefined;
  #http: HttpServerHandle | undefined;
  #metrics!: DaemonMetrics;
  /** The interval the sweep loop runs with (0: none). */
  retryIntervalMs = 0;

  private constructor() {}

  /** Starts the HTTP endpoint and the sweep loop; the runtime status follows the stub given to {@link watch}. */
  static async start(o: DaemonServicesOptions): Promise<DaemonServices> {
    const s = new DaemonServices();
    const rt = s.#runtime;
    const runtime = {
      connected: () => rt.connected,
      synchronized: () => rt.synchronized,
      reconnects: () => Math.max(0, rt.registrations - 1),
    };
    s.#metrics = new DaemonMetrics({ plugin: o.plugin, resctrl: o.resctrl, runtime, logger: o.logger });
    s.#http = await startHttpServer({
      listen: DEFAULT_HTTP_LISTEN,
      metrics: s.#metrics,
      readiness: () => readinessOf(runtime, o.plugin),
      logger: o.logger,
    });
    const { ms, source } = effectiveRetryInterval(o.retryIntervalMs);
    s.retryIntervalMs = ms ?? DEFAULT_RETRY_INTERVAL_MS;
    o.logger.info(
      { host: s.#http.host, port: s.#http.port, retryIntervalMs: s.retryIntervalMs, source },
      `scenario world: in-process daemon services (${SERVING_HTTP_MSG}; sweep loop)`,
    );
    s.#sweeps = startSweepLoop(o.plugin, s.retryIntervalMs, o.logger);
    return s;
  }

  /** What the daemon passes to its stub as `onRequest` (the NRI request histogram). */
  readonly onRequest = (method: string, seconds: number): void =>
    this.#metrics.observeNriRequest(method, seconds);

  /** Follows the stub's connection as the daemon does; call before the stub starts. */
  watch(stub: NriStub): void {
    const rt = this.#runtime;
    stub.on("registered", () => {
      rt.connected = true;
      rt.synchronized = false;
      rt.registrations += 1;
    });
    stub.on("closed", () => {
      rt.connected = false;
      rt.synchronized = false;
    });
    stub.on("synchronized", () => (rt.synchronized = true));
  }

  /** GET `path` of the endpoint. */
  get(path: string, timeoutMs?: number): Promise<ProbeAnswer> {
    if (!this.#http) throw new Error("failed to reach the HTTP endpoint: it is stopped");
    return httpGet(this.#http.host, this.#http.port, path, timeoutMs);
  }

  /** GET /metrics, parsed; rejects unless it answers 200. */
  async scrape(timeoutMs?: number): Promise<MetricSample[]> {
    const a = await this.get("/metrics", timeoutMs);
    if (a.status !== 200)
      throw new Error(`failed to scrape /metrics: status ${a.status}: ${a.body.slice(0, 200)}`);
    return parsePrometheusText(a.body);
  }

  /** Stops the sweep loop (waits for a sweep in flight) and the HTTP endpoint. Never rejects. */
  async stop(): Promise<void> {
    await this.#sweeps?.stop().catch(() => undefined);
    this.#sweeps = undefined;
    await this.#http?.close().catch(() => undefined);
    this.#http = undefined;
  }
}
