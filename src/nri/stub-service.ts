import type { Logger } from "pino";
import {
  type Container,
  type PodSandbox,
  ConfigureRequest,
  ConfigureResponse,
  CreateContainerRequest,
  CreateContainerResponse,
  Empty,
  StateChangeEvent,
  StopContainerRequest,
  StopContainerResponse,
  SynchronizeResponse,
  UpdateContainerRequest,
  UpdateContainerResponse,
} from "./gen/nri/api.js";
import { PLUGIN_SERVICE } from "./constants.js";
import { decodeSyncChunk, toNriContainer, toNriPod } from "./convert.js";
import type { PluginHandler } from "./handler.js";
import { callEventHandler, isValidEventMask, toNriEvent } from "./stub-mask.js";
import type { TtrpcServer } from "./ttrpc-server.js";
import { NriEvent, type NriConfigureRequest, type NriContainer, type NriPod } from "./types.js";

/** Callbacks from the Plugin service into the stub's lifecycle. */
export interface PluginServiceHooks {
  handler: PluginHandler;
  derivedMask: number;
  log: Logger;
  onConfigured(req: NriConfigureRequest, mask: number): void;
  /** Called after the handler accepted the complete state. */
  onSynchronized(pods: NriPod[], containers: NriContainer[]): void;
  /**
   * Called after every request with its method (`Configure`, `Synchronize`, `StopContainer`, …;
   * StateChange as `StateChange/<EVENT>`) and how long answering it took, in seconds (metrics).
   */
  onRequest?(method: string, seconds: number): void;
}

/**
 * Registers `nri.pkg.api.v1alpha1.Plugin` (v0.6.1 methods) on `server`, dispatching to the
 * handler. Synchronize chunks with `more=true` are buffered (replied `{more: true}`, no updates) and
 * delivered as one complete state at the last chunk. Handler rejections become error statuses (the
 * server maps them to UNKNOWN). Unknown methods are answered UNIMPLEMENTED by the server itself.
 * State is per call of this function, i.e. per connection.
 */
export function registerPluginService(server: TtrpcServer, hooks: PluginServiceHooks): void {
  const { handler, log } = hooks;
  let syncPods: NriPod[] = [];
  let syncContainers: NriContainer[] = [];
  /** Ids of the pods of the Synchronize in progress (see decodeSyncChunk). */
  let syncSandboxIds = new Map<string, string>();
  const register = (
    method: string,
    fn: (payload: Uint8Array, label: (m: string) => void) => Promise<Uint8Array>,
  ): void => {
    server.register(PLUGIN_SERVICE, method, async (payload) => {
      const t0 = process.hrtime.bigint();
      let name = method;
      try {
        return await fn(payload, (m) => (name = m));
      } finally {
        hooks.onRequest?.(name, Number(process.hrtime.bigint() - t0) / 1e9);
      }
    });
  };

  register("Configure", async (payload) => {
    const r = ConfigureRequest.decode(payload);
    const req: NriConfigureRequest = {
      config: r.config,
      runtimeName: r.runtimeName,
      runtimeVersion: r.runtimeVersion,
      ...(r.registrationTimeout > 0 ? { registrationTimeoutMs: r.registrationTimeout } : {}),
      ...(r.requestTimeout > 0 ? { requestTimeoutMs: r.requestTimeout } : {}),
    };
    let mask = hooks.derivedMask;
    const out = handler.configure ? await handler.configure.call(handler, req) : undefined;
    if (out && out.events !== undefined) {
      if (isValidEventMask(out.events)) mask = out.events;
      else
        log.error(
          { requested: out.events, derived: hooks.derivedMask },
          "nri stub: configure returned an invalid event mask (0 or outside 0x7FF); using the derived mask",
        );
    }
    hooks.onConfigured(req, mask);
    return ConfigureResponse.encode({ events: mask }).finish();
  });

  register("Synchronize", async (payload) => {
    // Each pod and container converted as it is decoded (the generated messages die young).
    const more = decodeSyncChunk(
      payload,
      (p) => syncPods.push(p),
      (c) => syncContainers.push(c),
      syncSandboxIds,
    );
    if (more) return SynchronizeResponse.encode({ update: [], more: true }).finish();
    const pods = syncPods;
    const containers = syncContainers;
    syncPods = [];
    syncContainers = [];
    syncSandboxIds = new Map();
    if (handler.synchronize) await handler.synchronize.call(handler, pods, containers);
    hooks.onSynchronized(pods, containers);
    return SynchronizeResponse.encode({ update: [], more: false }).finish();
  });

  register("Shutdown", async (payload) => {
    Empty.decode(payload);
    if (handler.shutdown) await handler.shutdown.call(handler);
    return Empty.encode({}).finish();
  });

  register("CreateContainer", async (payload) => {
    const r = CreateContainerRequest.decode(payload);
    await callEventHandler(handler, NriEvent.CREATE_CONTAINER, ...podAndContainer(r));
    return CreateContainerResponse.encode({ update: [], evict: [] }).finish();
  });

  register("UpdateContainer", async (payload) => {
    const r = UpdateContainerRequest.decode(payload);
    await callEventHandler(handler, NriEvent.UPDATE_CONTAINER, ...podAndContainer(r));
    return UpdateContainerResponse.encode({ update: [], evict: [] }).finish();
  });

  register("StopContainer", async (payload) => {
    const r = StopContainerRequest.decode(payload);
    await callEventHandler(handler, NriEvent.STOP_CONTAINER, ...podAndContainer(r));
    return StopContainerResponse.encode({ update: [] }).finish();
  });

  register("StateChange", async (payload, label) => {
    const r = StateChangeEvent.decode(payload);
    const event = toNriEvent(r.event);
    label(`StateChange/${event === undefined ? "UNKNOWN" : NriEvent[event]}`);
    if (event === undefined) {
      log.warn({ event: r.event }, "nri stub: ignoring StateChange with unknown event value");
      return Empty.encode({}).finish();
    }
    const handled = await callEventHandler(handler, event, ...podAndContainer(r));
    if (!handled) log.debug({ event }, "nri stub: StateChange for an event without handler method");
    return Empty.encode({}).finish();
  });
}

/** An event's pod and container, the container sharing the pod's id string when it names that pod. */
function podAndContainer(r: { pod?: PodSandbox; container?: Container }): [NriPod, NriContainer] {
  const pod = toNriPod(r.pod);
  return [pod, toNriContainer(r.container, pod.id)];
}
