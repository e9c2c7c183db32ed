import type { LogRecord } from "../support/worlds/types.js";

/** The counters of a startup cleanup, as the plugin logs them. */
export interface CleanupCounters {
  removed: number;
  removalFailures: number;
  removalRace: number;
  nonPrefixGroups: number;
}

/**
 * Finds the plugin's cleanup log line (a record whose `msg` mentions cleanup and that carries the
 * counters, at the top level or one level down, e.g. `{ report: { removed, … } }`). Throws with
 * the cleanup-related lines when there is none, so the failure shows what was logged instead.
 */
export function cleanupCounters(lines: readonly LogRecord[]): CleanupCounters {
  const candidates = lines.filter((l) => /clean/i.test(String(l.msg ?? "")));
  for (const line of candidates) {
    for (const obj of [line, ...Object.values(line)]) {
      if (obj && typeof obj === "object" && isCounters(obj as Record<string, unknown>)) {
        const c = obj as Record<string, number>;
        return {
          removed: c.removed ?? 0,
          removalFailures: c.removalFailures ?? 0,
          removalRace: c.removalRace ?? 0,
          nonPrefixGroups: c.nonPrefixGroups ?? 0,
        };
      }
    }
  }
  throw new Error(
    `failed to find the cleanup log line; cleanup-related lines: ${JSON.stringify(candidates)}`,
  );
}

function isCounters(o: Record<string, unknown>): boolean {
  return typeof o.removed === "number" && typeof o.nonPrefixGroups === "number";
}
