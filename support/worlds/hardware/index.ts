import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { removeDaemonBuild } from "../../daemon/daemon-build.js";
import type { PodWorld } from "../types.js";
import { HardwareWorld } from "./hardware-world.js";
import { nodeHost } from "./host.js";
import { formatMissing, K3S_KUBECONFIG, runPreflight, type PreflightReport } from "./preflight.js";

/** The project checkout (three levels above this file). */
const REPO_ROOT = resolve(fileURLToPath(new URL(".", import.meta.url)), "../../..");

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

let preflight: Promise<PreflightReport> | undefined;

/** Runs the hardware preflight once per process (it mounts resctrl if it can) and caches the report. */
export function hardwarePreflight(
  parameters: Readonly<Record<string, unknown>> = {},
): Promise<PreflightReport> {
  preflight ??= runPreflight({
    host: nodeHost(),
    repoRoot: REPO_ROOT,
    resctrlRoot: str(parameters.resctrlRoot),
    nriSocket: str(parameters.nriSocket),
    kubeconfig: str(parameters.kubeconfig),
    tryMount: true,
  });
  return preflight;
}

/**
 * Why this machine cannot run the hardware world, naming every missing piece (undefined when it
 * can). The world factory (support/worlds/index.ts) calls it before creating a world, so that on
 * a machine without RDT, k3s or NRI every hardware scenario is reported SKIPPED with this reason.
 */
export async function unavailable(
  parameters: Readonly<Record<string, unknown>> = {},
): Promise<string | undefined> {
  const report = await hardwarePreflight(parameters);
  return report.ok ? undefined : formatMissing(report);
}

/**
 * Creates the hardware world. Cheap and synchronous; `init` re-checks the preflight so a scenario
 * never runs on a machine that lacks a piece (it fails with the missing pieces named instead).
 */
export function createWorld(parameters: Readonly<Record<string, unknown>>): PodWorld {
  return new HardwareWorld({
    repoRoot: REPO_ROOT,
    resctrlRoot: str(parameters.resctrlRoot),
    nriSocket: str(parameters.nriSocket),
    kubeconfig:
      str(parameters.kubeconfig) ??
      process.env.KUBECONFIG ??
      (existsSync(K3S_KUBECONFIG) ? K3S_KUBECONFIG : undefined),
    logDir: str(parameters.logDir),
    unavailable: () => unavailable(parameters),
  });
}

/** Removes the daemon build of this run (AfterAll). Never rejects. */
export async function shutdown(): Promise<void> {
  await removeDaemonBuild();
}
