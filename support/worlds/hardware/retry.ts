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

/** The daemon's trailer naming the plugin error class behind a failed control-API call (src/control/status.ts). */
export const ERROR_CLASS_METADATA = "error-class";

/** The error class the daemon sent with a failed call, if any (grpc-js `ServiceError.metadata`). Pure. */
export function errorClassOf(err: unknown): string | undefined {
  const md = (err as { metadata?: { get?: (key: string) => unknown[] } } | null)?.metadata;
  if (typeof md?.get !== "function") return undefined;
  const v = md.get(ERROR_CLASS_METADATA)[0];
  return typeof v === "string" ? v : Buffer.isBuffer(v) ? v.toString("utf8") : undefined;
}

/**
 * Maps a control-API call's rejection to the scenario vocabulary. Pure.
 * - RESOURCE_EXHAUSTED (CapacityError: no RMID free, none in limbo) → capacity;
 * - UNAVAILABLE sent by the plugin for RmidLimboError (no RMID free, freed ones in limbo: the
 *   kernel's EBUSY) → capacity with `limbo: true`. An UNAVAILABLE without that error class is
 *   grpc-js's own answer for a daemon it cannot reach, so it stays "other" (a dead daemon must
 *   not look like limbo); an RmidLimboError under any other code counts as limbo too;
 * - NOT_FOUND → `notFound`; anything else → other.
 */
export function classifyGrpcError(
  err: unknown,
  notFound: "pod-not-found" | "container-not-found" | "other",
): RetryOutcome {
  const e = err as { code?: number; details?: string; message?: string };
  const message = e?.details || e?.message || String(err);
  const errorClass = errorClassOf(err);
  if (errorClass === "RmidLimboError") return { ok: false, error: "capacity", limbo: true, message };
  if (e?.code === status.RESOURCE_EXHAUSTED) return { ok: false, error: "capacity", message };
  if (e?.code === status.NOT_FOUND) return { ok: false, error: notFound, message };
  return { ok: false, error: "other", message };
}

/** True for a capacity answer caused by RMIDs in limbo (they free themselves). Pure. */
export function isLimbo(r: RetryOutcome): boolean {
  return !r.ok && r.error === "capacity" && r.limbo === true;
}

/**
 * Repeats `attempt` while it answers "capacity, RMIDs in limbo", until it answers anything else or
 * `deadlineMs` passed (then the last limbo answer is returned). For the time a freed RMID may still
 * spend in limbo after the world saw it drain (the world's own drain probe puts its RMID back into
 * limbo for up to one kernel limbo check). Plain exhaustion (ENOSPC) never frees itself: it is
 * returned at once.
 */
export async function retryWhileLimbo(
  attempt: () => Promise<RetryOutcome>,
  deadlineMs: number,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  now: () => number = Date.now,
): Promise<RetryOutcome> {
  const until = now() + deadlineMs;
  for (;;) {
    const r = await attempt();
    if (!isLimbo(r) || now() >= until) return r;
    await sleep(LIMBO_RETRY_INTERVAL_MS);
  }
}
