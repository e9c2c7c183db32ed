import { retryIntervalFlag } from "../worlds/shared/retry-interval.js";

/**
 * How one `nri-resctrl-plugin` daemon of a scenario is started. Every argument field maps 1:1 to a
 * CLI flag (src/cli.ts); unset optional ones keep the daemon's defaults.
 */
export interface DaemonOptions {
  nriSocket: string;
  pluginName: string;
  pluginIdx: string;
  groupPrefix: string;
  resctrlRoot: string;
  controlSocket: string;
  /** `real` (default: the kernel's resctrl) or `memory` (the daemon's in-memory model, for VMs without RDT). */
  provider?: "real" | "memory";
  /** RMIDs of the memory provider (`--memory-rmids`). */
  memoryRmids?: number;
  cleanupOnStart?: boolean;
  autoMount?: boolean;
  /** Default debug: a failing scenario's report shows every decision. */
  logLevel?: string;
  /** The daemon's working directory (default: this checkout). */
  repoRoot?: string;
  /** Raw daemon output is appended here as well (kept for the CI artifact). */
  logFile?: string;
  /** `--retry-interval` in ms (0: no sweeps); unset: the daemon's default (10 s). */
  retryIntervalMs?: number;
  /** `--http-listen HOST:PORT` (port 0: ephemeral). {@link PluginDaemon.start} defaults it to {@link DEFAULT_HTTP_LISTEN}. */
  httpListen?: string;
  /** `--namespaces` (comma-joined). */
  namespaces?: readonly string[];
  /** `--exclude-namespaces` (comma-joined). */
  excludeNamespaces?: readonly string[];
  /** `--pod-label-selector`. */
  podLabelSelector?: string;
  /** `--node-name` (the `node` label of every metric). */
  nodeName?: string;
  /** `--follow-rdt-classes` / `--no-follow-rdt-classes`. */
  followRdtClasses?: boolean;
}

/** Where every daemon of the scenario worlds serves /metrics, /healthz and /readyz: loopback, an ephemeral port (read from its log). */
export const DEFAULT_HTTP_LISTEN = "127.0.0.1:0";

/** The daemon's argv (after the entry point), one token per flag and per value. Pure. */
export function daemonArgs(o: DaemonOptions): string[] {
  const args = [
    "--nri-socket",
    o.nriSocket,
    "--plugin-name",
    o.pluginName,
    "--plugin-idx",
    o.pluginIdx,
    "--group-prefix",
    o.groupPrefix,
    "--resctrl-root",
    o.resctrlRoot,
    "--resctrl-provider",
    o.provider ?? "real",
    "--control-socket",
    o.controlSocket,
    "--log-level",
    o.logLevel ?? "debug",
  ];
  if (o.memoryRmids !== undefined) args.push("--memory-rmids", String(o.memoryRmids));
  if (o.cleanupOnStart !== undefined)
    args.push(o.cleanupOnStart ? "--cleanup-on-start" : "--no-cleanup-on-start");
  if (o.autoMount !== undefined) args.push(o.autoMount ? "--auto-mount" : "--no-auto-mount");
  if (o.retryIntervalMs !== undefined) args.push("--retry-interval", retryIntervalFlag(o.retryIntervalMs));
  if (o.httpListen !== undefined) args.push("--http-listen", o.httpListen);
  if (o.namespaces?.length) args.push("--namespaces", o.namespaces.join(","));
  if (o.excludeNamespaces?.length) args.push("--exclude-namespaces", o.excludeNamespaces.join(","));
  if (o.podLabelSelector !== undefined) args.push("--pod-label-selector", o.podLabelSelector);
  if (o.nodeName !== undefined) args.push("--node-name", o.nodeName);
  if (o.followRdtClasses !== undefined)
    args.push(o.followRdtClasses ? "--follow-rdt-classes" : "--no-follow-rdt-classes");
  return args;
}
