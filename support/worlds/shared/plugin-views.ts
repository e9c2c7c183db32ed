import type { PodResctrlEvent, PodSnapshot } from "../../../src/plugin/events.js";
import type { UnnumberedPodEvent } from "../event-log.js";
import type { PodView } from "../types.js";

/** Maps a plugin pod UID to the scenario's pod name; throws for a UID the world does not know. */
export type PodNameOfUid = (uid: string) => string;

/**
 * A plugin event in scenario terms (pod name instead of UID; the group report copied, so the
 * event log never shares an object with the plugin). Pure; throws only if `nameOfUid` throws.
 */
export function scenarioEvent(e: PodResctrlEvent, nameOfUid: PodNameOfUid): UnnumberedPodEvent {
  const pod = nameOfUid(e.podUid);
  if (e.kind === "Removed") return { kind: "Removed", pod };
  const { groupState: group, totalContainers: total, reconciledContainers: reconciled } = e;
  return { kind: "AddOrUpdate", pod, group: { ...group }, total, reconciled };
}

/** One entry of the plugin's `snapshot()` in scenario terms. Pure; throws only if `nameOfUid` throws. */
export function scenarioPodView(s: PodSnapshot, nameOfUid: PodNameOfUid): PodView {
  return {
    pod: nameOfUid(s.podUid),
    group: s.groupState,
    total: s.totalContainers,
    reconciled: s.reconciledContainers,
  };
}
