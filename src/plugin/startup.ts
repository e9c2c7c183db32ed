import type { Logger } from "pino";
import type { ResctrlPluginConfig } from "./config.js";
import type { ResctrlPort } from "./resctrl-port.js";

/**
 * The plugin's one-time startup step: `ensureMounted(autoMount)`, then (if `cleanupOnStart` and
 * mounted) `cleanupAll()`, logging one info line with the report's counters. Emits no pod events.
 * Never rejects: failures are logged and groups will fail (and can be retried) later.
 */
export async function runStartup(resctrl: ResctrlPort, cfg: ResctrlPluginConfig, log: Logger): Promise<void> {
  const root = resctrl.root;
  let mounted = true;
  try {
    await resctrl.ensureMounted(cfg.autoMount);
  } catch (err) {
    mounted = false;
    log.error({ err, root, autoMount: cfg.autoMount }, "failed to ensure resctrl is mounted");
  }
  if (!cfg.cleanupOnStart) return;
  if (!mounted) {
    log.warn({ root }, "startup cleanup skipped: resctrl is not mounted");
    return;
  }
  try {
    const r = await resctrl.cleanupAll();
    log.info(
      {
        root,
        prefix: cfg.groupPrefix,
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
}
