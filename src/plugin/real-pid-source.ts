import { readFileSync, readdirSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { posix } from "node:path";
import { pino, type Logger } from "pino";
import type { NriContainer, NriPod } from "../nri/types.js";
import { DEFAULT_CGROUP_ROOT, containerCgroupPath, sandboxCgroupPath } from "./cgroup-path.js";
import { READ_UTF8, errnoCode, sortIds } from "../resctrl/index.js";
import { CgroupGoneError, CgroupReadError } from "./errors.js";
import type { CgroupPidSource } from "./pid-source.js";

const DIGITS = /^\d+$/;

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
 *
 * `sandboxGone` answers true only when the pause container's cgroup is absent from every
 * hierarchy that exists (v2: the unified root; v1/hybrid: each of {@link V1_HIERARCHIES} that is
 * mounted, at least one) and its `pod.pid`, if any, no longer exists or now lives in another cgroup.
 */
export class RealCgroupPidSource implements CgroupPidSource {
  readonly cgroupRoot: string;
  readonly procRoot: string;
  readonly #log: Logger;
  #v2 = false;
  /** `cgroupRoot` normalized, with one trailing slash (relative cgroup paths start with `/`). */
  readonly #rootSlash: string;
  /** `procRoot` normalized, with one trailing slash. */
  readonly #procSlash: string;

  constructor(opts: RealCgroupPidSourceOptions = {}) {
    this.cgroupRoot = opts.cgroupRoot ?? DEFAULT_CGROUP_ROOT;
    this.procRoot = opts.procRoot ?? DEFAULT_PROC_ROOT;
    this.#rootSlash = posix.join(this.cgroupRoot, "/");
    this.#procSlash = posix.join(this.procRoot, "/");
    this.#log = opts.logger ?? pino({ level: "silent" });
  }

  /** `<cgroupRoot>/<relative path>` as on a v2 host (diagnostics; `tasksOf` picks the hierarchy). */
  cgroupPathOf(container: NriContainer, pod: NriPod | undefined): string {
    return posix.join(this.cgroupRoot, containerCgroupPath(container, pod));
  }

  /**
   * Synchronous reads on this hot path (START_CONTAINER waits for it): `cgroup.procs` and each
   * `/proc/<pid>/task` are tiny, and a blocking read costs a few µs where fs/promises costs tens
   * (open/fstat/read/close through the thread pool). On cgroup v2 (remembered once seen) the file
   * is read directly: a missing cgroup shows as ENOENT of that read, no stat first.
   */
  async tasksOf(container: NriContainer, pod: NriPod | undefined): Promise<number[]> {
    const procsFile = this.#v2
      ? `${this.#rootSlash}${containerCgroupPath(container, pod).slice(1)}/cgroup.procs`
      : this.#locate(container.id, containerCgroupPath(container, pod));
    let text: string;
    try {
      text = readFileSync(procsFile, READ_UTF8);
    } catch (err) {
      if (errnoCode(err) === "ENOENT" || errnoCode(err) === "ENODEV")
        throw new CgroupGoneError(container.id, [procsFile]);
      throw new CgroupReadError(`failed to read ${procsFile} of container ${container.id}`, { cause: err });
    }
    const pids = this.#parse(text, procsFile, container.id);
    if (pids.length === 1) return sortIds(this.#threadsOf(pids[0] as number));
    const tids = new Set<number>();
    for (const pid of pids) for (const t of this.#threadsOf(pid)) tids.add(t);
    return sortIds([...tids]);
  }

  async sandboxGone(pod: NriPod): Promise<boolean> {
    let rel: string;
    try {
      rel = sandboxCgroupPath(pod);
    } catch (err) {
      this.#log.debug({ sandboxId: pod.id, err }, "sandbox cgroup path unknown; not treating it as gone");
      return false;
    }
    const cgroup = await this.#cgroupAbsent(rel);
    if (cgroup !== "absent") {
      if (cgroup === "unknown") this.#log.debug({ sandboxId: pod.id, rel }, "sandbox cgroup undeterminable");
      return false;
    }
    if (pod.pid <= 0) return true;
    const proc = await this.#pidGone(pod.pid, rel);
    if (proc === "unknown")
      this.#log.debug({ sandboxId: pod.id, pid: pod.pid }, "sandbox pid undeterminable");
    return proc === "gone";
  }

  async containerGone(container: NriContainer, pod: NriPod | undefined): Promise<boolean> {
    let rel: string;
    try {
      rel = containerCgroupPath(container, pod);
    } catch {
      return false;
    }
    if ((await this.#cgroupAbsent(rel)) !== "absent") return false;
    if (container.pid <= 0) return true;
    return (await this.#pidGone(container.pid, rel)) === "gone";
  }

  /**
   * "absent" only if no existing hierarchy holds `rel` and at least one hierarchy was checked.
   * Synchronous stats without exceptions on ENOENT (a few µs each, no promise per stat): the sweep
   * asks this for every counted container each `--retry-interval`. A v2 root, once seen, is
   * remembered (the cgroup layout of a running host does not change).
   */
  async #cgroupAbsent(rel: string): Promise<"absent" | "present" | "unknown"> {
    const v2 = this.#v2 ? "file" : statKindSync(posix.join(this.cgroupRoot, "cgroup.controllers"));
    if (v2 === "file") {
      this.#v2 = true;
      return dirState(statKindSync(posix.join(this.cgroupRoot, rel)));
    }
    if (v2 === "error") return "unknown";
    let checked = 0;
    for (const h of V1_HIERARCHIES) {
      const root = statKindSync(posix.join(this.cgroupRoot, h));
      if (root === "missing") continue;
      if (root !== "dir") return "unknown";
      const st = dirState(statKindSync(posix.join(this.cgroupRoot, h, rel)));
      if (st !== "absent") return st;
      checked += 1;
    }
    return checked > 0 ? "absent" : "unknown";
  }

  /** "gone" if /proc/<pid> is missing or that process is no longer in the cgroup `rel`. */
  async #pidGone(pid: number, rel: string): Promise<"gone" | "alive" | "unknown"> {
    let text: string;
    try {
      text = await readFile(posix.join(this.procRoot, String(pid), "cgroup"), READ_UTF8);
    } catch (err) {
      return errnoCode(err) === "ENOENT" || errnoCode(err) === "ESRCH" ? "gone" : "unknown";
    }
    // `hierarchy-ID:controllers:path` per line; anything else is doubt, like empty content.
    const lines = text
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "")
      .map((l) => l.split(":"));
    if (lines.length === 0 || lines.some((f) => f.length < 3)) return "unknown";
    const paths = lines.map((f) => f.slice(2).join(":"));
    return paths.some((p) => p === rel || p.endsWith(rel)) ? "alive" : "gone";
  }

  #locate(containerId: string, rel: string): string {
    const tried: string[] = [];
    if (statKindSync(posix.join(this.cgroupRoot, "cgroup.controllers")) === "file") {
      this.#v2 = true;
      const f = posix.join(this.cgroupRoot, rel, "cgroup.procs");
      if (statKindSync(f) === "file") return f;
      throw new CgroupGoneError(containerId, [f]);
    }
    for (const h of V1_HIERARCHIES) {
      const f = posix.join(this.cgroupRoot, h, rel, "cgroup.procs");
      if (statKindSync(f) === "file") return f;
      tried.push(f);
    }
    throw new CgroupGoneError(containerId, tried);
  }

  #parse(text: string, file: string, containerId: string): number[] {
    const out: number[] = [];
    let i = -1;
    for (let start = 0; start < text.length;) {
      i += 1;
      const nl = text.indexOf("\n", start);
      const end = nl < 0 ? text.length : nl;
      const t = text.slice(start, end).trim();
      start = end + 1;
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

  #threadsOf(pid: number): number[] {
    const dir = `${this.#procSlash}${pid}/task`;
    try {
      const tids: number[] = [];
      for (const n of readdirSync(dir)) {
        if (!DIGITS.test(n)) continue;
        const t = Number(n);
        if (t > 0) tids.push(t);
      }
      return tids.length > 0 ? tids : [pid];
    } catch (err) {
      if (errnoCode(err) === "ENOENT" || errnoCode(err) === "ESRCH") return [];
      this.#log.warn({ pid, err }, "failed to list threads; using the process id only");
      return [pid];
    }
  }
}

type StatKind = "file" | "dir" | "other" | "missing" | "error";

function statKindSync(p: string): StatKind {
  try {
    const st = statSync(p, { throwIfNoEntry: false });
    if (st === undefined) return "missing";
    return st.isFile() ? "file" : st.isDirectory() ? "dir" : "other";
  } catch (err) {
    return errnoCode(err) === "ENOTDIR" ? "missing" : "error";
  }
}

function dirState(k: StatKind): "absent" | "present" | "unknown" {
  if (k === "missing") return "absent";
  return k === "dir" ? "present" : "unknown";
}
