/*
 * The plugin's sweep interval (`--retry-interval`) a scenario runs with. A scenario states it when
 * its behaviour depends on it (`Given the plugin sweeps every 1 second`, `Given the plugin sweeps
 * only when the operator asks`); otherwise the plugin runs with the daemon's default (10 s), as
 * users get it: no world substitutes 0 for an unstated interval.
 *
 * Two run-wide overrides, for diagnosis only (docs/writing-scenarios.md):
 * - SCENARIO_RETRY_INTERVAL_MS=<ms>: the interval of every scenario that states none (e.g. 100, to
 *   find scenarios that silently depend on no sweep running);
 * - SCENARIO_FORCE_RETRY_INTERVAL_MS=<ms>: the interval of EVERY scenario, stated or not (e.g. 0, to
 *   prove that a sweep scenario fails without sweeps).
 */

/** Env var: the interval of scenarios that state none. */
export const DEFAULT_OVERRIDE_ENV = "SCENARIO_RETRY_INTERVAL_MS";
/** Env var: the interval of every scenario. */
export const FORCE_OVERRIDE_ENV = "SCENARIO_FORCE_RETRY_INTERVAL_MS";

/** Where the interval a plugin runs with came from. */
export type RetryIntervalSource =
  "scenario" | "daemon default" | typeof DEFAULT_OVERRIDE_ENV | typeof FORCE_OVERRIDE_ENV;

/**
 * The interval to start the plugin with: `ms` undefined means "the daemon's default" (a daemon
 * world then passes no `--retry-interval`, an in-process world uses the daemon's constant). Pure
 * but for `env`; throws on an override that is not a whole number of ms.
 */
export function effectiveRetryInterval(
  requested: number | undefined,
  env: Readonly<Record<string, string | undefined>> = process.env,
): { ms: number | undefined; source: RetryIntervalSource } {
  const forced = readMs(env, FORCE_OVERRIDE_ENV);
  if (forced !== undefined) return { ms: forced, source: FORCE_OVERRIDE_ENV };
  if (requested !== undefined) return { ms: requested, source: "scenario" };
  const fallback = readMs(env, DEFAULT_OVERRIDE_ENV);
  if (fallback !== undefined) return { ms: fallback, source: DEFAULT_OVERRIDE_ENV };
  return { ms: undefined, source: "daemon default" };
}

/** The `--retry-interval` value for `ms` (`0`, or `<ms>ms`). Pure. */
export function retryIntervalFlag(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new Error(`failed to express a retry interval of ${ms} ms`);
  return ms === 0 ? "0" : `${ms}ms`;
}

function readMs(env: Readonly<Record<string, string | undefined>>, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v.trim() === "") return undefined;
  if (!/^\d+$/.test(v.trim()))
    throw new Error(`failed to read ${name}=${JSON.stringify(v)}: want a whole number of ms`);
  return Number(v.trim());
}
