import { readFile, readdir, stat } from "node:fs/promises";
import { posix } from "node:path";
import { pino, type Logger } from "pino";
import type { NriContainer, NriPod } from "../nri/types.js";
import { DEFAULT_CGROUP_ROOT, containerCgroupPath } from "./cgroup-path.js";
import { CgroupGoneError, CgroupReadError } from "./errors.js";
import type { CgroupPidSource } from "./pid-source.js";

/** Default procfs mount. */
export const DEFAULT_PROC_ROOT = "/proc";
/**
 * cgroup v1 hierarchies tried in order (the first holding the container's cgroup wins). `pids`
 * first: every container runtime puts containers there and it is cheap; `unified` (the v2 tree
 * of a hybrid layout) last.
 */
export const V1_HIERARCHIES: readonly string[] = [
  "pids",
  "cpu,cpuacct",
  "cpu",
  "cpuacct",
  "memory",
  "devices",
  "freezer",
  "blkio",
  "cpuset",
  "systemd",
  "unified",
];

/** Options of {@link RealCgroupPidSource}; tests point both roots at a temp-dir fixture tree. */
export interface RealCgroupPidSourceOptions {
  cgroupRoot?: string;
  procRoot?: string;
  logger?: Logger;
}

/**
 * Reads a container's tasks from the host's cgroup filesystem: every process listed in the
 * container cgroup's `cgroup.procs`, expanded to all its threads (`/proc/<pid>/task/*`), because
 * resctrl `tasks` works per thread. Handles cgroup v2 (`<root>/cgroup.controllers` exists), v1
 * and hybrid (first of {@link V1_HIERARCHIES} that holds the cgroup), cgroupfs and systemd paths.
 *
 * Failures: a missing cgroup → CgroupGoneError; unreadable file or a non-numeric line →
 * CgroupReadError (never silently 0); a bad path → CgroupPathError. PIDs ≤ 0 (what another PID
 * namespace shows) are dropped with a warning. A process that exits between listing and reading
 * its task dir is skipped. Stateless; each call does a few small reads (async, non-blocking).
 */
export class RealCgroupPidSource implements CgroupPidSource {
  readonly cgroupRoot: string;
  readonly procRoot: string;
  readonly #log: Logger;

  constructor(opts: RealCgroupPidSourceOptions = {}) {
    this.cgroupRoot = opts.cgroupRoot ?? DEFAULT_CGROUP_ROOT;
    this.procRoot = opts.procRoot ?? DEFAULT_PROC_ROOT;
    this.#log = opts.logger ?? pino({ level: "silent" });
  }

  /** `<cgroupRoot>/<relative path>` as on a v2 host (diagnostics; `tasksOf` picks the hierarchy). */
  cgroupPathOf(container: NriContainer, pod: NriPod | undefined): string {
    return posix.join(this.cgroupRoot, containerCgroupPath(container, pod));
  }

  async tasksOf(container: NriContainer, pod: NriPod | undefined): Promise<number[]> {
    const rel = containerCgroupPath(container, pod);
    const procsFile = await this.#locate(container.id, rel);
    let text: string;
    try {
      text = await readFile(procsFile, "utf8");
    } catch (err) {
      if (code(err) === "ENOENT" || code(err) === "ENODEV")
        throw new CgroupGoneError(container.id, [procsFile]);
      throw new CgroupReadError(`failed to read ${procsFile} of container ${container.id}`, { cause: err });
    }
    const pids = this.#parse(text, procsFile, container.id);
    const tids = new Set<number>();
    for (const pid of pids) for (const t of await this.#threadsOf(pid)) tids.add(t);
    return [...tids].sort((a, b) => a - b);
  }

  async #locate(containerId: string, rel: string): Promise<string> {
    const tried: string[] = [];
    if (await isFile(posix.join(this.cgroupRoot, "cgroup.controllers"))) {
      const f = posix.join(this.cgroupRoot, rel, "cgroup.procs");
      if (await isFile(f)) return f;
      throw new CgroupGoneError(containerId, [f]);
    }
    for (const h of V1_HIERARCHIES) {
      const f = posix.join(this.cgroupRoot, h, rel, "cgroup.procs");
      if (await isFile(f)) return f;
      tried.push(f);
    }
    throw new CgroupGoneError(containerId, tried);
  }

  #parse(text: string, file: string, containerId: string): number[] {
    const out: number[] = [];
    for (const [i, line] of text.split("\n").entries()) {
      const t = line.trim();
      if (t === "") continue;
      if (!/^-?\d{1,10}$/.test(t)) {
        throw new CgroupReadError(
          `failed to parse ${file} of container ${containerId}: line ${i + 1} is not a PID: ${JSON.stringify(t.slice(0, 40))}`,
        );
      }
      const n = Number(t);
      if (n <= 0 || n > 0x7fffffff) {
        this.#log.warn(
          { containerId, file, pid: n },
          "dropped non-positive PID from cgroup.procs (other PID namespace?)",
        );
        continue;
      }
      out.push(n);
    }
    return out;
  }

  async #threadsOf(pid: number): Promise<number[]> {
    const dir = posix.join(this.procRoot, String(pid), "task");
    try {
      const names = await readdir(dir);
      const tids = names
        .filter((n) => /^\d+$/.test(n))
        .map(Number)
        .filter((n) => n > 0);
      return tids.length > 0 ? tids : [pid];
    } catch (err) {
      if (code(err) === "ENOENT" || code(err) === "ESRCH") return [];
      this.#log.warn({ pid, err }, "failed to list threads; using the process id only");
      return [pid];
    }
  }
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

function code(err: unknown): string | undefined {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === "string" ? c : undefined;
}
