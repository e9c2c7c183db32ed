import type { GroupReport, LogRecord } from "../worlds/types.js";

/*
 * The daemon's log as the worlds read it: one parser for its output lines, and every message text
 * a world waits for or counts, named once (the texts are written by src/cli.ts, src/nri/stub.ts
 * and src/plugin/pod-lifecycle.ts).
 */

/** The CLI's log line for each Synchronize answered (once per registration, reconnects included). */
export const RUNTIME_SYNCHRONIZED_MSG = "runtime synchronized";
/**
 * The start of the message the daemon (and the in-process stub) logs, info level, each time it
 * finds the runtime's socket absent: `waiting for the runtime at <socket>, next attempt in …`.
 */
export const WAITING_FOR_RUNTIME_MSG = "waiting for the runtime";
/** The `msg` of the daemon's log record for every pod event it emits (src/plugin/pod-lifecycle.ts). */
export const POD_EVENT_MSG = "pod event";
/** The `msg` of the record (src/cli.ts) saying where `--http-listen` really bound: `{host, port}`. */
export const SERVING_HTTP_MSG = "serving /metrics, /healthz and /readyz";

/** Where the daemon's HTTP endpoint listens, from its {@link SERVING_HTTP_MSG} record; undefined for any other record. Pure. */
export function httpAddressFromLog(r: LogRecord): { host: string; port: number } | undefined {
  if (r.msg !== SERVING_HTTP_MSG) return undefined;
  const { host, port } = r;
  if (typeof host !== "string" || typeof port !== "number" || !Number.isInteger(port) || port <= 0)
    throw new Error(`failed to read the HTTP address from the daemon's log: ${JSON.stringify(r)}`);
  return { host, port };
}

/** Parses one output line: pino JSON becomes its record, anything else `{ msg: line }`, a blank line undefined. Pure. */
export function parseLogLine(line: string): LogRecord | undefined {
  const t = line.trim();
  if (t === "") return undefined;
  if (t.startsWith("{")) {
    try {
      return JSON.parse(t) as LogRecord;
    } catch {
      // not JSON after all
    }
  }
  return { msg: t };
}

/**
 * A chunk consumer that calls `onLine` for every complete line (a chunk may end in the middle of
 * one; the rest waits for the next chunk).
 */
export function lineSplitter(onLine: (line: string) => void): (chunk: Buffer | string) => void {
  let partial = "";
  return (chunk) => {
    const lines = (partial + chunk.toString()).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) onLine(line);
  };
}

/** Whether a record is the CLI's "runtime synchronized" line ({@link RUNTIME_SYNCHRONIZED_MSG}). Pure. */
export function isRuntimeSynchronized(r: LogRecord): boolean {
  return r.msg === RUNTIME_SYNCHRONIZED_MSG;
}

/** Whether a record says the plugin waits for the runtime ({@link WAITING_FOR_RUNTIME_MSG}). Pure. */
export function isWaitingForRuntime(r: LogRecord): boolean {
  return typeof r.msg === "string" && r.msg.startsWith(WAITING_FOR_RUNTIME_MSG);
}

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
