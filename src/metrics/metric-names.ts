/**
 * Metric names of the per-pod monitoring readings.
 *
 * Three readings have fixed names (dashboards rely on them):
 *
 * | resource / event       | metric                                    | type    |
 * |------------------------|-------------------------------------------|---------|
 * | L3 / llc_occupancy     | `nri_resctrl_pod_llc_occupancy_bytes`     | gauge   |
 * | L3 / mbm_total_bytes   | `nri_resctrl_pod_mbm_total_bytes_total`   | counter |
 * | L3 / mbm_local_bytes   | `nri_resctrl_pod_mbm_local_bytes_total`   | counter |
 *
 * Every other (resource R, event E) the kernel offers follows one rule: a gauge named
 * `nri_resctrl_pod_mon_<r>_<e>`, where r and e are R and E lowercased with every character
 * outside `[a-z0-9_]` replaced by `_` (PERF_PKG / core_energy → `nri_resctrl_pod_mon_perf_pkg_core_energy`).
 */

/** How one per-pod reading is exported. */
export interface PodMetricSpec {
  name: string;
  type: "gauge" | "counter";
  help: string;
}

const FIXED: Record<string, PodMetricSpec> = {
  "l3/llc_occupancy": {
    name: "nri_resctrl_pod_llc_occupancy_bytes",
    type: "gauge",
    help: "L3 cache occupancy of the pod's resctrl monitoring group (llc_occupancy), bytes",
  },
  "l3/mbm_total_bytes": {
    name: "nri_resctrl_pod_mbm_total_bytes_total",
    type: "counter",
    help: "Total memory bandwidth used by the pod's resctrl monitoring group (mbm_total_bytes), bytes",
  },
  "l3/mbm_local_bytes": {
    name: "nri_resctrl_pod_mbm_local_bytes_total",
    type: "counter",
    help: "Local memory bandwidth used by the pod's resctrl monitoring group (mbm_local_bytes), bytes",
  },
};

/** Lowercases and replaces every character outside `[a-z0-9_]` by `_`. */
export function sanitizeMetricPart(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9_]/g, "_");
}

/** The metric a (resource, event) reading is exported as. */
export function podMetricSpec(resource: string, event: string): PodMetricSpec {
  const fixed = FIXED[`${resource.toLowerCase()}/${event}`];
  if (fixed) return fixed;
  return {
    name: `nri_resctrl_pod_mon_${sanitizeMetricPart(resource)}_${sanitizeMetricPart(event)}`,
    type: "gauge",
    help: `resctrl monitoring reading ${resource}/${event} of the pod's monitoring group, summed over the resource's domains`,
  };
}
