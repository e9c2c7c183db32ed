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
}

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
  return args;
}
