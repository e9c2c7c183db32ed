import { status } from "@grpc/grpc-js";
import type { RetryOutcome } from "../worlds/types.js";

/*
 * How a failed operator retry becomes a RetryOutcome, wherever the plugin runs: in-process (the
 * plugin's own error class) or as the daemon behind its control API (the gRPC status and the
 * `error-class` trailer src/control/status.ts attaches). Both give the same outcome for the same
 * plugin error (support/daemon/classify.spec.ts checks it over the real control API).
 */

/** Maps a retry's rejection (a plugin or resctrl error, matched by class name) to the scenario vocabulary. Pure. */
export function classifyRetryError(err: unknown): RetryOutcome {
  const name = err instanceof Error ? err.name : "Error";
  const message = err instanceof Error ? err.message : String(err);
  if (name === "CapacityError") return { ok: false, error: "capacity", message };
  if (name === "RmidLimboError") return { ok: false, error: "capacity", limbo: true, message };
  if (name === "PodNotFoundError") return { ok: false, error: "pod-not-found", message };
  if (name === "ContainerNotFoundError") return { ok: false, error: "container-not-found", message };
  return { ok: false, error: "other", message };
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

/** What a NOT_FOUND answer means for the call that got it. */
export type NotFoundKind = "pod-not-found" | "container-not-found" | "other";

/**
 * Maps a control-API call's rejection to the scenario vocabulary, as {@link classifyRetryError}
 * does in-process. Pure.
 * - error class RmidLimboError (no RMID free, freed ones in limbo: the kernel's EBUSY; the daemon
 *   answers UNAVAILABLE) → capacity with `limbo: true`, whatever the code. An UNAVAILABLE without
 *   that error class is grpc-js's own answer for a daemon it cannot reach, so it stays "other" (a
 *   dead daemon must not look like limbo);
 * - RESOURCE_EXHAUSTED (CapacityError: no RMID free, none in limbo) → capacity;
 * - NOT_FOUND → `notFound`; anything else → other.
 */
export function classifyControlError(err: unknown, notFound: NotFoundKind): RetryOutcome {
  const e = err as { code?: number; details?: string; message?: string } | null | undefined;
  const message = e?.details || e?.message || String(err);
  if (errorClassOf(err) === "RmidLimboError") return { ok: false, error: "capacity", limbo: true, message };
  if (e?.code === status.RESOURCE_EXHAUSTED) return { ok: false, error: "capacity", message };
  if (e?.code === status.NOT_FOUND) return { ok: false, error: notFound, message };
  return { ok: false, error: "other", message };
}

/** Runs a control-API call; a rejection becomes its {@link classifyControlError} outcome (never rejects). */
export async function classifiedCall(
  run: () => Promise<RetryOutcome>,
  notFound: NotFoundKind,
): Promise<RetryOutcome> {
  try {
    return await run();
  } catch (err) {
    return classifyControlError(err, notFound);
  }
}

/** True for a capacity answer caused by RMIDs in limbo (they free themselves). Pure. */
export function isLimbo(r: RetryOutcome): boolean {
  return !r.ok && r.error === "capacity" && r.limbo === true;
}

/** Poll interval while a freed RMID still sits in limbo. */
export const LIMBO_RETRY_INTERVAL_MS = 250;

/**
 * Repeats `attempt` while it answers "capacity, RMIDs in limbo", until it answers anything else or
 * `deadlineMs` passed (then the last limbo answer is returned). For the time a freed RMID may still
 * spend in limbo after a world saw it drain. Plain exhaustion (ENOSPC) never frees itself: it is
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
