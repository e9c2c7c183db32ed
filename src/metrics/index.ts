export { DaemonMetrics, NRI_REQUEST_BUCKETS, type DaemonMetricsOptions } from "./daemon-metrics.js";
export {
  startHttpServer,
  parseListenAddress,
  type HttpServerHandle,
  type HttpServerOptions,
  type HttpTimeouts,
  type ListenAddress,
} from "./http-server.js";
export { readinessOf, type Readiness } from "./readiness.js";
export { podMetricSpec, sanitizeMetricPart, type PodMetricSpec } from "./metric-names.js";
export type * from "./types.js";
