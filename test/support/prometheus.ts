// A private, throw-away Prometheus server (Debian's `prometheus` binary) and `promtool`, for the
// cross-layer scrape test: finding the binaries, a free port, a temp config and TSDB, the HTTP query
// API, and stopping every process started here (SIGTERM, then SIGKILL after a grace period).
import { spawnSync, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { delimiter, join } from "node:path";
import { execa } from "execa";

/** Set to "1" (CI does) to make a missing prometheus/promtool a failure instead of a skip. */
export const REQUIRE_PROMETHEUS_ENV = "NRI_RESCTRL_REQUIRE_PROMETHEUS";
/**
 * Where the scrape test makes its temp dir (default: the OS temp dir). .ci/run points it at a
 * private dir, so that its cleanup can find a prometheus a killed test run left behind (by the TSDB
 * path) without touching anyone else's.
 */
export const PROMETHEUS_TMPDIR_ENV = "NRI_RESCTRL_PROMETHEUS_TMPDIR";

/** The absolute path of executable `name`: /usr/bin first (Debian's package), then $PATH. */
export function findExecutable(name: string): string | undefined {
  const dirs = ["/usr/bin", ...(process.env.PATH ?? "").split(delimiter).filter(Boolean)];
  for (const d of dirs) {
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The prometheus and promtool binaries, or why they cannot be used. */
export function prometheusTools():
  { ok: true; prometheus: string; promtool: string } | { ok: false; reason: string } {
  const prometheus = findExecutable("prometheus");
  const promtool = findExecutable("promtool");
  const missing = [!prometheus && "prometheus", !promtool && "promtool"].filter(Boolean);
  if (missing.length > 0 || !prometheus || !promtool)
    return {
      ok: false,
      reason: `${missing.join(" and ")} not found in /usr/bin or on PATH (Debian package \`prometheus\`: apt-get install prometheus)`,
    };
  for (const bin of [prometheus, promtool]) {
    const v = spawnSync(bin, ["--version"], { encoding: "utf8", timeout: 10_000 });
    if (v.status !== 0)
      return { ok: false, reason: `${bin} --version failed: ${v.error?.message ?? v.stderr.trim()}` };
  }
  return { ok: true, prometheus, promtool };
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once("error", reject);
    srv.listen({ host: "127.0.0.1", port: 0 }, resolve);
  });
  const addr = srv.address();
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  if (addr === null || typeof addr === "string") throw new Error("freePort: no TCP address");
  return addr.port;
}

/** Polls `fn` until it returns a truthy value (returned) or `ms` elapse (throws, naming `what` and the last error). */
export async function poll<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  ms: number,
  everyMs = 250,
): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) {
      const why = last instanceof Error ? `: last error ${last.message}` : "";
      throw new Error(`timed out after ${ms} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A started process that can be awaited (an execa result with `reject: false`). */
export type Stoppable = PromiseLike<unknown> & Pick<ChildProcess, "exitCode" | "signalCode" | "kill">;

/** Sends SIGTERM, waits up to `graceMs` for the exit, then SIGKILLs and waits again. Idempotent. */
export async function stopProcess(p: Stoppable | undefined, graceMs = 5000): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) {
    await p;
    return;
  }
  p.kill("SIGTERM");
  const exited = await Promise.race([
    p.then(() => true),
    new Promise<false>((r) => setTimeout(() => r(false), graceMs).unref()),
  ]);
  if (!exited) {
    p.kill("SIGKILL");
    await p;
  }
}

/** One element of an instant-vector result of the query API. */
export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}
/** One element of a range-vector result. */
export interface PromSeries {
  metric: Record<string, string>;
  values: Array<[number, string]>;
}

/** A running private Prometheus. */
export interface PrometheusServer {
  /** http://127.0.0.1:<port> */
  url: string;
  process: Stoppable;
  /** `GET /api/v1/query?query=…`; throws unless the API answers status "success". */
  query(q: string): Promise<{ resultType: string; result: unknown[] }>;
  /** Instant vector of `q`. */
  instant(q: string): Promise<PromSample[]>;
  /** The health of the scrape targets (`/api/v1/targets`), one line each, for failure messages. */
  targets(): Promise<string>;
  /** Prometheus's own log so far. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts `prometheus` scraping `target` (HOST:PORT, path /metrics) every `scrapeIntervalS` seconds,
 * with its config and TSDB under `dir`, the web API on a free 127.0.0.1 port; resolves once
 * `/-/ready` answers 200. The caller removes `dir` after {@link PrometheusServer.stop}.
 */
export async function startPrometheus(opts: {
  bin: string;
  dir: string;
  target: string;
  jobName?: string;
  scrapeIntervalS?: number;
  readyTimeoutMs?: number;
}): Promise<PrometheusServer> {
  const every = `${opts.scrapeIntervalS ?? 1}s`;
  mkdirSync(opts.dir, { recursive: true });
  const config = join(opts.dir, "prometheus.yml");
  writeFileSync(
    config,
    [
      "global:",
      `  scrape_interval: ${every}`,
      `  scrape_timeout: ${every}`,
      `  evaluation_interval: ${every}`,
      "scrape_configs:",
      `  - job_name: ${opts.jobName ?? "nri-resctrl-plugin"}`,
      "    metrics_path: /metrics",
      "    static_configs:",
      `      - targets: ["${opts.target}"]`,
      "",
    ].join("\n"),
  );
  // A port taken between freePort() and prometheus's bind makes it exit at once: try a few.
  let lastLog = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const logLines: string[] = [];
    const p = execa(
      opts.bin,
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(opts.dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--log.level=info",
      ],
      { reject: false, all: true, stdin: "ignore", cwd: opts.dir },
    );
    p.all?.on("data", (b: Buffer) => logLines.push(b.toString()));
    const started = await Promise.race([
      poll(
        "prometheus /-/ready",
        async () => (await fetch(`${url}/-/ready`)).status === 200,
        opts.readyTimeoutMs ?? 30_000,
        100,
      ).then(
        () => "ready" as const,
        (e: Error) => e,
      ),
      p.then(() => "exited" as const),
    ]);
    if (started === "ready") {
      const query = async (q: string): Promise<{ resultType: string; result: unknown[] }> => {
        const r = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(q)}`);
        const body = (await r.json()) as {
          status: string;
          error?: string;
          data?: { resultType: string; result: unknown[] };
        };
        if (body.status !== "success" || !body.data)
          throw new Error(`query ${q}: ${r.status} ${body.error ?? JSON.stringify(body)}`);
        return body.data;
      };
      return {
        url,
        process: p,
        query,
        instant: async (q) => {
          const d = await query(q);
          if (d.resultType !== "vector") throw new Error(`query ${q}: resultType ${d.resultType}`);
          return d.result as PromSample[];
        },
        targets: async () => {
          const r = (await (await fetch(`${url}/api/v1/targets`)).json()) as {
            data: {
              activeTargets: Array<{ scrapeUrl: string; health: string; lastError: string }>;
            };
          };
          return r.data.activeTargets
            .map((t) => `${t.scrapeUrl} ${t.health}${t.lastError ? ` (${t.lastError})` : ""}`)
            .join("\n");
        },
        log: () => logLines.join(""),
        stop: () => stopProcess(p),
      };
    }
    await stopProcess(p);
    lastLog = logLines.join("");
    if (started !== "exited") throw new Error(`${started.message}\nprometheus log:\n${lastLog}`);
  }
  throw new Error(`prometheus exited at start three times; last log:\n${lastLog}`);
}

/** `promtool check metrics` on `text` (stdin): its exit status and everything it printed. */
export function promtoolCheckMetrics(
  promtool: string,
  text: string,
): { status: number | null; output: string } {
  const r = spawnSync(promtool, ["check", "metrics"], { input: text, encoding: "utf8", timeout: 30_000 });
  return { status: r.status, output: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? r.error.message : ""}` };
}
