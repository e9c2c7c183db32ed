import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

/** Where cgroup v2 is mounted on the target hosts. */
export const DEFAULT_CGROUP_ROOT = "/sys/fs/cgroup";
/** Top-level cgroups under which the kubelet places pods (systemd driver first). */
export const KUBEPODS_ROOTS = ["kubepods.slice", "kubepods"] as const;
/** How deep below a kubepods root a container's cgroup can sit (QoS slice, pod slice, container). */
export const MAX_CGROUP_SEARCH_DEPTH = 4;

/** The read-only filesystem seam of this module (node:fs by default; a temp dir or fake in tests). */
export interface TaskFs {
  readFile(path: string): Promise<string>;
  /** Names of the subdirectories of `path`; rejects if `path` cannot be listed. */
  readDirs(path: string): Promise<string[]>;
}

/** node:fs implementation of {@link TaskFs}. */
export const nodeTaskFs: TaskFs = {
  readFile: (p) => readFile(p, "utf8"),
  readDirs: async (p) =>
    (await readdir(p, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name),
};

/**
 * Parses a resctrl `tasks`, cgroup `cgroup.procs` or `cgroup.threads` file: one decimal id per
 * line, blank lines ignored. Returns the ids ascending and de-duplicated. Throws on any other
 * line ("failed to parse task list line N: …"), so a corrupt read is never taken for an empty group.
 */
export function parseTaskList(text: string): number[] {
  const ids = new Set<number>();
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "") return;
    if (!/^\d+$/.test(line))
      throw new Error(`failed to parse task list line ${i + 1}: ${JSON.stringify(line)}`);
    ids.add(Number(line));
  });
  return [...ids].sort((a, b) => a - b);
}

/** `containerd://<id>` (as in a pod's containerStatuses) → `<id>`; a bare id is returned as is. */
export function stripRuntimePrefix(containerId: string): string {
  const i = containerId.indexOf("://");
  return i < 0 ? containerId : containerId.slice(i + 3);
}

/** Directory names a container's cgroup can have: systemd driver scope, or the plain id (cgroupfs). */
export function cgroupNamesFor(containerId: string): string[] {
  const id = stripRuntimePrefix(containerId);
  return [`cri-containerd-${id}.scope`, id];
}

/**
 * Finds the cgroup directory of a container by searching the kubepods hierarchies breadth-first
 * (at most {@link MAX_CGROUP_SEARCH_DEPTH} levels). Resolves `undefined` when there is none (the
 * container is gone). Blocking: lists a few hundred directories at most.
 */
export async function findContainerCgroup(
  containerId: string,
  fs: TaskFs = nodeTaskFs,
  cgroupRoot: string = DEFAULT_CGROUP_ROOT,
): Promise<string | undefined> {
  const wanted = new Set(cgroupNamesFor(containerId));
  let level = KUBEPODS_ROOTS.map((r) => join(cgroupRoot, r));
  for (let depth = 0; depth < MAX_CGROUP_SEARCH_DEPTH && level.length > 0; depth++) {
    const next: string[] = [];
    for (const dir of level) {
      let names: string[];
      try {
        names = await fs.readDirs(dir);
      } catch {
        continue;
      }
      for (const n of names) {
        if (wanted.has(n)) return join(dir, n);
        next.push(join(dir, n));
      }
    }
    level = next;
  }
  return undefined;
}

/**
 * Thread ids of every process in a cgroup: `cgroup.procs`, then `/proc/<pid>/task/*` for each
 * process (resctrl moves threads, not processes). A process that exits meanwhile is skipped.
 * Resolves ascending. Rejects when `cgroup.procs` cannot be read (the cgroup is gone).
 */
export async function threadsOfCgroup(
  cgroupDir: string,
  fs: TaskFs = nodeTaskFs,
  procRoot = "/proc",
): Promise<number[]> {
  const pids = parseTaskList(await fs.readFile(join(cgroupDir, "cgroup.procs")));
  const tids = new Set<number>();
  for (const pid of pids) {
    let names: string[];
    try {
      names = await fs.readDirs(join(procRoot, String(pid), "task"));
    } catch {
      continue;
    }
    for (const n of names) if (/^\d+$/.test(n)) tids.add(Number(n));
  }
  return [...tids].sort((a, b) => a - b);
}
