// Shared fixtures of the plugin specs (src/plugin/*.spec.ts, src/control/*.spec.ts) and of the
// cross-layer specs in test/: NRI objects, a MemFs-backed Resctrl, a MockPidSource and a plugin
// wired together, with every event recorded synchronously and logs captured. Test-only: nothing
// under src/ except specs imports it, so it never reaches the build (tsconfig.build.json).
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { NriContainerState, type NriContainer, type NriPod } from "../../src/nri/types.js";
import type { ResctrlPluginConfig } from "../../src/plugin/config.js";
import type { PodResctrlEvent } from "../../src/plugin/events.js";
import { ResctrlPlugin } from "../../src/plugin/plugin.js";
import { Resctrl } from "../../src/resctrl/index.js";
import { MemFs, type MemFsResctrlOptions } from "../../src/memfs/mem-fs.js";
import { MockPidSource } from "../../src/testing/mock-pid-source.js";
import { memoryLogger } from "../../support/worlds/shared/log-capture.js";

export { gate, until } from "./async.js";

export const ROOT = "/sys/fs/resctrl";
export const MON = `${ROOT}/mon_groups`;

/** Puts tasks `tids` into the RDT control group `<root>/<cls>` of `fs` (created if missing). */
export async function inClass(fs: MemFs, cls: string, ...tids: number[]): Promise<void> {
  if (!fs.isDir(`${ROOT}/${cls}`)) await fs.createDir(`${ROOT}/${cls}`);
  for (const t of tids) await fs.writeStr(`${ROOT}/${cls}/tasks`, String(t));
}

export function pod(uid: string, id = `sb-${uid}`): NriPod {
  return {
    id,
    name: `name-${uid}`,
    uid,
    namespace: "default",
    labels: {},
    annotations: {},
    cgroupParent: `/kubepods/pod${uid}`,
    cgroupsPath: `/kubepods/pod${uid}/${id}`,
    pid: 0,
  };
}

export function ctr(id: string, sandboxId: string, state = NriContainerState.RUNNING): NriContainer {
  return {
    id,
    podSandboxId: sandboxId,
    name: `c-${id}`,
    state,
    labels: {},
    annotations: {},
    cgroupsPath: `/kubepods/pod/${id}`,
    pid: 100,
  };
}

export interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

export interface Harness {
  fs: MemFs;
  resctrl: Resctrl;
  pids: MockPidSource;
  plugin: ResctrlPlugin;
  events: PodResctrlEvent[];
  logs: LogLine[];
  /** Events as compact strings: "u1 Exists 0/0", "u1 Failed 1/0", "u1 Removed". */
  trace(): string[];
}

export function harness(
  opts: { cfg?: Partial<ResctrlPluginConfig>; fs?: MemFsResctrlOptions } = {},
): Harness {
  const fs = MemFs.withResctrl({ root: ROOT, ...opts.fs });
  const { logger, records } = memoryLogger("debug");
  const logs = records as LogLine[];
  const prefix = opts.cfg?.groupPrefix ?? "pod_";
  const resctrl = Resctrl.withProvider(fs, { root: ROOT, groupPrefix: prefix });
  const pids = new MockPidSource();
  const plugin = ResctrlPlugin.withPidSource({ ...opts.cfg }, resctrl, pids, { logger });
  const events: PodResctrlEvent[] = [];
  plugin.onEvent((e) => events.push(e));
  return { fs, resctrl, pids, plugin, events, logs, trace: () => events.map(show) };
}

export function show(e: PodResctrlEvent): string {
  if (e.kind === "Removed") return `${e.podUid} Removed`;
  return `${e.podUid} ${e.groupState.kind} ${e.totalContainers}/${e.reconciledContainers}`;
}

/**
 * Runs an ES module made of `lines` in a fresh `node` and returns its status and output. Under
 * tsx (specs as .ts) the child gets tsx's loader; the transpiled mutation build runs plain JS.
 * Modules are imported by URL, e.g. `new URL("./x.js", import.meta.url).href`. `nodeArgs` come
 * before the loader (V8 flags such as `--log-maps`).
 */
export function runModuleInChild(
  lines: readonly string[],
  nodeArgs: readonly string[] = [],
): SpawnSyncReturns<string> {
  const loader = import.meta.url.endsWith(".ts") ? ["--import", "tsx"] : [];
  return spawnSync(
    process.execPath,
    [...nodeArgs, ...loader, "--input-type=module", "-e", lines.join("\n")],
    {
      encoding: "utf8",
      timeout: 30_000,
    },
  );
}
