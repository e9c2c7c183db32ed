import type { Logger } from "pino";
import { DEFAULT_RETRY_INTERVAL_MS } from "../../../src/cli.js";
import {
  startDaemonServices,
  type DaemonServices as SrcDaemonServices,
} from "../../../src/daemon-services.js";
import type { NriStub } from "../../../src/nri/index.js";
import type { ResctrlPlugin } from "../../../src/plugin/plugin.js";
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
 * The daemon's services around an in-process plugin (the mock world, the containerd world's
 * in-process mode): `startDaemonServices` from src/daemon-services.ts — the very wiring
 * `startDaemon` uses — with the scenario's sweep interval (the daemon's default when the scenario
 * states none) and the HTTP endpoint on {@link DEFAULT_HTTP_LISTEN}.
 * Ownership: the loop and the server; {@link stop} ends both (idempotent, never rejects).
 */
export class DaemonServices {
  #services!: SrcDaemonServices;
  /** The interval the sweep loop runs with (0: none). */
  retryIntervalMs = 0;

  private constructor() {}

  /** Starts the HTTP endpoint and the sweep loop; the runtime status follows the stub given to {@link watch}. */
  static async start(o: DaemonServicesOptions): Promise<DaemonServices> {
    const s = new DaemonServices();
    const { ms, source } = effectiveRetryInterval(o.retryIntervalMs);
    s.retryIntervalMs = ms ?? DEFAULT_RETRY_INTERVAL_MS;
    s.#services = await startDaemonServices({
      plugin: o.plugin,
      resctrl: o.resctrl,
      retryIntervalMs: s.retryIntervalMs,
      httpListen: DEFAULT_HTTP_LISTEN,
      logger: o.logger,
    });
    const http = s.#services.http;
    o.logger.info(
      { host: http?.host, port: http?.port, retryIntervalMs: s.retryIntervalMs, source },
      `scenario world: in-process daemon services (${SERVING_HTTP_MSG}; sweep loop)`,
    );
    return s;
  }

  /** What the daemon passes to its stub as `onRequest` (the NRI request histogram). */
  readonly onRequest = (method: string, seconds: number): void => this.#services.onRequest(method, seconds);

  /** Follows the stub's connection as the daemon does; call before the stub starts. */
  watch(stub: NriStub): void {
    this.#services.watch(stub);
  }

  /** GET `path` of the endpoint. */
  get(path: string, timeoutMs?: number): Promise<ProbeAnswer> {
    const http = this.#services.http;
    if (!http || this.#stopped) throw new Error("failed to reach the HTTP endpoint: it is stopped");
    return httpGet(http.host, http.port, path, timeoutMs);
  }

  /** GET /metrics, parsed; rejects unless it answers 200. */
  async scrape(timeoutMs?: number): Promise<MetricSample[]> {
    const a = await this.get("/metrics", timeoutMs);
    if (a.status !== 200)
      throw new Error(`failed to scrape /metrics: status ${a.status}: ${a.body.slice(0, 200)}`);
    return parsePrometheusText(a.body);
  }

  #stopped = false;

  /** Stops the sweep loop (waits for a sweep in flight) and the HTTP endpoint. Never rejects. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#services.stop();
  }
}
