import type { NriConfigureRequest, NriContainer, NriPod } from "./types.js";

/**
 * One interface per NRI callback, in the spirit of containerd/nri `pkg/stub`. A plugin implements
 * any subset; the stub derives the subscription mask from which *event* methods exist
 * (runPodSandbox → RUN_POD_SANDBOX bit, …) and refuses a handler that subscribes to nothing.
 *
 * Every method may be async. The stub replies to the runtime only after the returned promise
 * settles, so a handler must finish well within the runtime's request timeout (2 s by default).
 * A rejection becomes an error status for that request (for event RPCs containerd then fails
 * the CRI call — monitoring plugins should not reject).
 */
export interface ConfigureHandler {
  /** Called once per (re)connection. May return an explicit mask overriding the derived one. */
  configure(req: NriConfigureRequest): Promise<{ events?: number } | void> | { events?: number } | void;
}
export interface SynchronizeHandler {
  /** The complete runtime state, after all `more=true` chunks have been collected. */
  synchronize(pods: NriPod[], containers: NriContainer[]): Promise<void> | void;
}
export interface ShutdownHandler {
  shutdown(): Promise<void> | void;
}
export interface RunPodSandboxHandler {
  runPodSandbox(pod: NriPod): Promise<void> | void;
}
export interface StopPodSandboxHandler {
  stopPodSandbox(pod: NriPod): Promise<void> | void;
}
export interface RemovePodSandboxHandler {
  removePodSandbox(pod: NriPod): Promise<void> | void;
}
export interface CreateContainerHandler {
  /** Replied with an empty CreateContainerResponse (no adjustments). */
  createContainer(pod: NriPod, container: NriContainer): Promise<void> | void;
}
export interface PostCreateContainerHandler {
  postCreateContainer(pod: NriPod, container: NriContainer): Promise<void> | void;
}
export interface StartContainerHandler {
  startContainer(pod: NriPod, container: NriContainer): Promise<void> | void;
}
export interface PostStartContainerHandler {
  postStartContainer(pod: NriPod, container: NriContainer): Promise<void> | void;
}
export interface UpdateContainerHandler {
  updateContainer(pod: NriPod, container: NriContainer): Promise<void> | void;
}
export interface PostUpdateContainerHandler {
  postUpdateContainer(pod: NriPod, container: NriContainer): Promise<void> | void;
}
export interface StopContainerHandler {
  stopContainer(pod: NriPod, container: NriContainer): Promise<void> | void;
}
export interface RemoveContainerHandler {
  removeContainer(pod: NriPod, container: NriContainer): Promise<void> | void;
}

/** Any combination of the handler interfaces above. */
export type PluginHandler = Partial<
  ConfigureHandler &
    SynchronizeHandler &
    ShutdownHandler &
    RunPodSandboxHandler &
    StopPodSandboxHandler &
    RemovePodSandboxHandler &
    CreateContainerHandler &
    PostCreateContainerHandler &
    StartContainerHandler &
    PostStartContainerHandler &
    UpdateContainerHandler &
    PostUpdateContainerHandler &
    StopContainerHandler &
    RemoveContainerHandler
>;
