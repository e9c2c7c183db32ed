import { classifyRetryError } from "../../daemon/classify.js";
import type { RetryOutcome } from "../types.js";

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
