/*
 * Whether the plugin a scenario starts follows RDT classes (`--follow-rdt-classes`, plugin config
 * `followRdtClasses`). A scenario states it when its behaviour depends on it (`Given the plugin
 * follows RDT classes`, `Given the plugin does not follow RDT classes`); otherwise the plugin's
 * default applies (off), as users get it.
 *
 * One run-wide override, for diagnosis only (docs/writing-scenarios.md):
 * SCENARIO_FORCE_FOLLOW_RDT_CLASSES=on|off sets it for EVERY scenario, stated or not (e.g. `off`
 * proves that a scenario about followed classes fails without the flag; `on` that a scenario about
 * the default fails with it).
 */

/** Env var: the setting of every scenario. */
export const FORCE_FOLLOW_RDT_CLASSES_ENV = "SCENARIO_FORCE_FOLLOW_RDT_CLASSES";

/**
 * The setting to start the plugin with: undefined means "the plugin's default" (a daemon world then
 * passes no flag, or its explicit default). Pure but for `env`; throws on an override that is not
 * `on` or `off`.
 */
export function effectiveFollowRdtClasses(
  requested: boolean | undefined,
  env: Readonly<Record<string, string | undefined>> = process.env,
): boolean | undefined {
  const v = env[FORCE_FOLLOW_RDT_CLASSES_ENV]?.trim();
  if (v === undefined || v === "") return requested;
  if (v === "on") return true;
  if (v === "off") return false;
  throw new Error(`failed to read ${FORCE_FOLLOW_RDT_CLASSES_ENV}=${JSON.stringify(v)}: want on or off`);
}
