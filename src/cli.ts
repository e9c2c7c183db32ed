#!/usr/bin/env node
/**
 * `nri-resctrl-plugin`: the daemon. Connects to the runtime's NRI socket, runs `ResctrlPlugin`
 * and serves the control API. Every flag has an environment variable (flag wins); see `--help`.
 *
 * With reconnect (the default) it waits for a runtime that is not up yet (the plugin often starts
 * before containerd), with backoff and one info line per attempt, and reconnects after the runtime
 * goes away; it runs until SIGTERM/SIGINT, with or without `--control-socket`.
 */
import { existsSync, realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { pino, type Logger } from "pino";
import type { ControlApiServer } from "./control/index.js";
import { DEFAULT_NRI_SOCKET, NRI_PLUGIN_SOCKET_ENV, NriStub } from "./nri/index.js";
import { DEFAULT_BACKOFF_INITIAL_MS, DEFAULT_BACKOFF_MAX_MS, formatDelay } from "./nri/backoff.js";
import { RuntimeUnavailableError } from "./nri/stub-socket.js";
import { DEFAULT_CGROUP_ROOT } from "./plugin/cgroup-path.js";
import { DEFAULT_PLUGIN_CONFIG, validateConfig, type ResctrlPluginConfig } from "./plugin/config.js";
import { ResctrlPlugin } from "./plugin/plugin.js";
import { DEFAULT_PROC_ROOT, RealCgroupPidSource } from "./plugin/real-pid-source.js";
import { DEFAULT_RESCTRL_ROOT, Resctrl } from "./resctrl/index.js";
import { MemFs } from "./memfs/index.js";
import { parseListenAddress } from "./metrics/http-server.js";
import type { DaemonMetrics } from "./metrics/daemon-metrics.js";
import type { HttpServerHandle } from "./metrics/http-server.js";
import { startDaemonServices, type DaemonServices } from "./daemon-services.js";
import { parseLabelSelector, parseNamespaceList } from "./plugin/pod-filter.js";
import type { SweepLoop } from "./plugin/sweep-loop.js";

/** Default NRI plugin name and index (registered as `<idx>-<name>`). */
export const DEFAULT_PLUGIN_NAME = "resctrl";
export const DEFAULT_PLUGIN_IDX = "10";
/** RMIDs of the in-memory resctrl model (`--resctrl-provider memory`). */
export const DEFAULT_MEMORY_RMIDS = 64;
/** Limbo of a freed RMID of the in-memory resctrl model, in ms (`--memory-rmid-limbo-ms`): none. */
export const DEFAULT_MEMORY_RMID_LIMBO_MS = 0;
/** Default `--retry-interval`: the upstream collector's 10 s. */
export const DEFAULT_RETRY_INTERVAL_MS = 10_000;

/** Resolved daemon settings. */
export interface CliOptions {
  help: boolean;
  /** undefined → the stub's default (fd from NRI_PLUGIN_SOCKET, else DEFAULT_NRI_SOCKET). */
  nriSocket: string | undefined;
  pluginName: string;
  pluginIdx: string;
  resctrlRoot: string;
  provider: "real" | "memory";
  memoryRmids: number;
  /** How long a freed RMID of the memory provider stays in limbo (ms); 0 = free at once. */
  memoryRmidLimboMs: number;
  controlSocket: string | undefined;
  cgroupRoot: string;
  procRoot: string;
  reconnect: boolean;
  logLevel: string;
  /** ms between sweeps (retry + orphan clean-up); 0 = none (caller-driven, via the control API). */
  retryIntervalMs: number;
  /** `HOST:PORT` of /metrics, /healthz, /readyz; undefined = off. */
  httpListen: string | undefined;
  /** `node` label on every metric (downward API `NODE_NAME`). */
  nodeName: string | undefined;
  plugin: ResctrlPluginConfig;
}

/** flag name → [env var, help text, default shown]. Booleans also accept `--no-<flag>`. */
const FLAGS = {
  "nri-socket": [
    "NRI_RESCTRL_NRI_SOCKET",
    "runtime NRI socket",
    `${DEFAULT_NRI_SOCKET}; fd from ${NRI_PLUGIN_SOCKET_ENV} when set`,
  ],
  "plugin-name": ["NRI_RESCTRL_PLUGIN_NAME", "NRI plugin name", DEFAULT_PLUGIN_NAME],
  "plugin-idx": ["NRI_RESCTRL_PLUGIN_IDX", "NRI plugin index, two digits", DEFAULT_PLUGIN_IDX],
  "group-prefix": [
    "NRI_RESCTRL_GROUP_PREFIX",
    "prefix of our resctrl groups",
    DEFAULT_PLUGIN_CONFIG.groupPrefix,
  ],
  "cleanup-on-start": [
    "NRI_RESCTRL_CLEANUP_ON_START",
    "remove stale groups with our prefix once at startup",
    "true",
  ],
  "auto-mount": ["NRI_RESCTRL_AUTO_MOUNT", "mount resctrl at the root if needed", "true"],
  "resctrl-root": ["NRI_RESCTRL_RESCTRL_ROOT", "resctrl mount point", DEFAULT_RESCTRL_ROOT],
  "resctrl-provider": [
    "NRI_RESCTRL_RESCTRL_PROVIDER",
    "real | memory (in-memory kernel model with synthetic, deterministic mon_data readings; for tests)",
    "real",
  ],
  "memory-rmids": ["NRI_RESCTRL_MEMORY_RMIDS", "RMIDs of the memory provider", String(DEFAULT_MEMORY_RMIDS)],
  "memory-rmid-limbo-ms": [
    "NRI_RESCTRL_MEMORY_RMID_LIMBO_MS",
    "ms a freed RMID of the memory provider stays in limbo (mkdir: EBUSY while none is free); 0 = free at once",
    String(DEFAULT_MEMORY_RMID_LIMBO_MS),
  ],
  "control-socket": [
    "NRI_RESCTRL_CONTROL_SOCKET",
    "unix socket of the gRPC control API (mode 0600)",
    "none (disabled)",
  ],
  "max-reconcile-passes": [
    "NRI_RESCTRL_MAX_RECONCILE_PASSES",
    "reconcile passes per container, >= 1",
    String(DEFAULT_PLUGIN_CONFIG.maxReconcilePasses),
  ],
  "retry-interval": [
    "NRI_RESCTRL_RETRY_INTERVAL",
    "sweep cadence (retry Failed pods and Partial containers, remove orphan pods, count vanished containers), e.g. 10s, 500ms, 1m; 0 = none",
    "10s",
  ],
  "http-listen": [
    "NRI_RESCTRL_HTTP_LISTEN",
    "HOST:PORT serving GET /metrics (Prometheus), /healthz and /readyz",
    "none (disabled)",
  ],
  "node-name": ["NODE_NAME", "node label on every metric (set from the downward API)", "none"],
  namespaces: [
    "NRI_RESCTRL_NAMESPACES",
    "monitor only pods in these namespaces (comma-separated)",
    "every namespace",
  ],
  "exclude-namespaces": [
    "NRI_RESCTRL_EXCLUDE_NAMESPACES",
    "never monitor pods in these namespaces (comma-separated; wins over --namespaces)",
    "none",
  ],
  "pod-label-selector": [
    "NRI_RESCTRL_POD_LABEL_SELECTOR",
    "monitor only pods whose labels match (k=v, k!=v, k, !k; comma = and)",
    "every pod",
  ],
  "follow-rdt-classes": [
    "NRI_RESCTRL_FOLLOW_RDT_CLASSES",
    "monitor each task inside the RDT control group (class) it lives in: one group per pod and class, <class>/mon_groups/<prefix><uid>; startup cleanup also inside classes (off: tasks in a class are reported, not monitored)",
    "false",
  ],
  "cgroup-root": ["NRI_RESCTRL_CGROUP_ROOT", "cgroup filesystem root", DEFAULT_CGROUP_ROOT],
  "proc-root": ["NRI_RESCTRL_PROC_ROOT", "procfs root", DEFAULT_PROC_ROOT],
  reconnect: [
    "NRI_RESCTRL_RECONNECT",
    "wait for the runtime's socket and reconnect after it goes away, with backoff (off: exit 1 instead)",
    "true",
  ],
  "log-level": ["NRI_RESCTRL_LOG_LEVEL", "trace|debug|info|warn|error|fatal|silent", "info"],
} as const;
type Flag = keyof typeof FLAGS;
const BOOLEAN_FLAGS: readonly Flag[] = ["cleanup-on-start", "auto-mount", "reconnect", "follow-rdt-classes"];

/** The `--help` text. */
export function usage(): string {
  const lines = [
    "Usage: nri-resctrl-plugin [options]",
    "",
    "Options (each also from the environment variable shown):",
  ];
  for (const [flag, [env, help, def]] of Object.entries(FLAGS)) {
    const name = BOOLEAN_FLAGS.includes(flag as Flag) ? `--[no-]${flag}` : `--${flag} VALUE`;
    lines.push(`  ${name.padEnd(32)} ${help} (default: ${def}) [${env}]`);
  }
  lines.push(
    `  ${"--help".padEnd(32)} show this help`,
    "",
    "While nothing listens on the NRI socket (the runtime is not up yet, or restarts), the daemon",
    `waits and retries with backoff (${formatDelay(DEFAULT_BACKOFF_INITIAL_MS)} doubling up to ${formatDelay(DEFAULT_BACKOFF_MAX_MS)}), logging once per attempt`,
    '"waiting for the runtime at <socket>, next attempt in <delay>", and registers as soon as the',
    "runtime listens; with --no-reconnect it exits 1 instead.",
    "SIGTERM/SIGINT: clean shutdown (exit 0), also while waiting. Logs: JSON lines on stdout.",
  );
  return lines.join("\n");
}

/** Parses argv (without node and script) and env. Throws an Error with a clear message on bad input. Pure. */
export function parseCliOptions(argv: string[], env: Record<string, string | undefined>): CliOptions {
  const options: Record<string, { type: "string" | "boolean" }> = { help: { type: "boolean" } };
  for (const f of Object.keys(FLAGS) as Flag[]) {
    if (BOOLEAN_FLAGS.includes(f)) {
      options[f] = { type: "boolean" };
      options[`no-${f}`] = { type: "boolean" };
    } else options[f] = { type: "string" };
  }
  const { values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  const str = (f: Flag): string | undefined =>
    (values[f] as string | undefined) ?? nonEmpty(env[FLAGS[f][0]]);
  const bool = (f: Flag, def: boolean): boolean => {
    if (values[f] === true) return true;
    if (values[`no-${f}`] === true) return false;
    const e = nonEmpty(env[FLAGS[f][0]]);
    if (e === undefined) return def;
    if (/^(1|true|yes|on)$/i.test(e)) return true;
    if (/^(0|false|no|off)$/i.test(e)) return false;
    throw new Error(`failed to parse ${FLAGS[f][0]}=${JSON.stringify(e)}: want true or false`);
  };
  const int = (f: Flag): number | undefined => {
    const s = str(f);
    if (s === undefined) return undefined;
    if (!/^\d+$/.test(s))
      throw new Error(`failed to parse --${f} ${JSON.stringify(s)}: want a non-negative integer`);
    return Number(s);
  };
  const provider = str("resctrl-provider") ?? "real";
  if (provider !== "real" && provider !== "memory") {
    throw new Error(`failed to parse --resctrl-provider ${JSON.stringify(provider)}: want real or memory`);
  }
  const logLevel = str("log-level") ?? "info";
  if (!["trace", "debug", "info", "warn", "error", "fatal", "silent"].includes(logLevel)) {
    throw new Error(`failed to parse --log-level ${JSON.stringify(logLevel)}`);
  }
  const idx = str("plugin-idx") ?? DEFAULT_PLUGIN_IDX;
  if (!/^\d{2}$/.test(idx))
    throw new Error(`failed to parse --plugin-idx ${JSON.stringify(idx)}: want two digits`);
  const memoryRmids = int("memory-rmids") ?? DEFAULT_MEMORY_RMIDS;
  if (memoryRmids < 2)
    throw new Error(`failed to parse --memory-rmids ${memoryRmids}: want >= 2 (root uses one)`);
  const retry = str("retry-interval");
  const retryIntervalMs =
    retry === undefined ? DEFAULT_RETRY_INTERVAL_MS : parseDuration("retry-interval", retry);
  const httpListen = str("http-listen");
  if (httpListen !== undefined) parseListenAddress(httpListen); // throws a clear message
  const memoryRmidLimboMs = int("memory-rmid-limbo-ms") ?? DEFAULT_MEMORY_RMID_LIMBO_MS;
  if (!Number.isSafeInteger(memoryRmidLimboMs))
    throw new Error(`failed to parse --memory-rmid-limbo-ms ${memoryRmidLimboMs}: too large`);
  return {
    help: values.help === true,
    nriSocket: str("nri-socket"),
    pluginName: str("plugin-name") ?? DEFAULT_PLUGIN_NAME,
    pluginIdx: idx,
    resctrlRoot: str("resctrl-root") ?? DEFAULT_RESCTRL_ROOT,
    provider,
    memoryRmids,
    memoryRmidLimboMs,
    controlSocket: str("control-socket"),
    cgroupRoot: str("cgroup-root") ?? DEFAULT_CGROUP_ROOT,
    procRoot: str("proc-root") ?? DEFAULT_PROC_ROOT,
    reconnect: bool("reconnect", true),
    logLevel,
    retryIntervalMs,
    httpListen,
    nodeName: str("node-name"),
    plugin: validateConfig({
      groupPrefix: str("group-prefix"),
      cleanupOnStart: bool("cleanup-on-start", DEFAULT_PLUGIN_CONFIG.cleanupOnStart),
      autoMount: bool("auto-mount", DEFAULT_PLUGIN_CONFIG.autoMount),
      maxReconcilePasses: int("max-reconcile-passes"),
      followRdtClasses: bool("follow-rdt-classes", false),
      podFilter: {
        namespaces: parseNamespaceList("namespaces", str("namespaces") ?? ""),
        excludeNamespaces: parseNamespaceList("excludeNamespaces", str("exclude-namespaces") ?? ""),
        podLabelSelector: parseLabelSelector(str("pod-label-selector") ?? ""),
      },
    }),
  };
}

/**
 * Parses a duration: `0`, or a number with a unit `ms`, `s`, `m` or `h` (`10s`, `1.5s`, `500ms`,
 * `2m`). At least 100 ms (a tighter loop would only burn CPU), at most 24 h. Throws a clear Error.
 */
export function parseDuration(flag: string, s: string): number {
  if (s === "0") return 0;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(s.trim());
  if (!m)
    throw new Error(
      `failed to parse --${flag} ${JSON.stringify(s)}: want 0 or a duration like 10s, 500ms, 1m`,
    );
  const ms = Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
  if (ms < 100 || ms > 86_400_000)
    throw new Error(`failed to parse --${flag} ${JSON.stringify(s)}: want 0 or between 100ms and 24h`);
  return Math.round(ms);
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === "" ? undefined : s;
}

/** A running daemon; `stop()` shuts it down cleanly (idempotent). */
export interface Daemon {
  plugin: ResctrlPlugin;
  stub: NriStub;
  control: ControlApiServer | undefined;
  /** The metrics/health server (`--http-listen`), with the port it really bound. */
  http: HttpServerHandle | undefined;
  /** The metrics (prom-client), kept only with `--http-listen`. */
  metrics: DaemonMetrics | undefined;
  /** The sweep cadence (`--retry-interval`); ticks 0 when disabled. */
  sweeps: SweepLoop;
  /**
   * Settles when the first registration succeeded, or failed (without reconnect; a
   * RuntimeUnavailableError when nothing listened on the socket) or was stopped.
   */
  registered: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Wires resctrl, PID source, plugin, control API and NRI stub, and starts them. Resolves once the
 * control API listens; registration with the runtime continues in the background (`registered`).
 * With `reconnect` the stub waits for an absent runtime and reconnects after a drop, retrying with
 * backoff, and a pending retry holds the process open (so the daemon keeps waiting even without a
 * control API); `stop()` releases it. Rejects if a component cannot be built or bound.
 */
export async function startDaemon(o: CliOptions, log: Logger): Promise<Daemon> {
  const procRoot = o.procRoot;
  const resctrl =
    o.provider === "memory"
      ? Resctrl.withProvider(
          MemFs.withResctrl({
            root: o.resctrlRoot,
            rmidCapacity: o.memoryRmids,
            rmidLimboMs: o.memoryRmidLimboMs,
            pidExists: (pid) => existsSync(`${procRoot}/${pid}`),
            audit: false, // long-running: no call log
            syntheticMonData: true, // deterministic readings for /metrics (docs/plugin.md)
          }),
          { root: o.resctrlRoot, groupPrefix: o.plugin.groupPrefix, logger: log },
        )
      : Resctrl.real({ root: o.resctrlRoot, groupPrefix: o.plugin.groupPrefix, logger: log });
  const pids = new RealCgroupPidSource({ cgroupRoot: o.cgroupRoot, procRoot, logger: log });
  const plugin = ResctrlPlugin.withPidSource(o.plugin, resctrl, pids, { logger: log });
  const control = o.controlSocket
    ? // grpc-js is loaded only when the control API is on (it costs ~13 MB of RSS).
      await (
        await import("./control/index.js")
      ).ControlApiServer.listen({
        socketPath: o.controlSocket,
        plugin,
        logger: log,
      })
    : undefined;
  let services: DaemonServices;
  try {
    services = await startDaemonServices({
      plugin,
      resctrl,
      retryIntervalMs: o.retryIntervalMs,
      httpListen: o.httpListen,
      nodeName: o.nodeName,
      logger: log,
    });
  } catch (err) {
    await control?.close();
    throw err;
  }
  const stub = new NriStub(plugin, {
    onRequest: services.onRequest,
    name: o.pluginName,
    idx: o.pluginIdx,
    socketPath: o.nriSocket,
    logger: log,
    reconnect: o.reconnect ? { keepAlive: true } : false,
  });
  services.watch(stub);
  stub.on("error", (err: unknown) => log.warn({ err }, "nri stub error"));
  stub.on("registered", () =>
    log.info(
      {
        plugin: `${o.pluginIdx}-${o.pluginName}`,
        provider: o.provider,
        root: o.resctrlRoot,
        control: o.controlSocket,
      },
      "registered with runtime",
    ),
  );
  stub.on("closed", (reason?: Error) => log.warn({ reason: reason?.message }, "nri connection closed"));
  // "reconnecting"/"waiting": the stub logs one line per attempt itself.
  stub.on("synchronized", (s: { pods: unknown[]; containers: unknown[] }) =>
    log.info({ pods: s.pods.length, containers: s.containers.length }, "runtime synchronized"),
  );
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await services.sweeps.stop();
      await stub.stop().catch((err: unknown) => log.warn({ err }, "failed to stop nri stub"));
      await services.stop();
      await control?.close();
      await plugin.close();
    })());
  return {
    plugin,
    stub,
    control,
    http: services.http,
    metrics: services.metrics,
    sweeps: services.sweeps,
    registered: stub.start(),
    stop,
  };
}

/**
 * Entry point: parse, start, run until SIGTERM/SIGINT (exit 0). With reconnect (default) the daemon
 * waits as long as it takes for the runtime's socket and outlives runtime restarts. Without it, a
 * failed first registration (one fatal line, e.g. nothing listens on the socket) or a closed runtime
 * connection exits 1. A start failure exits 1, bad options exit 2. Signals are handled from the
 * moment the control API listens (or would), also while still waiting for the runtime.
 */
export async function main(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  let o: CliOptions;
  try {
    o = parseCliOptions(argv, env);
  } catch (err) {
    console.error(`nri-resctrl-plugin: ${err instanceof Error ? err.message : String(err)}\n\n${usage()}`);
    return 2;
  }
  if (o.help) {
    console.log(usage());
    return 0;
  }
  const log = pino({ level: o.logLevel, base: { name: "nri-resctrl-plugin", pid: process.pid } });
  process.on("unhandledRejection", (err) => log.error({ err }, "unhandled rejection (ignored)"));
  let daemon: Daemon;
  try {
    daemon = await startDaemon(o, log);
  } catch (err) {
    log.fatal({ err }, "failed to start");
    return 1;
  }
  return new Promise<number>((resolve) => {
    let finishing = false;
    const finish = (code: number, why: string): void => {
      if (finishing) return;
      finishing = true;
      log.info({ why }, "shutting down");
      void daemon
        .stop()
        .catch((err: unknown) => log.error({ err }, "failed to stop cleanly"))
        .then(() => resolve(code));
    };
    process.once("SIGTERM", () => finish(0, "SIGTERM"));
    process.once("SIGINT", () => finish(0, "SIGINT"));
    daemon.registered.catch((err: unknown) => {
      if (finishing) return;
      if (err instanceof RuntimeUnavailableError) {
        log.fatal(
          { socket: err.socket, code: err.code },
          `failed to register with the runtime: nothing listens at ${err.socket} (${err.code}) and reconnect is disabled`,
        );
      } else log.fatal({ err }, "failed to register with the runtime");
      finish(1, "registration failed");
    });
    if (!o.reconnect)
      daemon.stub.once("closed", () => finish(1, "runtime connection closed (reconnect disabled)"));
  });
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  void main(process.argv.slice(2), process.env).then((code) => process.exit(code));
}
