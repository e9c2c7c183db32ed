import { status } from "@grpc/grpc-js";
import type { RetryOutcome } from "../types.js";

/** Poll interval while a freed RMID still sits in limbo. */
export const LIMBO_RETRY_INTERVAL_MS = 250;

/** The group prefixes of one scenario on the real host (teardown.sh knows the `hw?_` families). */
export interface HardwarePrefixes {
  /** Kubernetes-safe run id (labels, pod names). */
  run: string;
  /** The daemon's `--group-prefix`. */
  plugin: string;
  /** RMID helper groups (must differ from `plugin`, or startup cleanup would remove them). */
  filler: string;
  /** Seeded groups owned by "someone else". */
  foreign: string;
  all: string[];
}

/** Derives the prefixes from the scenario's unique group prefix (`[A-Za-z0-9_-]`, ends in `_`). Pure. */
export function hardwarePrefixes(groupPrefix: string): HardwarePrefixes {
  if (!/^[A-Za-z0-9_-]+_$/.test(groupPrefix))
    throw new Error(`failed to derive hardware prefixes: unsafe group prefix ${JSON.stringify(groupPrefix)}`);
  const run = `hw-${groupPrefix
    .slice(0, -1)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, "")}`;
  const plugin = `hwp_${groupPrefix}`;
  const filler = `hwf_${groupPrefix}`;
  const foreign = `hwo_${groupPrefix}`;
  return { run, plugin, filler, foreign, all: [plugin, filler, foreign] };
}

/**
 * Maps a control-API call's rejection to the scenario vocabulary: RESOURCE_EXHAUSTED → capacity,
 * NOT_FOUND → `notFound`, anything else (including a dead daemon) → other. Pure.
 */
export function classifyGrpcError(
  err: unknown,
  notFound: "pod-not-found" | "container-not-found" | "other",
): RetryOutcome {
  const e = err as { code?: number; details?: string; message?: string };
  const message = e?.details || e?.message || String(err);
  if (e?.code === status.RESOURCE_EXHAUSTED) return { ok: false, error: "capacity", message };
  if (e?.code === status.NOT_FOUND) return { ok: false, error: notFound, message };
  return { ok: false, error: "other", message };
}

/**
 * Repeats `attempt` while it answers "capacity", until it answers anything else or `deadlineMs`
 * passed (then the last capacity answer is returned). For the time a freed RMID spends in limbo.
 */
export async function retryWhileCapacity(
  attempt: () => Promise<RetryOutcome>,
  deadlineMs: number,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  now: () => number = Date.now,
): Promise<RetryOutcome> {
  const until = now() + deadlineMs;
  for (;;) {
    const r = await attempt();
    if (r.ok || r.error !== "capacity" || now() >= until) return r;
    await sleep(LIMBO_RETRY_INTERVAL_MS);
  }
}
