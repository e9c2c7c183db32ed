import type { Logger } from "pino";
import type { ResctrlPluginConfig } from "./config.js";
import type { ResctrlPort } from "./resctrl-port.js";

/**
 * The plugin's one-time startup step: `ensureMounted(autoMount)`, then (if `cleanupOnStart` and
 * mounted) `cleanupAll()`, logging one info line with the report's counters. Emits no pod events.
 * Never rejects: failures are logged and groups will fail (and can be retried) later. Resolves to
 * whether resctrl is usable (mounted at the root), with the reason when it is not.
 */
export async function runStartup(
  resctrl: ResctrlPort,
  cfg: ResctrlPluginConfig,
  log: Logger,
): Promise<ResctrlHealth> {
  const root = resctrl.root;
  let health: ResctrlHealth = { resctrl: "usable" };
  try {
    await resctrl.ensureMounted(cfg.autoMount);
  } catch (err) {
    health = { resctrl: "unusable", reason: err instanceof Error ? err.message : String(err) };
    log.error({ err, root, autoMount: cfg.autoMount }, "failed to ensure resctrl is mounted");
  }
  if (!cfg.cleanupOnStart) return health;
  if (health.resctrl !== "usable") {
    log.warn({ root }, "startup cleanup skipped: resctrl is not mounted");
    return health;
  }
  try {
    const r = await resctrl.cleanupAll({ inControlGroups: cfg.followRdtClasses });
    log.info(
      {
        root,
        prefix: cfg.groupPrefix,
        inControlGroups: cfg.followRdtClasses,
        removed: r.removed,
        removalFailures: r.removalFailures,
        removalRace: r.removalRace,
        nonPrefixGroups: r.nonPrefixGroups,
      },
      "startup cleanup done",
    );
  } catch (err) {
    log.error({ err, root }, "failed to clean up stale groups at startup");
  }
  return health;
}

/** Whether resctrl is usable: "unknown" until the first startup ran. */
export interface ResctrlHealth {
  resctrl: "unknown" | "usable" | "unusable";
  /** Why it is unusable (the mount error). */
  reason?: string;
}
