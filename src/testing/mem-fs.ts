import { posix } from "node:path";
import { errnoCode, errnoError } from "../resctrl/errors.js";
import type { FsProvider } from "../resctrl/provider.js";
import { MemFsFaults, type DeniableOp, type MemFsOp } from "./mem-fs-faults.js";
import { encodeMountField, MEMFS_BASE_FILESYSTEMS, MEMFS_BASE_MOUNTS, type MemNode } from "./mem-fs-tree.js";

export type { MemFsOp, DeniableOp } from "./mem-fs-faults.js";

/** RMIDs reported in `info/L3_MON/num_rmids` when no capacity is configured. */
export const MEMFS_DEFAULT_NUM_RMIDS = 256;
/** L3 domains seeded under every `mon_data` when none are configured. */
export const MEMFS_DEFAULT_L3_DOMAINS: readonly string[] = ["mon_L3_00"];

/** Options of `new MemFs(...)`. */
export interface MemFsOptions {
  /** ENOSPC on group mkdir once this many RMIDs are in use (root counts as one; limbo RMIDs too). */
  rmidCapacity?: number;
  /** How long a freed RMID stays unusable ("limbo"), measured with `now`. Default 0. */
  rmidLimboMs?: number;
  /** Clock for limbo. Default `Date.now`. */
  now?: () => number;
  /** When given, a task write for a PID it rejects fails with ESRCH (e.g. check real /proc). */
  pidExists?: (pid: number) => boolean;
  /** Domains created under every `mon_data`. Default {@link MEMFS_DEFAULT_L3_DOMAINS}. */
  l3Domains?: readonly string[];
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

interface Group {
  kind: "ctrl" | "mon";
  /** The control group this group belongs to (itself for a ctrl group). */
  ctrl: string;
}

interface Task {
  ctrl: string;
  mon: string | null;
}

/**
 * In-memory model of the resctrl kernel interface behind {@link FsProvider}; see docs/resctrl.md
 * ("MemFs") for the exact semantics. Single-threaded and synchronous inside each async method, so
 * every call is atomic. Owns its whole tree; tests inspect it with the sync helpers (`readFile`,
 * `isDir`, `existsSync`, `tasksOf`, `calls`, `log`) and break it with the fault switches.
 */
export class MemFs implements FsProvider {
  /** Every provider call in order. */
  readonly log: MemFsLogEntry[] = [];
  /** Attempts to write PID 0 to a tasks file (always refused with EINVAL). */
  zeroPidWrites = 0;
  /** See {@link MemFsOptions.rmidCapacity}; settable. */
  rmidCapacity: number | undefined;
  /** See {@link MemFsOptions.rmidLimboMs}; settable. */
  rmidLimboMs: number;
  private readonly nodes = new Map<string, MemNode>([["/", { kind: "dir" }]]);
  private readonly groups = new Map<string, Group>();
  private readonly tasks = new Map<number, Task>();
  private readonly limbo: number[] = [];
  private readonly faults = new MemFsFaults();
  private readonly counts = new Map<string, number>();
  private readonly now: () => number;
  private readonly pidExists: ((pid: number) => boolean) | undefined;
  private readonly domains: readonly string[];
  private root: string | undefined;
  private mounted = false;
  private supported = true;

  constructor(options: MemFsOptions = {}) {
    this.rmidCapacity = options.rmidCapacity;
    this.rmidLimboMs = options.rmidLimboMs ?? 0;
    this.now = options.now ?? Date.now;
    this.pidExists = options.pidExists;
    this.domains = options.l3Domains ?? MEMFS_DEFAULT_L3_DOMAINS;
  }

  /** A tree with /proc/filesystems, /proc/mounts and (if `mounted`) a seeded resctrl at `root`. */
  static withResctrl(options: MemFsResctrlOptions = {}): MemFs {
    const fs = new MemFs(options);
    fs.root = options.root ?? "/sys/fs/resctrl";
    fs.supported = options.supported ?? true;
    fs.addFile("/proc/filesystems", MEMFS_BASE_FILESYSTEMS + (fs.supported ? "nodev\tresctrl\n" : ""));
    fs.addFile("/proc/mounts", MEMFS_BASE_MOUNTS);
    fs.addDir(fs.root);
    if (options.mounted ?? true) fs.seedMount(fs.root);
    return fs;
  }

  // ---- FsProvider -------------------------------------------------------------------------

  async exists(path: string): Promise<boolean> {
    this.count("exists", path);
    this.log.push({ op: "exists", path });
    return this.existsSync(path);
  }

  async createDir(path: string): Promise<void> {
    this.run("mkdir", path, undefined, (p) => this.mkdir(p));
  }

  async removeDir(path: string): Promise<void> {
    this.run("rmdir", path, undefined, (p) => this.rmdir(p));
  }

  async writeStr(path: string, data: string): Promise<void> {
    this.run("write", path, data, (p) => {
      this.faults.checkDenied("write", p);
      const node = this.nodeOf(p);
      if (node.kind === "dir") throw errnoError("EISDIR", "is a directory", p);
      if (node.kind === "tasks") this.writeTasks(posix.dirname(p), data);
      else node.content = data;
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
      if (this.nodeOf(p).kind === "dir") throw errnoError("EISDIR", "is a directory", p);
    });
  }

  async readChildDirs(path: string): Promise<string[]> {
    return this.run("list", path, undefined, (p) => {
      this.faults.checkDenied("list", p);
      if (this.nodeOf(p).kind !== "dir") throw errnoError("ENOTDIR", "not a directory", p);
      const names = this.children(p).filter((n) => this.nodes.get(join(p, n))?.kind === "dir");
      for (const gone of this.faults.takeVanish(p)) this.forceRemove(join(p, gone));
      return names;
    });
  }

  async mountResctrl(target: string): Promise<void> {
    this.run("mount", target, undefined, (p) => {
      this.faults.takeMountError(p);
      if (!this.supported) throw errnoError("ENODEV", "unknown filesystem type 'resctrl'", p);
      if (this.mounted) throw errnoError("EBUSY", "resctrl already mounted", p);
      const node = this.nodes.get(p);
      if (node && node.kind !== "dir") throw errnoError("ENOTDIR", "not a directory", p);
      if (!node) {
        if (this.nodes.get(posix.dirname(p))?.kind !== "dir")
          throw errnoError("ENOENT", "no such directory", p);
        this.nodes.set(p, { kind: "dir" });
      }
      this.seedMount(p);
    });
  }

  // ---- sync setup and inspection (not counted, no faults) -----------------------------------

  /** mkdir -p of plain directories (no kernel semantics). */
  addDir(path: string): void {
    const p = norm(path);
    if (p !== "/") this.addDir(posix.dirname(p));
    const node = this.nodes.get(p);
    if (node && node.kind !== "dir") throw new Error(`MemFs.addDir: ${p} is a file`);
    if (!node) this.nodes.set(p, { kind: "dir" });
  }

  /** Creates or replaces a regular file, creating parent directories. */
  addFile(path: string, content: string): void {
    const p = norm(path);
    this.addDir(posix.dirname(p));
    if (this.nodes.get(p)?.kind === "dir") throw new Error(`MemFs.addFile: ${p} is a directory`);
    this.nodes.set(p, { kind: "file", content });
  }

  /** Contents of a file (a `tasks` file is rendered from the task model). Throws ENOENT/EISDIR. */
  readFile(path: string): string {
    const p = norm(path);
    const node = this.nodeOf(p);
    if (node.kind === "dir") throw errnoError("EISDIR", "is a directory", p);
    if (node.kind === "file") return node.content;
    return this.tasksOf(posix.dirname(p))
      .map((pid) => `${pid}\n`)
      .join("");
  }

  isDir(path: string): boolean {
    return this.nodes.get(norm(path))?.kind === "dir";
  }

  existsSync(path: string): boolean {
    try {
      return this.nodes.has(norm(path));
    } catch {
      return false;
    }
  }

  /** Known tasks of a group, ascending: a ctrl group lists its mon groups' tasks too (kernel rule). */
  tasksOf(groupPath: string): number[] {
    const g = norm(groupPath);
    const kind = this.groups.get(g)?.kind;
    return [...this.tasks.entries()]
      .filter(([, t]) => (kind === "ctrl" ? t.ctrl === g : t.mon === g))
      .map(([pid]) => pid)
      .sort((a, b) => a - b);
  }

  /** The innermost group a known task is in, or undefined for a task never written. */
  groupOf(pid: number): string | undefined {
    const t = this.tasks.get(pid);
    return t ? (t.mon ?? t.ctrl) : undefined;
  }

  /** Paths of every resctrl group, including the root (default) group, sorted. */
  groupPaths(): string[] {
    return [...this.groups.keys()].sort();
  }

  /** RMIDs in use: groups (root included) plus freed RMIDs still in limbo. */
  rmidsInUse(): number {
    const now = this.now();
    while (this.limbo.length > 0 && now - (this.limbo[0] ?? 0) >= this.rmidLimboMs) this.limbo.shift();
    return this.groups.size + this.limbo.length;
  }

  /** Number of calls of `op` (on exactly `path`, if given). */
  calls(op: MemFsOp, path?: string): number {
    return this.counts.get(path === undefined ? op : `${op} ${norm(path)}`) ?? 0;
  }

  // ---- fault switches -------------------------------------------------------------------------

  /** While on, every group mkdir fails with ENOSPC. */
  failMkdirWithEnospc(on: boolean): void {
    this.faults.enospcOnMkdir = on;
  }
  /** EACCES for `ops` (default all) on exactly `path`. */
  denyPath(path: string, ops?: readonly DeniableOp[]): void {
    this.faults.denyPath(norm(path), ops);
  }
  allowPath(path: string): void {
    this.faults.allowPath(norm(path));
  }
  /** Task writes of `pid` fail with ESRCH (the task exited). */
  pidGone(pid: number): void {
    this.faults.gonePids.add(pid);
  }
  clearPidGone(pid: number): void {
    this.faults.gonePids.delete(pid);
  }
  /** Task writes of `pid` fail with EINVAL (it sits in a control group the model does not show). */
  pidForeign(pid: number): void {
    this.faults.foreignPids.add(pid);
  }
  clearPidForeign(pid: number): void {
    this.faults.foreignPids.delete(pid);
  }
  /** Task writes of `pid` fail with EPERM (not allowed to move that task); the file stays writable. */
  pidDenied(pid: number): void {
    this.faults.deniedPids.add(pid);
  }
  clearPidDenied(pid: number): void {
    this.faults.deniedPids.delete(pid);
  }
  /** mountResctrl fails with `code` (`times` calls, or until cleared with `undefined`). */
  setMountError(code: string | undefined, times?: number): void {
    this.faults.setMountError(code, times);
  }
  /** Whether /proc/filesystems lists resctrl (and mount succeeds rather than ENODEV). */
  setSupported(on: boolean): void {
    this.supported = on;
    const node = this.nodes.get("/proc/filesystems");
    const text = (node?.kind === "file" ? node.content : MEMFS_BASE_FILESYSTEMS).replace(
      /^nodev\tresctrl\n/m,
      "",
    );
    this.addFile("/proc/filesystems", text + (on ? "nodev\tresctrl\n" : ""));
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
    if (on === this.mounted) return;
    if (!this.root) throw new Error("MemFs.setMounted: no resctrl root (use MemFs.withResctrl)");
    if (on) {
      this.seedMount(this.root);
      return;
    }
    for (const p of [...this.nodes.keys()]) if (p.startsWith(`${this.root}/`)) this.nodes.delete(p);
    this.groups.clear();
    this.tasks.clear();
    this.limbo.length = 0;
    this.mounted = false;
    this.writeProcMounts();
  }

  // ---- internals --------------------------------------------------------------------------------

  private run<T>(op: MemFsOp, path: string, data: string | undefined, fn: (p: string) => T): T {
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

  private count(op: MemFsOp, path: string): void {
    const key = `${op} ${path}`;
    this.counts.set(op, (this.counts.get(op) ?? 0) + 1);
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  private nodeOf(p: string): MemNode {
    const node = this.nodes.get(p);
    if (!node) throw errnoError("ENOENT", "no such file or directory", p);
    return node;
  }

  private children(dir: string): string[] {
    const prefix = dir === "/" ? "/" : `${dir}/`;
    const out: string[] = [];
    for (const key of this.nodes.keys()) {
      if (key !== dir && key.startsWith(prefix) && !key.slice(prefix.length).includes("/")) {
        out.push(key.slice(prefix.length));
      }
    }
    return out.sort();
  }

  /** Strictly below the resctrl root. */
  private underRoot(p: string): boolean {
    return this.root !== undefined && p.startsWith(`${this.root}/`);
  }

  private setStatus(text: string): void {
    if (this.root && this.mounted) this.addFile(`${this.root}/info/last_cmd_status`, `${text}\n`);
  }

  private mkdir(p: string): void {
    this.faults.checkDenied("mkdir", p);
    if (this.nodes.has(p)) throw errnoError("EEXIST", "file exists", p);
    const parent = this.nodes.get(posix.dirname(p));
    if (!parent) throw errnoError("ENOENT", "no such file or directory", p);
    if (parent.kind !== "dir") throw errnoError("ENOTDIR", "not a directory", p);
    if (!this.underRoot(p)) {
      this.nodes.set(p, { kind: "dir" });
      return;
    }
    if (!this.mounted) throw errnoError("EPERM", "operation not permitted (sysfs, resctrl not mounted)", p);
    const kind = this.groupKindFor(p);
    if (!kind) throw errnoError("EPERM", "operation not permitted (not a place for a resctrl group)", p);
    const full = this.rmidCapacity !== undefined && this.rmidsInUse() >= this.rmidCapacity;
    if (this.faults.enospcOnMkdir || full) {
      this.setStatus("Out of RMIDs");
      throw errnoError("ENOSPC", "no space left on device", p);
    }
    this.createGroupNodes(p, kind);
    this.setStatus("ok");
  }

  private groupKindFor(p: string): "ctrl" | "mon" | undefined {
    const parent = posix.dirname(p);
    if (parent === this.root) return "ctrl";
    if (posix.basename(parent) !== "mon_groups") return undefined;
    return this.groups.get(posix.dirname(parent))?.kind === "ctrl" ? "mon" : undefined;
  }

  private createGroupNodes(p: string, kind: "ctrl" | "mon"): void {
    this.nodes.set(p, { kind: "dir" });
    this.nodes.set(`${p}/tasks`, { kind: "tasks" });
    for (const d of this.domains) this.addFile(`${p}/mon_data/${d}/llc_occupancy`, "0\n");
    if (kind === "ctrl") this.nodes.set(`${p}/mon_groups`, { kind: "dir" });
    this.groups.set(p, { kind, ctrl: kind === "ctrl" ? p : posix.dirname(posix.dirname(p)) });
  }

  private rmdir(p: string): void {
    this.faults.checkDenied("rmdir", p);
    const node = this.nodeOf(p);
    if (node.kind !== "dir") throw errnoError("ENOTDIR", "not a directory", p);
    if (this.mounted && p === this.root)
      throw errnoError("EBUSY", "device or resource busy (mount point)", p);
    if (this.mounted && this.underRoot(p)) {
      if (!this.groups.has(p)) throw errnoError("EPERM", "operation not permitted (not a resctrl group)", p);
      this.removeGroup(p);
      return;
    }
    if (this.children(p).length > 0) throw errnoError("ENOTEMPTY", "directory not empty", p);
    this.nodes.delete(p);
  }

  private removeGroup(p: string): void {
    const g = this.groups.get(p);
    if (!g || !this.root) return;
    if (g.kind === "ctrl") {
      for (const [path, child] of [...this.groups])
        if (child.kind === "mon" && child.ctrl === p) this.removeGroup(path);
      for (const t of this.tasks.values()) if (t.ctrl === p) Object.assign(t, { ctrl: this.root, mon: null });
    } else {
      for (const t of this.tasks.values()) if (t.mon === p) t.mon = null;
    }
    for (const key of [...this.nodes.keys()])
      if (key === p || key.startsWith(`${p}/`)) this.nodes.delete(key);
    this.groups.delete(p);
    if (this.rmidLimboMs > 0) this.limbo.push(this.now());
  }

  private forceRemove(p: string): void {
    if (this.groups.has(p)) this.removeGroup(p);
    else
      for (const key of [...this.nodes.keys()])
        if (key === p || key.startsWith(`${p}/`)) this.nodes.delete(key);
  }

  private writeTasks(groupPath: string, data: string): void {
    const group = this.groups.get(groupPath);
    if (!group || !this.root) throw errnoError("ENOENT", "no such group", `${groupPath}/tasks`);
    const tokens = data.trim().split(/\s+/).filter(Boolean);
    if (tokens.length === 0) throw errnoError("EINVAL", "empty tasks write", `${groupPath}/tasks`);
    for (const token of tokens) {
      const pid = /^\d+$/.test(token) ? Number(token) : NaN;
      const fail = (code: string, status: string): never => {
        this.setStatus(status);
        throw errnoError(code, status, `${groupPath}/tasks`);
      };
      if (!Number.isSafeInteger(pid)) fail("EINVAL", `Invalid task id "${token}"`);
      if (pid === 0) {
        this.zeroPidWrites += 1;
        fail("EINVAL", "MemFs refuses PID 0: the kernel would move the writing task itself");
      }
      if (this.faults.gonePids.has(pid) || (this.pidExists && !this.pidExists(pid)))
        fail("ESRCH", `No task ${pid}`);
      if (this.faults.deniedPids.has(pid)) fail("EPERM", `No permission to move task ${pid}`);
      if (this.faults.foreignPids.has(pid)) fail("EINVAL", "Can't move task to different control group");
      const current = this.tasks.get(pid) ?? { ctrl: this.root, mon: null };
      if (group.kind === "mon" && current.ctrl !== group.ctrl)
        fail("EINVAL", "Can't move task to different control group");
      this.tasks.set(
        pid,
        group.kind === "mon" ? { ctrl: group.ctrl, mon: groupPath } : { ctrl: groupPath, mon: null },
      );
    }
    this.setStatus("ok");
  }

  private seedMount(root: string): void {
    this.root = root;
    this.mounted = true;
    this.addDir(root);
    this.groups.set(root, { kind: "ctrl", ctrl: root });
    this.nodes.set(`${root}/tasks`, { kind: "tasks" });
    this.addFile(`${root}/info/last_cmd_status`, "ok\n");
    this.addFile(`${root}/info/L3_MON/num_rmids`, `${this.rmidCapacity ?? MEMFS_DEFAULT_NUM_RMIDS}\n`);
    this.addDir(`${root}/mon_groups`);
    for (const d of this.domains) this.addFile(`${root}/mon_data/${d}/llc_occupancy`, "0\n");
    this.writeProcMounts();
  }

  private writeProcMounts(): void {
    const current = this.nodes.get("/proc/mounts");
    const base = current?.kind === "file" ? current.content : MEMFS_BASE_MOUNTS;
    const kept = base.split("\n").filter((l) => l.trim() !== "" && l.trim().split(/\s+/)[2] !== "resctrl");
    if (this.mounted && this.root)
      kept.push(`resctrl ${encodeMountField(this.root)} resctrl rw,relatime 0 0`);
    this.addFile("/proc/mounts", kept.map((l) => `${l}\n`).join(""));
  }
}

function norm(path: string): string {
  if (typeof path !== "string" || !path.startsWith("/") || path.includes("\0")) {
    throw errnoError("EINVAL", "MemFs paths must be absolute", String(path));
  }
  const p = posix.normalize(path);
  return p.length > 1 && p.endsWith("/") ? p.slice(0, -1) : p;
}

function join(dir: string, name: string): string {
  return dir === "/" ? `/${name}` : `${dir}/${name}`;
}
