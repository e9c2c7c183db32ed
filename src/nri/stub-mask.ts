import type { PluginHandler } from "./handler.js";
import { NriEvent, VALID_EVENTS_MASK, eventBit, type NriContainer, type NriPod } from "./types.js";

/** Handler method serving each event (the StateChange dispatch table). */
export const EVENT_METHODS = {
  [NriEvent.RUN_POD_SANDBOX]: "runPodSandbox",
  [NriEvent.STOP_POD_SANDBOX]: "stopPodSandbox",
  [NriEvent.REMOVE_POD_SANDBOX]: "removePodSandbox",
  [NriEvent.CREATE_CONTAINER]: "createContainer",
  [NriEvent.POST_CREATE_CONTAINER]: "postCreateContainer",
  [NriEvent.START_CONTAINER]: "startContainer",
  [NriEvent.POST_START_CONTAINER]: "postStartContainer",
  [NriEvent.UPDATE_CONTAINER]: "updateContainer",
  [NriEvent.POST_UPDATE_CONTAINER]: "postUpdateContainer",
  [NriEvent.STOP_CONTAINER]: "stopContainer",
  [NriEvent.REMOVE_CONTAINER]: "removeContainer",
} as const satisfies Record<NriEvent, keyof PluginHandler>;

/** True for the pod-level events (handler takes only the pod). */
export function isPodEvent(e: NriEvent): boolean {
  return (
    e === NriEvent.RUN_POD_SANDBOX || e === NriEvent.STOP_POD_SANDBOX || e === NriEvent.REMOVE_POD_SANDBOX
  );
}

/** The event mask implied by which event methods `handler` has (bit e-1 per method). Pure. */
export function deriveEventMask(handler: PluginHandler): number {
  let mask = 0;
  for (const [e, name] of Object.entries(EVENT_METHODS)) {
    if (typeof (handler as Record<string, unknown>)[name] === "function")
      mask |= eventBit(Number(e) as NriEvent);
  }
  return mask;
}

/** Whether a mask may be sent to every supported runtime: non-zero and within 0x7FF. Pure. */
export function isValidEventMask(mask: number): boolean {
  return Number.isInteger(mask) && mask > 0 && (mask & ~VALID_EVENTS_MASK) === 0;
}

/** Parses an NRI event wire value; undefined for values the stub does not know. Pure. */
export function toNriEvent(value: number): NriEvent | undefined {
  return value >= NriEvent.RUN_POD_SANDBOX && value <= NriEvent.REMOVE_CONTAINER
    ? (value as NriEvent)
    : undefined;
}

/**
 * Calls the handler method for `event`, if the handler has one. Returns false when it has none.
 * Propagates the handler's rejection.
 */
export async function callEventHandler(
  handler: PluginHandler,
  event: NriEvent,
  pod: NriPod,
  container: NriContainer,
): Promise<boolean> {
  const name = EVENT_METHODS[event];
  const fn = (handler as Record<string, unknown>)[name];
  if (typeof fn !== "function") return false;
  if (isPodEvent(event)) await (fn as (p: NriPod) => unknown).call(handler, pod);
  else await (fn as (p: NriPod, c: NriContainer) => unknown).call(handler, pod, container);
  return true;
}
