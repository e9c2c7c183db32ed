/**
 * Reads a V8 `.cpuprofile` (`node --cpu-prof`) and lists, per time window, the functions with the
 * most self time (and the repository's own functions with the most inclusive time), positions
 * mapped through the `.js.map` next to each compiled file to `src/…ts:line`. Windows are in
 * CLOCK_MONOTONIC microseconds, the clock of both V8's profile timestamps and
 * `process.hrtime.bigint()` (so a harness in another process can mark them).
 *
 * CLI: node --import tsx bench/cpu-profile.ts <file.cpuprofile> [top]   (whole profile, one window)
 */
import { existsSync, readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** A named time range, CLOCK_MONOTONIC µs. */
export interface ProfileWindow {
  name: string;
  fromUs: number;
  toUs: number;
}

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** One function's share of a window. */
export interface ProfileEntry {
  fn: string;
  /** `src/plugin/x.ts:123` (mapped), a node_modules path, `node:…`, or `(garbage collector)`. */
  where: string;
  ms: number;
  pct: number;
}

/** The summary of one window. */
export interface WindowSummary {
  name: string;
  wallMs: number;
  /** Sampled time in the window that was not idle. */
  busyMs: number;
  self: ProfileEntry[];
  /** Functions of the repository's `src/` (and the bench) by inclusive time. */
  ours: ProfileEntry[];
}

const maps = new Map<string, SourceMap | undefined>();

function sourceMapOf(file: string): SourceMap | undefined {
  if (maps.has(file)) return maps.get(file);
  let sm: SourceMap | undefined;
  try {
    const m = `${file}.map`;
    if (existsSync(m)) sm = new SourceMap(JSON.parse(readFileSync(m, "utf8")) as never);
  } catch {
    sm = undefined;
  }
  maps.set(file, sm);
  return sm;
}

/** `path:line` (1-based) of a call frame, through the source map when there is one. */
export function locate(cf: CallFrame): string {
  if (!cf.url) return "";
  if (!cf.url.startsWith("file://")) return `${cf.url}:${cf.lineNumber + 1}`;
  const file = fileURLToPath(cf.url);
  const sm = sourceMapOf(file);
  if (sm && cf.lineNumber >= 0) {
    const e = sm.findEntry(cf.lineNumber, Math.max(0, cf.columnNumber)) as {
      originalSource?: string;
      originalLine?: number;
    };
    if (e.originalSource !== undefined && e.originalLine !== undefined) {
      const src = e.originalSource.startsWith("file://")
        ? fileURLToPath(e.originalSource)
        : resolve(dirname(file), e.originalSource);
      return `${relative(REPO, src)}:${e.originalLine + 1}`;
    }
  }
  return `${relative(REPO, file)}:${cf.lineNumber + 1}`;
}

/** Self and inclusive times per window (top `top` of each). */
export function summarizeProfile(file: string, windows: ProfileWindow[], top = 15): WindowSummary[] {
  const prof = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const keyOf = new Map<number, { key: string; fn: string; where: string }>();
  for (const n of prof.nodes) {
    let where = locate(n.callFrame);
    const fn = n.callFrame.functionName || "(anonymous)";
    if (where === "" && !fn.startsWith("(")) {
      // a native binding (writeBuffer, readdir …): name the nearest caller in the repository
      // (src/, node_modules/), past node's own library frames
      let up = parent.get(n.id);
      while (up !== undefined && !byId.get(up)?.callFrame.url.startsWith("file://")) up = parent.get(up);
      const caller = up === undefined ? undefined : byId.get(up);
      if (caller)
        where = `native, called from ${caller.callFrame.functionName || "(anonymous)"} ${locate(caller.callFrame)}`;
    }
    keyOf.set(n.id, { key: `${fn}@${where}`, fn, where });
  }
  // sample i lasts until sample i+1
  const times: number[] = [];
  let t = prof.startTime;
  for (const d of prof.timeDeltas) {
    t += d;
    times.push(t);
  }
  return windows.map((w) => {
    const self = new Map<string, ProfileEntry>();
    const incl = new Map<string, ProfileEntry>();
    let busy = 0;
    for (let i = 0; i < prof.samples.length; i++) {
      const ts = times[i] as number;
      if (ts < w.fromUs || ts > w.toUs) continue;
      const dur = ((times[i + 1] ?? prof.endTime) - ts) / 1000;
      const id = prof.samples[i] as number;
      const k = keyOf.get(id);
      if (!k) continue;
      if (byId.get(id)?.callFrame.functionName === "(idle)") continue; // "(program)" counts: VM work
      busy += dur;
      const e = self.get(k.key) ?? { fn: k.fn, where: k.where, ms: 0, pct: 0 };
      e.ms += dur;
      self.set(k.key, e);
      const seen = new Set<string>();
      for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
        const kk = keyOf.get(n);
        if (!kk || seen.has(kk.key)) continue;
        seen.add(kk.key);
        if (!kk.where.startsWith("src/") && !kk.where.startsWith("bench/")) continue;
        const ie = incl.get(kk.key) ?? { fn: kk.fn, where: kk.where, ms: 0, pct: 0 };
        ie.ms += dur;
        incl.set(kk.key, ie);
      }
    }
    const finish = (m: Map<string, ProfileEntry>): ProfileEntry[] =>
      [...m.values()]
        .sort((a, b) => b.ms - a.ms)
        .slice(0, top)
        .map((e) => ({
          ...e,
          ms: Math.round(e.ms * 10) / 10,
          pct: Math.round((e.ms / Math.max(busy, 1e-9)) * 1000) / 10,
        }));
    return {
      name: w.name,
      wallMs: Math.round((w.toUs - w.fromUs) / 100) / 10,
      busyMs: Math.round(busy * 10) / 10,
      self: finish(self),
      ours: finish(incl),
    };
  });
}

/** Text tables of {@link summarizeProfile}'s result. */
export function formatProfile(s: WindowSummary[]): string {
  const out: string[] = [];
  for (const w of s) {
    out.push(`== ${w.name}: ${w.wallMs} ms wall, ${w.busyMs} ms sampled busy (not idle)`);
    out.push("  self time:");
    for (const e of w.self)
      out.push(`    ${String(e.ms).padStart(8)} ms ${String(e.pct).padStart(5)} %  ${e.fn}  ${e.where}`);
    out.push("  our functions, inclusive time:");
    for (const e of w.ours)
      out.push(`    ${String(e.ms).padStart(8)} ms ${String(e.pct).padStart(5)} %  ${e.fn}  ${e.where}`);
  }
  return out.join("\n");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: cpu-profile.ts <file.cpuprofile> [top]");
    process.exit(2);
  }
  const prof = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  console.log(
    formatProfile(
      summarizeProfile(
        join(file),
        [{ name: "whole profile", fromUs: prof.startTime, toUs: prof.endTime }],
        Number(process.argv[3] ?? 25),
      ),
    ),
  );
}
