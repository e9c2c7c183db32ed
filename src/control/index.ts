export {
  ControlApiServer,
  CONTROL_SHUTDOWN_GRACE_MS,
  type ControlApiServerOptions,
  type ControlTarget,
} from "./server.js";
export { ControlClient, DEFAULT_CONNECT_TIMEOUT_MS, type EventWatch } from "./client.js";
export { grpcCodeOf } from "./status.js";
export { fromPodEvent, fromSyncState, toPodEvent } from "./convert.js";
export {
  Kind,
  GroupState,
  ContainerSyncState,
  type PodEvent,
  type PodState,
  type ContainerState,
  type State,
  type RetryReport as ControlRetryReport,
  type RetryAllOnceResponse,
} from "./gen/control/control.js";
