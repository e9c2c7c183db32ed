/**
 * Plain, runtime-independent views of what NRI tells a plugin. The stub converts the generated
 * protobuf messages (src/nri/gen/) into these, so `src/plugin` never imports wire or generated code.
 */

/** NRI lifecycle events. The numeric values are the wire values of `nri.pkg.api.v1alpha1.Event`. */
export enum NriEvent {
  RUN_POD_SANDBOX = 1,
  STOP_POD_SANDBOX = 2,
  REMOVE_POD_SANDBOX = 3,
  CREATE_CONTAINER = 4,
  POST_CREATE_CONTAINER = 5,
  START_CONTAINER = 6,
  POST_START_CONTAINER = 7,
  UPDATE_CONTAINER = 8,
  POST_UPDATE_CONTAINER = 9,
  STOP_CONTAINER = 10,
  REMOVE_CONTAINER = 11,
}

/** Events valid on every supported runtime (NRI v0.6.1 … HEAD): bits 0..10. */
export const VALID_EVENTS_MASK = 0x7ff;

/** Mask bit of an event: bit (event - 1). */
export function eventBit(e: NriEvent): number {
  return 1 << (e - 1);
}

/** `nri.pkg.api.v1alpha1.ContainerState`. */
export enum NriContainerState {
  UNKNOWN = 0,
  CREATED = 1,
  PAUSED = 2,
  RUNNING = 3,
  STOPPED = 4,
}

/** A pod sandbox as NRI describes it (`PodSandbox`). Missing strings are "", missing pid is 0. */
export interface NriPod {
  /** containerd sandbox id (64 hex). */
  id: string;
  name: string;
  /** Kubernetes pod UID. Untrusted input: may be empty or hostile. */
  uid: string;
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** `linux.cgroup_parent` (kubelet's value, e.g. `/kubepods/burstable/pod<uid>` or a `.slice` path). */
  cgroupParent: string;
  /** `linux.cgroups_path` of the pause container. */
  cgroupsPath: string;
  pid: number;
}

/** A container as NRI describes it (`Container`). */
export interface NriContainer {
  id: string;
  podSandboxId: string;
  name: string;
  state: NriContainerState;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** `linux.cgroups_path`: cgroupfs (`/kubepods/pod<uid>/<id>`) or systemd (`slice:prefix:id`) form. */
  cgroupsPath: string;
  /** Init process PID on the host; 0 before the task exists. */
  pid: number;
}

/** What Configure tells the plugin. Timeouts are absent (undefined) on NRI v0.6.1. */
export interface NriConfigureRequest {
  config: string;
  runtimeName: string;
  runtimeVersion: string;
  registrationTimeoutMs?: number;
  requestTimeoutMs?: number;
}
