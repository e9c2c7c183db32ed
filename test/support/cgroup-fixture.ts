// Temp-dir cgroup and /proc trees for the RealCgroupPidSource specs: one temp root per spec
// process (removed when it ends), one case directory per call.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import type { Logger } from "pino";
import type { NriPod } from "../../src/nri/types.js";
import { RealCgroupPidSource } from "../../src/plugin/real-pid-source.js";
import { pod } from "./plugin-harness.js";

const tmp = mkdtempSync(join(tmpdir(), "pidsrc-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;

export interface CgroupTree {
  /** Directories under the cgroup root. */
  dirs?: string[];
  /** Files under the cgroup root (content). */
  files?: Record<string, string>;
  /** Directories under the proc root (e.g. "10/task/11"). */
  procDirs?: string[];
  /** Files under the proc root (e.g. "4242/cgroup"). */
  procFiles?: Record<string, string>;
}

/** Builds the tree under `<tmp>/case<n>/{cgroup,proc}` and a source reading it. */
export function cgroupTree(
  t: CgroupTree,
  logger?: Logger,
): { src: RealCgroupPidSource; base: string; cg: string; proc: string } {
  const base = join(tmp, `case${n++}`);
  const cg = join(base, "cgroup");
  const proc = join(base, "proc");
  mkdirSync(cg, { recursive: true });
  mkdirSync(proc, { recursive: true });
  for (const d of t.dirs ?? []) mkdirSync(join(cg, d), { recursive: true });
  for (const d of t.procDirs ?? []) mkdirSync(join(proc, d), { recursive: true });
  const write = (root: string, files: Record<string, string>) => {
    for (const [rel, content] of Object.entries(files)) {
      mkdirSync(join(root, rel, ".."), { recursive: true });
      writeFileSync(join(root, rel), content);
    }
  };
  write(cg, t.files ?? {});
  write(proc, t.procFiles ?? {});
  return { src: new RealCgroupPidSource({ cgroupRoot: cg, procRoot: proc, logger }), base, cg, proc };
}

/** `procDirs` for processes and their threads: `{ 10: [10, 11] }` → ["10/task/10", "10/task/11"]. */
export function threads(procs: Record<number, number[]>): string[] {
  return Object.entries(procs).flatMap(([pid, tids]) => tids.map((t) => `${pid}/task/${t}`));
}

/** The cgroup v2 marker file. */
export const V2 = { "cgroup.controllers": "cpu memory pids\n" };

/** Cgroup path of the sandbox built by {@link sandboxPod} (cgroupfs form). */
export const SANDBOX_REL = "/kubepods/burstable/podU/sb1";

/** Pod U's sandbox sb1 in the cgroupfs form, no pid; `over` replaces fields. */
export const sandboxPod = (over: Partial<NriPod> = {}): NriPod => ({
  ...pod("U", "sb1"),
  cgroupParent: "/kubepods/burstable/podU",
  cgroupsPath: SANDBOX_REL,
  pid: 0,
  ...over,
});
