import { posix } from "node:path";
import { errnoError } from "../resctrl/errors.js";
import { sortIds } from "../resctrl/tasks.js";
import {
  encodeMountField,
  MEMFS_BASE_FILESYSTEMS,
  MEMFS_BASE_MOUNTS,
  type MemNode,
  type MemTree,
} from "./mem-fs-tree.js";

/** RMIDs reported in `info/L3_MON/num_rmids` when no capacity is configured. */
export const MEMFS_DEFAULT_NUM_RMIDS = 256;
/** `info/L3_MON/max_threshold_occupancy` at mount (bytes; the kernel derives its own from the L3 size). */
export const MEMFS_DEFAULT_MAX_THRESHOLD_OCCUPANCY = 1_441_792;
/** L3 domains seeded under every `mon_data` when none are configured. */
export const MEMFS_DEFAULT_L3_DOMAINS: readonly string[] = ["mon_L3_00"];
/** Monitoring events offered when none are configured: `info/L3_MON/mon_features`. */
export const MEMFS_DEFAULT_MON_FEATURES: Readonly<Record<string, readonly string[]>> = {
  L3: ["llc_occupancy", "mbm_total_bytes", "mbm_local_bytes"],
};
const DIR_NODE: MemNode = Object.freeze({ kind: "dir" });
const MON_DATA: readonly string[] = Object.freeze(["mon_data"]);

/** Bytes per task of the synthetic readings (see `MemFsOptions.syntheticMonData`). */
const MIB = 1_048_576;

/** A scripted reading of one `mon_data` file: a counter, or what the kernel shows when it has none. */
export type MonReading = number | "Unavailable" | "Error" | "EIO";

const MON_NAME = /^[A-Za-z0-9_]+$/;

interface Group {
  kind: "ctrl" | "mon";
  /** The control group this group belongs to (itself for a ctrl group). */
  ctrl: string;
  /** Scripted readings by `<domain>/<event>` (override the synthetic or default value); created on the first. */
  readings?: Map<string, MonReading>;
  /** Where a task of this group is: one object per group, shared by every task placed in it. */
  task: Readonly<Task>;
  /** Synthetic MBM: task-milliseconds accumulated up to `since` (task count × time, piecewise). */
  taskMs: number;
  /** When `taskMs` was last brought up to date (the last change of the task count). */
  since: number;
}

interface Task {
  ctrl: string;
  mon: string | null;
}

/** Options of {@link ResctrlModel} (a subset of MemFs's). */
export interface ResctrlModelOptions {
  rmidCapacity?: number;
  rmidLimboMs?: number;
  now?: () => number;
  pidExists?: (pid: number) => boolean;
  l3Domains?: readonly string[];
  monFeatures?: Readonly<Record<string, readonly string[]>>;
  monDomains?: Readonly<Record<string, readonly string[]>>;
  syntheticMonData?: boolean;
}

/**
 * The resctrl part of MemFs: groups, tasks, RMIDs, mount state. Works on the shared tree;
 * MemFs does the generic checks (faults, existence, parent) before calling in. Synchronous.
 */
export class ResctrlModel {
  root: string | undefined;
  mounted = false;
  supported = true;
  zeroPidWrites = 0;
  rmidCapacity: number | undefined;
  rmidLimboMs: number;
  /** Per-pid fault sets, owned by MemFsFaults and consulted on tasks writes. */
  pidFaults: { gone: Set<number>; foreign: Set<number>; denied: Set<number> } = {
    gone: new Set(),
    foreign: new Set(),
    denied: new Set(),
  };
  private readonly groups = new Map<string, Group>();
  private readonly tasks = new Map<number, Task>();
  /** Task ids by control group and by monitoring group (indexes of `tasks`; reads stay O(group)). */
  private readonly byCtrl = new Map<string, Set<number>>();
  private readonly byMon = new Map<string, Set<number>>();
  private readonly limbo: number[] = [];
  private readonly now: () => number;
  private readonly pidExists: ((pid: number) => boolean) | undefined;
  /** Resource → events offered (`info/<R>_MON/mon_features`). */
  private readonly features: ReadonlyMap<string, readonly string[]>;
  /** Resource → its domain directories under every `mon_data`. */
  private readonly domainsOf: ReadonlyMap<string, readonly string[]>;
  /** Domain directory → its resource; and every domain directory name. */
  private readonly resourceOf = new Map<string, string>();
  private readonly domainNames: readonly string[];
  private readonly synthetic: boolean;

  constructor(
    private readonly tree: MemTree,
    options: ResctrlModelOptions,
  ) {
    this.rmidCapacity = options.rmidCapacity;
    this.rmidLimboMs = options.rmidLimboMs ?? 0;
    this.now = options.now ?? Date.now;
    this.pidExists = options.pidExists;
    this.synthetic = options.syntheticMonData ?? false;
    const features = new Map<string, readonly string[]>();
    const domainsOf = new Map<string, readonly string[]>();
    for (const [resource, events] of Object.entries(options.monFeatures ?? MEMFS_DEFAULT_MON_FEATURES)) {
      for (const name of [resource, ...events]) {
        if (!MON_NAME.test(name))
          throw new Error(`MemFs: monFeatures name ${JSON.stringify(name)} is not [A-Za-z0-9_]+`);
      }
      const domains =
        options.monDomains?.[resource] ??
        (resource === "L3" ? (options.l3Domains ?? MEMFS_DEFAULT_L3_DOMAINS) : [`mon_${resource}_00`]);
      for (const d of domains) {
        if (d.includes("/") || d === "." || d === ".." || d === "") {
          throw new Error(`MemFs: domain directory ${JSON.stringify(d)} is not a plain name`);
        }
      }
      features.set(resource, [...new Set(events)]);
      domainsOf.set(resource, domains);
    }
    this.features = features;
    this.domainsOf = domainsOf;
    for (const [resource, domains] of domainsOf) for (const d of domains) this.resourceOf.set(d, resource);
    this.domainNames = [...this.resourceOf.keys()];
    tree.setVirtual({ node: (p) => this.monNode(p), names: (dir) => this.monNames(dir) });
  }

  /** Strictly below the resctrl root. */
  underRoot(p: string): boolean {
    return this.root !== undefined && p.startsWith(`${this.root}/`);
  }

  /** True if `p` is a resctrl group (root included). */
  isGroup(p: string): boolean {
    return this.groups.has(p);
  }

  /** Every group path, sorted. */
  groupPaths(): string[] {
    return [...this.groups.keys()].sort();
  }

  /** Groups (root included) plus freed RMIDs still in limbo; drops expired limbo entries. */
  rmidsInUse(): number {
    return this.groups.size + this.rmidsInLimbo();
  }

  /**
   * Freed RMIDs not reusable yet: the kernel keeps a removed group's RMID in limbo until its cache
   * occupancy falls below `max_threshold_occupancy`. Here that takes `rmidLimboMs` (Infinity:
   * until {@link drainLimbo}). Drops expired entries.
   */
  rmidsInLimbo(): number {
    const now = this.now();
    while (this.limbo.length > 0 && now - (this.limbo[0] ?? 0) >= this.rmidLimboMs) this.limbo.shift();
    return this.limbo.length;
  }

  /** The cache drained: every RMID in limbo is free now. */
  drainLimbo(): void {
    this.limbo.length = 0;
  }

  /** Known tasks of a group, ascending; a ctrl group lists its mon groups' tasks too. */
  tasksOf(groupPath: string): number[] {
    const kind = this.groups.get(groupPath)?.kind;
    return sortIds([...((kind === "ctrl" ? this.byCtrl : this.byMon).get(groupPath) ?? [])]);
  }

  /**
   * `/proc/<pid>/cpu_resctrl_groups` as the kernel renders it (`proc_resctrl_show`): `res:/` for
   * the default group or `res:<control group>`, then `mon:<mon group name>` (empty when the task
   * is in no mon group). A task the model never placed is in the default group.
   */
  cpuResctrlGroups(pid: number): string {
    const t = this.tasks.get(pid) ?? { ctrl: this.root ?? "", mon: null };
    const res = t.ctrl === this.root ? "/" : posix.basename(t.ctrl);
    return `res:${res}\nmon:${t.mon === null ? "" : posix.basename(t.mon)}\n`;
  }

  /** True if the model placed `pid` (moved it at least once and it was not forgotten). */
  knowsTask(pid: number): boolean {
    return this.tasks.has(pid);
  }

  /** Innermost group of a known task. */
  groupOf(pid: number): string | undefined {
    const t = this.tasks.get(pid);
    return t ? (t.mon ?? t.ctrl) : undefined;
  }

  /**
   * The text of a `mon_data` file node at `path`: the scripted reading if any (EIO throws), else
   * the synthetic one when enabled, else `"0\n"`.
   */
  readMon(node: Extract<MemNode, { kind: "mon" }>, path: string): string {
    const g = this.groups.get(node.group);
    const scripted = g?.readings?.get(`${node.domain}/${node.event}`);
    if (scripted === "EIO") throw errnoError("EIO", "input/output error", path);
    if (scripted !== undefined) return `${typeof scripted === "number" ? BigInt(scripted) : scripted}\n`;
    if (!this.synthetic || !g) return "0\n";
    return `${this.syntheticValue(node.group, g, node.event)}\n`;
  }

  /** Scripts the reading of `<groupPath>/mon_data/<domain>/<event>`; `undefined` removes the script. */
  setMonReading(groupPath: string, domain: string, event: string, value: MonReading | undefined): void {
    const g = this.groups.get(groupPath);
    const file = `${groupPath}/mon_data/${domain}/${event}`;
    if (!g || this.tree.get(file)?.kind !== "mon") {
      throw errnoError("ENOENT", "no such monitoring file (group, domain or event not offered)", file);
    }
    if (value === undefined) {
      g.readings?.delete(`${domain}/${event}`);
      return;
    }
    const ok =
      typeof value === "number"
        ? Number.isInteger(value) && value >= 0
        : value === "Unavailable" || value === "Error" || value === "EIO";
    if (!ok)
      throw new Error(
        `MemFs.setMonReading: ${String(value)} is not a counter, "Unavailable", "Error" or "EIO"`,
      );
    (g.readings ??= new Map()).set(`${domain}/${event}`, value);
  }

  /** See `MemFsOptions.syntheticMonData`. */
  private syntheticValue(p: string, g: Group, event: string): bigint {
    const n = this.taskCount(p, g);
    if (event === "llc_occupancy") return BigInt(n * MIB);
    if (event !== "mbm_total_bytes" && event !== "mbm_local_bytes") return 0n;
    const taskMs = g.taskMs + n * Math.max(0, this.now() - g.since);
    const total = BigInt(Math.floor((taskMs * MIB) / 1000));
    return event === "mbm_total_bytes" ? total : total / 2n;
  }

  /** Writes `info/last_cmd_status` like the kernel does after each command. */
  setStatus(text: string): void {
    if (!this.root || !this.mounted) return;
    const info = `${this.root}/info`;
    // Runs after every group command: a plain set while info/ is there, mkdir -p only if it is not.
    if (this.tree.get(info)?.kind === "dir")
      this.tree.set(`${info}/last_cmd_status`, { kind: "file", content: `${text}\n` });
    else this.tree.addFile(`${info}/last_cmd_status`, `${text}\n`);
  }

  /** mkdir of `p` strictly under the root; the caller checked EEXIST/ENOENT/ENOTDIR. */
  mkdirInRoot(p: string, enospc: boolean): void {
    if (!this.mounted) throw errnoError("EPERM", "operation not permitted (sysfs, resctrl not mounted)", p);
    const kind = this.groupKindFor(p);
    if (!kind) throw errnoError("EPERM", "operation not permitted (not a place for a resctrl group)", p);
    if (enospc) {
      this.setStatus("Out of RMIDs");
      throw errnoError("ENOSPC", "no space left on device", p);
    }
    if (this.rmidCapacity !== undefined && this.rmidsInUse() >= this.rmidCapacity) {
      // resctrl_find_free_rmid(): no free RMID → EBUSY while any is in limbo, else ENOSPC.
      this.setStatus("Out of RMIDs");
      if (this.rmidsInLimbo() > 0) throw errnoError("EBUSY", "device or resource busy (RMIDs in limbo)", p);
      throw errnoError("ENOSPC", "no space left on device", p);
    }
    this.createGroupNodes(p, kind);
    this.setStatus("ok");
  }

  /** rmdir of the root or below it while mounted. */
  rmdirInRoot(p: string): void {
    if (p === this.root) throw errnoError("EBUSY", "device or resource busy (mount point)", p);
    if (!this.groups.has(p)) throw errnoError("EPERM", "operation not permitted (not a resctrl group)", p);
    this.removeGroup(p);
  }

  /** Removes `p` whatever it is (race simulation). */
  forceRemove(p: string): void {
    if (this.groups.has(p)) this.removeGroup(p);
    else this.tree.removeSubtree(p);
  }

  /**
   * A write to `<groupPath>/tasks`: comma-separated ids, each trimmed, parsed up to a token that
   * starts with a newline; tasks before the first failure stay moved (kernel's rdtgroup_tasks_write).
   */
  writeTasks(groupPath: string, data: string): void {
    const group = this.groups.get(groupPath);
    const file = `${groupPath}/tasks`;
    if (!group || !this.root) throw errnoError("ENOENT", "no such group", file);
    const tokens = splitTaskList(data);
    if (tokens.length === 0) throw errnoError("EINVAL", "empty tasks write", file);
    const fail = (code: string, status: string): never => {
      this.setStatus(status);
      throw errnoError(code, status, file);
    };
    for (const token of tokens) {
      const pid = /^\d+$/.test(token) ? Number(token) : NaN;
      if (!Number.isSafeInteger(pid)) fail("EINVAL", `Task list parsing error pid ${token}`);
      if (pid === 0) {
        this.zeroPidWrites += 1;
        fail("EINVAL", "MemFs refuses PID 0: the kernel would move the writing task itself");
      }
      if (this.pidFaults.gone.has(pid) || (this.pidExists && !this.pidExists(pid)))
        fail("ESRCH", `No task ${pid}`);
      if (this.pidFaults.denied.has(pid)) fail("EPERM", `No permission to move task ${pid}`);
      if (this.pidFaults.foreign.has(pid)) fail("EINVAL", "Can't move task to different control group");
      const currentCtrl = this.tasks.get(pid)?.ctrl ?? this.root;
      if (group.kind === "mon" && currentCtrl !== group.ctrl) {
        fail("EINVAL", "Can't move task to different control group");
      }
      this.place(pid, group.task);
    }
    this.setStatus("ok");
  }

  /** Mounts at `root` (the leaf exists): seeds the root group and the /proc/mounts line. */
  seedMount(root: string): void {
    this.root = root;
    this.mounted = true;
    this.tree.addDir(root);
    this.groups.set(root, this.newGroup("ctrl", root, root));
    this.tree.set(`${root}/tasks`, { kind: "tasks" });
    this.tree.addFile(`${root}/info/last_cmd_status`, "ok\n");
    this.tree.addFile(`${root}/info/L3_MON/num_rmids`, `${this.rmidCapacity ?? MEMFS_DEFAULT_NUM_RMIDS}\n`);
    this.tree.addFile(
      `${root}/info/L3_MON/max_threshold_occupancy`,
      `${MEMFS_DEFAULT_MAX_THRESHOLD_OCCUPANCY}\n`,
    );
    for (const [resource, events] of this.features) {
      this.tree.addFile(`${root}/info/${resource}_MON/mon_features`, events.map((e) => `${e}\n`).join(""));
    }
    this.tree.addDir(`${root}/mon_groups`);
    this.writeProcMounts();
  }

  /** Unmounts: drops groups, tasks, limbo and the mount line; the empty root dir stays. */
  unmount(): void {
    if (this.root) this.tree.removeBelow(this.root);
    this.groups.clear();
    this.tasks.clear();
    this.byCtrl.clear();
    this.byMon.clear();
    this.limbo.length = 0;
    this.mounted = false;
    this.writeProcMounts();
  }

  /** Rewrites /proc/filesystems with or without the resctrl line. */
  writeProcFilesystems(): void {
    const node = this.tree.get("/proc/filesystems");
    const base = (node?.kind === "file" ? node.content : MEMFS_BASE_FILESYSTEMS).replace(
      /^nodev\tresctrl\n/m,
      "",
    );
    this.tree.addFile("/proc/filesystems", base + (this.supported ? "nodev\tresctrl\n" : ""));
  }

  private writeProcMounts(): void {
    const node = this.tree.get("/proc/mounts");
    const base = node?.kind === "file" ? node.content : MEMFS_BASE_MOUNTS;
    const kept = base.split("\n").filter((l) => l.trim() !== "" && l.trim().split(/\s+/)[2] !== "resctrl");
    if (this.mounted && this.root)
      kept.push(`resctrl ${encodeMountField(this.root)} resctrl rw,relatime 0 0`);
    this.tree.addFile("/proc/mounts", kept.map((l) => `${l}\n`).join(""));
  }

  private groupKindFor(p: string): "ctrl" | "mon" | undefined {
    const parent = posix.dirname(p);
    if (parent === this.root) return "ctrl";
    if (posix.basename(parent) !== "mon_groups") return undefined;
    return this.groups.get(posix.dirname(parent))?.kind === "ctrl" ? "mon" : undefined;
  }

  private createGroupNodes(p: string, kind: "ctrl" | "mon"): void {
    this.tree.set(p, { kind: "dir" });
    this.tree.set(`${p}/tasks`, { kind: "tasks" });
    if (kind === "ctrl") this.tree.set(`${p}/mon_groups`, { kind: "dir" });
    this.groups.set(p, this.newGroup(kind, p, kind === "ctrl" ? p : posix.dirname(posix.dirname(p))));
  }

  private newGroup(kind: "ctrl" | "mon", p: string, ctrl: string): Group {
    const task = kind === "ctrl" ? { ctrl: p, mon: null } : { ctrl, mon: p };
    return { kind, ctrl, task, taskMs: 0, since: this.synthetic ? this.now() : 0 };
  }

  /**
   * The node at `p` if it is in a group's `mon_data`: `<group>/mon_data` and its domain
   * directories, and `<group>/mon_data/<domain>/<event>` for every offered event of the domain's
   * resource. These are computed, not stored in the tree (about ten stored nodes per group were
   * most of a group's memory and of its mkdir time); they exist exactly while the group does.
   */
  monNode(p: string): MemNode | undefined {
    for (let i = p.lastIndexOf("/mon_data"); i > 0; i = p.lastIndexOf("/mon_data", i - 1)) {
      const group = p.slice(0, i);
      if (!this.groups.has(group)) continue;
      const rest = p.slice(i + "/mon_data".length);
      if (rest === "") return DIR_NODE;
      if (!rest.startsWith("/")) continue;
      const slash = rest.indexOf("/", 1);
      const domain = slash < 0 ? rest.slice(1) : rest.slice(1, slash);
      const resource = this.resourceOf.get(domain);
      if (resource === undefined) return undefined;
      if (slash < 0) return DIR_NODE;
      const event = rest.slice(slash + 1);
      return this.features.get(resource)?.includes(event) ? { kind: "mon", group, domain, event } : undefined;
    }
    return undefined;
  }

  /** Names of the computed children of `dir` (see {@link monNode}). */
  monNames(dir: string): readonly string[] {
    if (this.groups.has(dir)) return MON_DATA;
    if (!dir.includes("/mon_data") || this.monNode(dir)?.kind !== "dir") return [];
    const last = dir.slice(dir.lastIndexOf("/") + 1);
    if (last === "mon_data" && this.groups.has(dir.slice(0, -"/mon_data".length))) return this.domainNames;
    const resource = this.resourceOf.get(last);
    return resource === undefined ? [] : (this.features.get(resource) ?? []);
  }

  /** Tasks counted in the group's readings: a ctrl group's include its mon groups' (kernel rule). */
  private taskCount(p: string, g: Group): number {
    return (g.kind === "ctrl" ? this.byCtrl : this.byMon).get(p)?.size ?? 0;
  }

  /** Brings the synthetic integral of group `p` up to now, before its task count changes. */
  private settle(p: string | null): void {
    if (!this.synthetic || p === null) return;
    const g = this.groups.get(p);
    if (!g) return;
    const t = this.now();
    if (t > g.since) {
      g.taskMs += this.taskCount(p, g) * (t - g.since);
      g.since = t;
    }
  }
  private removeGroup(p: string): void {
    const g = this.groups.get(p);
    if (!g || !this.root) return;
    if (g.kind === "ctrl") {
      for (const [path, child] of [...this.groups]) {
        if (child.kind === "mon" && child.ctrl === p) this.removeGroup(path);
      }
      const home = this.groups.get(this.root)?.task ?? { ctrl: this.root, mon: null };
      for (const pid of [...(this.byCtrl.get(p) ?? [])]) this.moveBack(pid, home);
    } else {
      const home = this.groups.get(g.ctrl)?.task ?? { ctrl: g.ctrl, mon: null };
      for (const pid of [...(this.byMon.get(p) ?? [])]) this.moveBack(pid, home);
    }
    this.byCtrl.delete(p);
    this.byMon.delete(p);
    this.tree.removeSubtree(p);
    this.groups.delete(p);
    if (this.rmidLimboMs > 0) {
      this.rmidsInUse(); // drop expired entries first, so limbo stays bounded without a capacity check
      this.limbo.push(this.now());
    }
  }

  /**
   * A task of a removed group goes to `t`, unless `pidExists` says it exited: the kernel lists
   * only live tasks, and forgetting it keeps a long-running MemFs (the daemon's memory provider)
   * from growing with every task it ever moved.
   */
  private moveBack(pid: number, t: Readonly<Task>): void {
    if (this.pidExists && !this.pidExists(pid)) this.forget(pid);
    else this.place(pid, t);
  }

  private forget(pid: number): void {
    const old = this.tasks.get(pid);
    if (!old) return;
    this.settle(old.ctrl);
    this.settle(old.mon);
    this.byCtrl.get(old.ctrl)?.delete(pid);
    if (old.mon !== null) this.byMon.get(old.mon)?.delete(pid);
    this.tasks.delete(pid);
  }

  /**
   * Sets (or moves) task `pid`, keeping the group indexes in step. An index entry that stays is
   * left alone: a long-lived Map or Set that drops and re-adds a key is rehashed into a new table
   * in old space every few such moves (garbage only a full GC frees).
   */
  private place(pid: number, t: Readonly<Task>): void {
    const old = this.tasks.get(pid);
    if (old === t) return;
    if (old) {
      this.settle(old.ctrl);
      this.settle(old.mon);
      if (old.ctrl !== t.ctrl) this.byCtrl.get(old.ctrl)?.delete(pid);
      if (old.mon !== null && old.mon !== t.mon) this.byMon.get(old.mon)?.delete(pid);
    }
    this.settle(t.ctrl);
    this.settle(t.mon);
    this.tasks.set(pid, t);
    if (old?.ctrl !== t.ctrl) addTo(this.byCtrl, t.ctrl, pid);
    if (t.mon !== null && old?.mon !== t.mon) addTo(this.byMon, t.mon, pid);
  }
}

function addTo(index: Map<string, Set<number>>, key: string, pid: number): void {
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(pid);
}

/** The kernel's loop: `strim(strsep(&buf, ","))` while the rest is non-empty and not "\n"-led. */
function splitTaskList(data: string): string[] {
  const tokens: string[] = [];
  let rest: string | undefined = data;
  while (rest !== undefined && rest !== "" && !rest.startsWith("\n")) {
    const comma = rest.indexOf(",");
    tokens.push((comma < 0 ? rest : rest.slice(0, comma)).trim());
    rest = comma < 0 ? undefined : rest.slice(comma + 1);
  }
  return tokens;
}
