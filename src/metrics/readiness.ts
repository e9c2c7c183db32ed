import type { MetricsPluginView, RuntimeStatusView } from "./types.js";

/** Why the daemon is (not) ready, as `/readyz` answers it. */
export interface Readiness {
  ready: boolean;
  reason: string;
}

/**
 * Ready once the daemon is connected to the runtime's NRI socket, has received the runtime's
 * Synchronize, and has found resctrl usable. The first failing condition, in that order, is the reason.
 */
export function readinessOf(
  runtime: RuntimeStatusView,
  plugin: Pick<MetricsPluginView, "health">,
): Readiness {
  if (!runtime.connected()) return { ready: false, reason: "not connected to the runtime's NRI socket" };
  if (!runtime.synchronized())
    return { ready: false, reason: "registered, waiting for the runtime's Synchronize" };
  const h = plugin.health();
  if (h.resctrl === "unusable") {
    return { ready: false, reason: `resctrl unusable: ${h.reason ?? "no reason given"}` };
  }
  if (h.resctrl === "unknown") return { ready: false, reason: "resctrl not checked yet" };
  return { ready: true, reason: "ready" };
}
