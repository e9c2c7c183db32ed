import type { RetryOutcome } from "./types.js";

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

/**
 * Runs one operator retry of an in-process plugin: a rejection becomes its {@link RetryOutcome}
 * (so this never rejects), and `span` receives the audit log indexes [before, after] of the
 * retry, for "during the last retry" questions. Blocks as long as `run` does.
 */
export async function auditedRetry(
  audit: { mark(): number },
  run: () => Promise<RetryOutcome>,
  span: (range: [number, number]) => void,
): Promise<RetryOutcome> {
  const from = audit.mark();
  try {
    return await run();
  } catch (err) {
    return classifyRetryError(err);
  } finally {
    span([from, audit.mark()]);
  }
}
