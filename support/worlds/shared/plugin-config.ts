import { parseLabelSelector, parseNamespaceList } from "../../../src/plugin/pod-filter.js";
import type { ResctrlPluginConfig } from "../../../src/plugin/config.js";
import type { PluginStartOptions } from "../types.js";
import { effectiveFollowRdtClasses } from "./follow-rdt-classes.js";

/**
 * The in-process plugin's configuration for a scenario's start options, parsed the way the
 * daemon parses its flags (`--namespaces`, `--exclude-namespaces`, `--pod-label-selector`: the
 * same src/plugin/pod-filter.ts functions); `mapNamespace` turns a scenario's namespace name into
 * the world's. Unset options are left out (the plugin's defaults apply); `followRdtClasses` goes
 * through {@link effectiveFollowRdtClasses} (its run-wide override). Pure but for that override.
 */
export function inProcessPluginConfig(
  o: PluginStartOptions,
  mapNamespace: (scenarioName: string) => string = (n) => n,
): Partial<ResctrlPluginConfig> {
  const cfg: Partial<ResctrlPluginConfig> = {
    cleanupOnStart: o.cleanupOnStart,
    autoMount: o.autoMount,
    eventQueueCapacity: o.eventQueueCapacity,
  };
  const follow = effectiveFollowRdtClasses(o.followRdtClasses);
  if (follow !== undefined) cfg.followRdtClasses = follow;
  if (o.namespaces?.length || o.excludeNamespaces?.length || o.podLabelSelector !== undefined) {
    cfg.podFilter = {
      namespaces: parseNamespaceList("namespaces", (o.namespaces ?? []).map(mapNamespace).join(",")),
      excludeNamespaces: parseNamespaceList(
        "excludeNamespaces",
        (o.excludeNamespaces ?? []).map(mapNamespace).join(","),
      ),
      podLabelSelector: parseLabelSelector(o.podLabelSelector ?? ""),
    };
  }
  return cfg;
}

/** `later` over `earlier`, field by field, ignoring fields `later` leaves undefined. Pure. */
export function mergeStartOptions(
  earlier: PluginStartOptions,
  later: PluginStartOptions,
): PluginStartOptions {
  const out: Record<string, unknown> = { ...earlier };
  for (const [k, v] of Object.entries(later)) if (v !== undefined) out[k] = v;
  return out as PluginStartOptions;
}
