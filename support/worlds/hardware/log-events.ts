import type { GroupReport, LogRecord } from "../types.js";

/** The `msg` of the daemon's log record for every pod event it emits (src/plugin/plugin.ts). */
export const POD_EVENT_MSG = "pod event";

/** A pod event read from the daemon's log, still keyed by pod UID. */
export type LoggedPodEvent =
  | { kind: "AddOrUpdate"; podUid: string; group: GroupReport; total: number; reconciled: number }
  | { kind: "Removed"; podUid: string };

/**
 * Reads a pod event from one daemon log record, or undefined when the record is not one. The
 * daemon logs each event (info level) right before it emits it, so the log is a complete, ordered
 * event stream from the first Synchronize on, which a control-API watch opened after startup
 * could miss. Pure; a record that claims to be an event but lacks a field throws.
 */
export function podEventFromLog(r: LogRecord): LoggedPodEvent | undefined {
  if (r.msg !== POD_EVENT_MSG) return undefined;
  const podUid = r.podUid;
  if (typeof podUid !== "string")
    throw new Error(`failed to read pod event from log: no podUid in ${JSON.stringify(r)}`);
  if (r.event === "Removed") return { kind: "Removed", podUid };
  if (r.event !== "AddOrUpdate")
    throw new Error(`failed to read pod event from log: unknown event ${JSON.stringify(r.event)}`);
  const { total, reconciled, groupState, group } = r;
  if (typeof total !== "number" || typeof reconciled !== "number") {
    throw new Error(`failed to read pod event from log: counters missing in ${JSON.stringify(r)}`);
  }
  let g: GroupReport;
  if (groupState === "Exists" && typeof group === "string") g = { kind: "Exists", path: group };
  else if (groupState === "Failed") g = { kind: "Failed" };
  else throw new Error(`failed to read pod event from log: bad group state in ${JSON.stringify(r)}`);
  return { kind: "AddOrUpdate", podUid, group: g, total, reconciled };
}
