import { posix } from "node:path";
import { errnoCode, errnoError } from "../resctrl/errors.js";
import type { FsProvider } from "../resctrl/provider.js";
import { MemFsFaults, type DeniableOp, type MemFsOp } from "./mem-fs-faults.js";
import { ResctrlModel, type MonReading, type ResctrlModelOptions } from "./mem-fs-kernel.js";
import { joinPath, MEMFS_BASE_MOUNTS, MemTree, norm, type MemNode } from "./mem-fs-tree.js";

/** `/proc/<pid>/cpu_resctrl_groups`, rendered from the task model. */
const PROC_RESCTRL_FILE = /^\/proc\/(\d+)\/cpu_resctrl_groups$/;
/** `/proc/<pid>`: exists while the task is alive. */
const PROC_PID_DIR = /^\/proc\/(\d+)$/;

export type { MemFsOp, DeniableOp } from "./mem-fs-faults.js";
export {
  MEMFS_DEFAULT_L3_DOMAINS,
  MEMFS_DEFAULT_MON_FEATURES,
  MEMFS_DEFAULT_NUM_RMIDS,
  type MonReading,
} from "./mem-fs-kernel.js";

/** Options of `new MemFs(...)`. */
export interface MemFsOptions extends ResctrlModelOptions {
  /**
   * Render `/proc/<pid>/cpu_resctrl_groups` for live tasks while resctrl is mounted (the kernel's
   * CONFIG_PROC_CPU_RESCTRL; default true). False models a kernel without it: the file is missing
   * while `/proc/<pid>` exists.
   */
  procResctrlGroups?: boolean;
  /** ENOSPC on group mkdir once this many RMIDs are in use (root counts as one; limbo RMIDs too). */
  rmidCapacity?: number;
  /**
   * How long a freed RMID stays unusable ("limbo"), measured with `now`. Default 0; `Infinity`:
   * until {@link MemFs.drainRmidLimbo}. While no RMID is free, mkdir of a group fails with EBUSY if
   * any RMID is in limbo and with ENOSPC otherwise, as the kernel does.
   */
  rmidLimboMs?: number;
  /** Clock for limbo. Default `Date.now`. */
  now?: () => number;
  /** When given, a task write for a PID it rejects fails with ESRCH (e.g. check real /proc). */
  pidExists?: (pid: number) => boolean;
  /** Domains of the `L3` resource under every `mon_data`. Default `MEMFS_DEFAULT_L3_DOMAINS` (`mon_L3_00`). */
  l3Domains?: readonly string[];
  /**
   * The monitoring the model offers: resource → events. Each resource `R` gets
   * `<root>/info/<R>_MON/mon_features` (one event per line) and every group (root, control and mon
   * groups) gets a read-only `mon_data/<domain>/<event>` file per event and per domain of `R`,
   * created with the group and removed with it (rmdir of a group takes its `mon_data` along, as
   * in the kernel). Default `MEMFS_DEFAULT_MON_FEATURES`: `{ L3: ["llc_occupancy",
   * "mbm_total_bytes", "mbm_local_bytes"] }`. E.g. `{ L3: ["llc_occupancy"] }` offers occupancy
   * only; adding `PERF_PKG: ["core_energy", "activity"]` adds a `mon_PERF_PKG_00` domain; `{}`
   * offers nothing (empty `mon_data`, no `mon_features`). `info/L3_MON/num_rmids` and
   * `max_threshold_occupancy` are always there. Names must be `[A-Za-z0-9_]+`.
   */
  monFeatures?: Readonly<Record<string, readonly string[]>>;
  /**
   * Domain directories per resource, e.g. `{ PERF_PKG: ["mon_PERF_PKG_00", "mon_PERF_PKG_01"] }`.
   * Default: `l3Domains` for `L3`, `mon_<R>_00` for any other resource.
   */
  monDomains?: Readonly<Record<string, readonly string[]>>;
  /**
   * Deterministic synthetic readings (the daemon's `--resctrl-provider memory` turns this on).
   * Default false: every `mon_data` file then reads `0` unless scripted with
   * {@link MemFs.setMonReading}, so tests control the values.
   *
   * When true, for a group with n tasks at time `now()` (a control group counts the tasks of its
   * mon groups too, as the kernel sums them), in EVERY domain of the resource:
   * - `llc_occupancy` = n × 1 MiB (n × 1048576 bytes);
   * - `mbm_total_bytes` = the integral of n × 1 MiB per second from the group's creation to now,
   *   i.e. floor(Σ nᵢ × Δtᵢ[ms] × 1048576 / 1000) over the periods between task-count changes, so it
   *   only grows, and grows while the group has tasks;
   * - `mbm_local_bytes` = floor(mbm_total_bytes / 2);
   * - any other event = 0.
   * A reading scripted with {@link MemFs.setMonReading} overrides the synthetic value of that file.
   */
  syntheticMonData?: boolean;
  /**
   * Record every call in {@link MemFs.log} and count it for {@link MemFs.calls}. Default true (tests
   * inspect both). A long-running user (the daemon's `--resctrl-provider memory`) sets false, so
   * memory does not grow with every call; `log` then stays empty and `calls` returns 0.
   */
  audit?: boolean;
}

/** Options of {@link MemFs.withResctrl}. */
export interface MemFsResctrlOptions extends MemFsOptions {
  /** Default `/sys/fs/resctrl`. */
  root?: string;
  /** Seed a mounted resctrl at `root`. Default true. */
  mounted?: boolean;
  /** List `nodev resctrl` in /proc/filesystems. Default true. */
  supported?: boolean;
}

/** One provider call as recorded in {@link MemFs.log}. */
export interface MemFsLogEntry {
  op: MemFsOp;
  path: string;
  data?: string;
  /** errno name (or message) when the call rejected. */
  error?: string;
}

/**
 * In-memory model of the resctrl kernel interface behind {@link FsProvider}; docs/resctrl.md
 * ("MemFs") states the exact semantics. Each async method runs synchronously inside, so every
 * call is atomic. Owns its whole tree; tests inspect it with the sync helpers (`readFile`,
 * `isDir`, `existsSync`, `tasksOf`, `calls`, `log`) and break it with the fault switches.
 * Rejections are Node-style errno errors, as the FsProvider contract requires.
 */
export class MemFs implements FsProvider {
  /** Every provider call in order. */
  readonly log: MemFsLogEntry[] = [];
  private readonly tree = new MemTree();
  private readonly kernel: ResctrlModel;
  private readonly faults = new MemFsFaults();
  private readonly counts = new Map<string, number>();
  private readonly audit: boolean;
  private readonly procResctrlGroups: boolean;
  private readonly pidExists: ((pid: number) => boolean) | undefined;

  constructor(options: MemFsOptions = {}) {
    this.audit = options.audit ?? true;
    this.procResctrlGroups = options.procResctrlGroups ?? true;
    this.pidExists = options.pidExists;
    this.kernel = new ResctrlModel(this.tree, options);
    this.kernel.pidFaults = {
      gone: this.faults.gonePids,
      foreign: this.faults.foreignPids,
      denied: this.faults.deniedPids,
    };
  }

  /** A tree with /proc/filesystems, /proc/mounts and (if `mounted`) a seeded resctrl at `root`. */
  static withResctrl(options: MemFsResctrlOptions = {}): MemFs {
    const fs = new MemFs(options);
    const root = norm(options.root ?? "/sys/fs/resctrl");
    fs.kernel.root = root;
    fs.kernel.supported = options.supported ?? true;
    fs.kernel.writeProcFilesystems();
    fs.tree.addFile("/proc/mounts", MEMFS_BASE_MOUNTS);
    fs.tree.addDir(root);
    if (options.mounted ?? true) fs.kernel.seedMount(root);
    return fs;
  }

  /** Attempts to write PID 0 to a tasks file (always refused with EINVAL). */
  get zeroPidWrites(): number {
    return this.kernel.zeroPidWrites;
  }
  /** See {@link MemFsOptions.rmidCapacity}. */
  get rmidCapacity(): number | undefined {
    return this.kernel.rmidCapacity;
  }
  set rmidCapacity(n: number | undefined) {
    this.kernel.rmidCapacity = n;
  }
  /** See {@link MemFsOptions.rmidLimboMs}. */
  get rmidLimboMs(): number {
    return this.kernel.rmidLimboMs;
  }
  set rmidLimboMs(ms: number) {
    this.kernel.rmidLimboMs = ms;
  }

  // ---- FsProvider -------------------------------------------------------------------------

  async exists(path: string): Promise<boolean> {
    if (this.audit) this.log.push({ op: "exists", path });
    try {
      this.count("exists", norm(path));
    } catch {
      return false;
    }
    return this.existsSync(path);
  }

  async createDir(path: string): Promise<void> {
    this.run("mkdir", path, undefined, (p) => {
      this.faults.checkDenied("mkdir", p);
      if (this.tree.has(p)) throw errnoError("EEXIST", "file exists", p);
      const parent = this.tree.get(posix.dirname(p));
      if (!parent) throw errnoError("ENOENT", "no such file or directory", p);
      if (parent.kind !== "dir") throw errnoError("ENOTDIR", "not a directory", p);
      if (this.kernel.underRoot(p)) this.kernel.mkdirInRoot(p, this.faults.enospcOnMkdir);
      else this.tree.set(p, { kind: "dir" });
    });
  }

  async removeDir(path: string): Promise<void> {
    this.run("rmdir", path, undefined, (p) => {
      this.faults.checkDenied("rmdir", p);
      if (this.tree.nodeOf(p).kind !== "dir") throw errnoError("ENOTDIR", "not a directory", p);
      if (this.kernel.mounted && (p === this.kernel.root || this.kernel.underRoot(p))) {
        this.kernel.rmdirInRoot(p);
        return;
      }
      if (this.tree.children(p).length > 0) throw errnoError("ENOTEMPTY", "directory not empty", p);
      this.tree.delete(p);
    });
  }

  async writeStr(path: string, data: string): Promise<void> {
    this.run("write", path, data, (p) => {
      this.faults.checkDenied("write", p);
      const node = this.writableNode(p);
      if (node.kind === "tasks") this.kernel.writeTasks(posix.dirname(p), data);
      else if (node.kind === "file") node.content = data;
    });
  }

  async readToString(path: string): Promise<string> {
    return this.run("read", path, undefined, (p) => {
      this.faults.checkDenied("read", p);
      return this.readFile(p);
    });
  }

  async checkCanOpenForWrite(path: string): Promise<void> {
    this.run("checkWrite", path, undefined, (p) => {
      this.faults.checkDenied("write", p);
      this.writableNode(p);
    });
  }

  async readChildDirs(path: string): Promise<string[]> {
    return this.run("list", path, undefined, (p) => {
      this.faults.checkDenied("list", p);
      if (this.tree.nodeOf(p).kind !== "dir") throw errnoError("ENOTDIR", "not a directory", p);
      const names = this.tree.children(p).filter((n) => this.tree.get(joinPath(p, n))?.kind === "dir");
      for (const gone of this.faults.takeVanish(p)) this.kernel.forceRemove(joinPath(p, gone));
      return names;
    });
  }

  async mountResctrl(target: string): Promise<void> {
    this.run("mount", target, undefined, (p) => {
      this.faults.takeMountError(p);
      if (!this.kernel.supported) throw errnoError("ENODEV", "unknown filesystem type 'resctrl'", p);
      if (this.kernel.mounted) throw errnoError("EBUSY", "resctrl already mounted", p);
      const node = this.tree.get(p);
      if (node && node.kind !== "dir") throw errnoError("ENOTDIR", "not a directory", p);
      if (!node && this.tree.get(posix.dirname(p))?.kind !== "dir") {
        throw errnoError("ENOENT", "no such directory", p);
      }
      this.kernel.seedMount(p);
    });
  }

  // ---- sync setup and inspection (not counted, no faults) -----------------------------------

  /** mkdir -p of plain directories (no kernel semantics). */
  addDir(path: string): void {
    this.tree.addDir(norm(path));
  }

  /** Creates or replaces a regular file, creating parent directories. */
  addFile(path: string, content: string): void {
    this.tree.addFile(norm(path), content);
  }

  /**
   * Contents of a file (a `tasks` file is rendered from the task model, a `mon_data` file from its
   * scripted or synthetic reading). Throws ENOENT/EISDIR, and EIO for a reading scripted as "EIO".
   */
  readFile(path: string): string {
    const p = norm(path);
    const proc = PROC_RESCTRL_FILE.exec(p);
    if (proc && this.procResctrlGroups && this.kernel.mounted) {
      const pid = Number(proc[1]);
      if (!this.taskAlive(pid)) throw errnoError("ENOENT", "no such process", p);
      return this.kernel.cpuResctrlGroups(pid);
    }
    const node = this.tree.nodeOf(p);
    if (node.kind === "dir") throw errnoError("EISDIR", "is a directory", p);
    if (node.kind === "file") return node.content;
    if (node.kind === "mon") return this.kernel.readMon(node, p);
    let text = "";
    for (const pid of this.kernel.tasksOf(posix.dirname(p))) text += `${pid}\n`;
    return text;
  }

  /** True if `path` is a directory. Never throws on missing paths. */
  isDir(path: string): boolean {
    return this.tree.get(norm(path))?.kind === "dir";
  }

  /** Sync existence check (the async `exists` is the provider method). Never throws. */
  existsSync(path: string): boolean {
    try {
      const p = norm(path);
      const proc = PROC_PID_DIR.exec(p);
      if (proc && !this.tree.has(p)) return this.taskAlive(Number(proc[1]));
      return this.tree.has(p);
    } catch {
      return false;
    }
  }

  /**
   * A task is alive unless `pidGone` says otherwise, it was placed in a group, or `pidExists` (when
   * given) says so; without `pidExists` every positive id is alive (what `/proc/<pid>` shows).
   */
  private taskAlive(pid: number): boolean {
    if (pid <= 0 || this.faults.gonePids.has(pid)) return false;
    if (this.kernel.knowsTask(pid)) return true;
    return this.pidExists ? this.pidExists(pid) : true;
  }

  /** Known tasks of a group, ascending; a ctrl group lists its mon groups' tasks too (kernel rule). */
  tasksOf(groupPath: string): number[] {
    return this.kernel.tasksOf(norm(groupPath));
  }

  /** The innermost group a known task is in, or undefined for a task never written. */
  groupOf(pid: number): string | undefined {
    return this.kernel.groupOf(pid);
  }

  /**
   * Scripts what `<groupPath>/mon_data/<domain>/<event>` reads (`domain` e.g. `"mon_L3_00"`): a
   * counter (a non-negative integer, printed in decimal), or the kernel's `"Unavailable"` /
   * `"Error"` text (the file then reads that text + newline), or `"EIO"`: reads of the file reject
   * with an errno EIO error, as the kernel's do. Overrides the synthetic reading of that file;
   * `undefined` removes the script. Gone with the group. Throws ENOENT if the group does not exist
   * or does not have that file; throws on any other value.
   */
  setMonReading(groupPath: string, domain: string, event: string, value: MonReading | undefined): void {
    this.kernel.setMonReading(norm(groupPath), domain, event, value);
  }

  /** Paths of every resctrl group, including the root (default) group, sorted. */
  groupPaths(): string[] {
    return this.kernel.groupPaths();
  }

  /** RMIDs in use: groups (root included) plus freed RMIDs still in limbo. */
  rmidsInUse(): number {
    return this.kernel.rmidsInUse();
  }

  /** Freed RMIDs still in limbo (see {@link MemFsOptions.rmidLimboMs}). */
  rmidsInLimbo(): number {
    return this.kernel.rmidsInLimbo();
  }

  /** The cache occupancy of every RMID in limbo fell below the threshold: they are free now. */
  drainRmidLimbo(): void {
    this.kernel.drainLimbo();
  }

  /** Number of calls of `op` (on exactly `path`, if given). */
  calls(op: MemFsOp, path?: string): number {
    return this.counts.get(path === undefined ? op : `${op} ${norm(path)}`) ?? 0;
  }

  // ---- fault switches (docs/resctrl.md, "Fault switches") ---------------------------------------

  /** While on, every group mkdir fails with ENOSPC. */
  failMkdirWithEnospc(on: boolean): void {
    this.faults.enospcOnMkdir = on;
  }
  /** EACCES for `ops` (default all) on exactly `path`. */
  denyPath(path: string, ops?: readonly DeniableOp[]): void {
    this.faults.denyPath(norm(path), ops);
  }
  /** Lifts every `denyPath` of `path`. */
  allowPath(path: string): void {
    this.faults.allowPath(norm(path));
  }
  /** Task writes of `pid` fail with ESRCH (the task exited). */
  pidGone(pid: number): void {
    this.faults.gonePids.add(pid);
  }
  /** Undoes `pidGone`. */
  clearPidGone(pid: number): void {
    this.faults.gonePids.delete(pid);
  }
  /** Task writes of `pid` fail with EINVAL (it sits in a control group the model does not show). */
  pidForeign(pid: number): void {
    this.faults.foreignPids.add(pid);
  }
  /** Undoes `pidForeign`. */
  clearPidForeign(pid: number): void {
    this.faults.foreignPids.delete(pid);
  }
  /** Task writes of `pid` fail with EPERM (not allowed to move that task); the file stays writable. */
  pidDenied(pid: number): void {
    this.faults.deniedPids.add(pid);
  }
  /** Undoes `pidDenied`. */
  clearPidDenied(pid: number): void {
    this.faults.deniedPids.delete(pid);
  }
  /** mountResctrl fails with `code` (`times` calls, or until cleared with `undefined`). */
  setMountError(code: string | undefined, times?: number): void {
    this.faults.setMountError(code, times);
  }
  /** Whether /proc/filesystems lists resctrl (and mount succeeds rather than ENODEV). */
  setSupported(on: boolean): void {
    this.kernel.supported = on;
    this.kernel.writeProcFilesystems();
  }
  /** On the next listing of `dirPath`, `name` is listed but removed right after (a race). */
  vanishOnList(dirPath: string, name: string): void {
    this.faults.vanishOnList(norm(dirPath), name);
  }
  /** The next `op` on exactly `path` fails with `code` (one shot; queued). */
  failNext(op: MemFsOp, path: string, code: string): void {
    this.faults.failNext(op, norm(path), code);
  }
  /** Clears every fault switch (not capacity, mount state or support). */
  clearFaults(): void {
    this.faults.clear();
  }
  /**
   * Mounts (seeds a fresh resctrl at the root) or unmounts (drops every group and task, leaves the
   * empty root directory like sysfs does) without going through `mountResctrl`.
   */
  setMounted(on: boolean): void {
    if (on === this.kernel.mounted) return;
    const root = this.kernel.root;
    if (!root) throw new Error("MemFs.setMounted: no resctrl root (use MemFs.withResctrl)");
    if (on) this.kernel.seedMount(root);
    else this.kernel.unmount();
  }

  // ---- internals --------------------------------------------------------------------------------

  private run<T>(op: MemFsOp, path: string, data: string | undefined, fn: (p: string) => T): T {
    if (!this.audit) {
      const p = norm(path);
      this.faults.takeOneShot(op, p);
      return fn(p);
    }
    const entry: MemFsLogEntry = data === undefined ? { op, path } : { op, path, data };
    this.log.push(entry);
    try {
      const p = norm(path);
      this.count(op, p);
      this.faults.takeOneShot(op, p);
      return fn(p);
    } catch (err) {
      entry.error = errnoCode(err) ?? String(err);
      throw err;
    }
  }

  /**
   * The node an open-for-write of `p` gets: ENOENT/EISDIR as usual, and EACCES for a regular file
   * inside a mounted resctrl (kernfs refuses to open a file without a write handler for writing,
   * even for root; MemFs models no writable resctrl file but `tasks`).
   */
  private writableNode(p: string): Exclude<MemNode, { kind: "dir" }> {
    const node = this.tree.nodeOf(p);
    if (node.kind === "dir") throw errnoError("EISDIR", "is a directory", p);
    if (node.kind === "mon" || (node.kind === "file" && this.kernel.mounted && this.kernel.underRoot(p))) {
      throw errnoError("EACCES", "permission denied (read-only resctrl file)", p);
    }
    return node;
  }

  private count(op: MemFsOp, path: string): void {
    if (!this.audit) return;
    const key = `${op} ${path}`;
    this.counts.set(op, (this.counts.get(op) ?? 0) + 1);
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }
}
