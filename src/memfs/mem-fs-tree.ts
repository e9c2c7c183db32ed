import { posix } from "node:path";
import { errnoError } from "../resctrl/errors.js";

/**
 * A node of the MemFs tree. `tasks` files have no stored content: they render the task model;
 * `mon` files (`<group>/mon_data/<domain>/<event>`) render the group's reading of `event` in
 * `domain` (scripted or synthetic, see the resctrl model).
 */
export type MemNode =
  | { kind: "dir" }
  | { kind: "file"; content: string }
  | { kind: "tasks" }
  | { kind: "mon"; group: string; domain: string; event: string };

/** /proc/filesystems of a MemFs, without the resctrl line. */
export const MEMFS_BASE_FILESYSTEMS = "nodev\tsysfs\nnodev\tproc\nnodev\tcgroup2\n\text4\n";

/** /proc/mounts of a MemFs, without the resctrl line. */
export const MEMFS_BASE_MOUNTS =
  "sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\nproc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n";

/** Encodes a mount point the way the kernel writes it to /proc/mounts (space, tab, newline, backslash). */
export function encodeMountField(path: string): string {
  return path.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, "0")}`);
}

/** Normalizes an absolute path (no trailing slash); EINVAL for relative paths or NUL bytes. */
export function norm(path: string): string {
  if (typeof path !== "string" || !path.startsWith("/") || path.includes("\0")) {
    throw errnoError("EINVAL", "MemFs paths must be absolute", String(path));
  }
  // Already normal (no empty, "." or ".." segment, no trailing slash): as is, without
  // posix.normalize's copy; every MemFs call passes through here.
  if (!NOT_NORMAL.test(path)) return path;
  const p = posix.normalize(path);
  return p.length > 1 && p.endsWith("/") ? p.slice(0, -1) : p;
}

/** A path `norm` has to rewrite: `//`, a `.` or `..` segment, or a trailing `/` (except `/`). */
const NOT_NORMAL = /\/\/|\/\.\.?(?:\/|$)|.\/$/;

/** `dir/name`, correct for `/`. */
export function joinPath(dir: string, name: string): string {
  return dir === "/" ? `/${name}` : `${dir}/${name}`;
}

/**
 * Nodes a {@link MemTree} does not store but computes on lookup. `node` answers for paths the tree
 * has no stored node at; `names` lists the computed children of `dir` (merged with stored ones).
 */
export interface VirtualNodes {
  node(p: string): MemNode | undefined;
  names(dir: string): readonly string[];
}

/**
 * The plain path → node map under MemFs. Paths given here are already normalized. No kernel
 * rules, no faults, no counting; synchronous.
 */
export class MemTree {
  private readonly nodes = new Map<string, MemNode>([["/", { kind: "dir" }]]);
  /** dir → full paths of its direct children in `nodes`: keeps listings and subtree removal O(subtree). */
  private readonly kids = new Map<string, Set<string>>();
  /** Nodes computed on lookup instead of stored (the resctrl model's `mon_data` trees). */
  private virtual: VirtualNodes | undefined;
  /** Computed paths removed (race simulations): hidden with everything below them. */
  private readonly hidden = new Set<string>();

  /** Serves lookups that miss the stored nodes from `v` (one source; set once by the owner). */
  setVirtual(v: VirtualNodes): void {
    this.virtual = v;
  }

  /** The node at `p`, if any. */
  get(p: string): MemNode | undefined {
    return this.nodes.get(p) ?? this.computed(p);
  }

  /** True if anything is at `p`. */
  has(p: string): boolean {
    return this.nodes.has(p) || this.computed(p) !== undefined;
  }

  private computed(p: string): MemNode | undefined {
    if (!this.virtual) return undefined;
    if (this.hidden.size > 0) {
      for (let q = p; q.length > 1; q = q.slice(0, Math.max(1, q.lastIndexOf("/"))))
        if (this.hidden.has(q)) return undefined;
    }
    return this.virtual.node(p);
  }

  /** Puts `node` at `p` (no parent check). */
  set(p: string, node: MemNode): void {
    this.put(p, node);
  }

  /** Removes exactly `p`. */
  delete(p: string): void {
    this.drop(p);
  }

  /** The node, or ENOENT. */
  nodeOf(p: string): MemNode {
    const node = this.get(p);
    if (!node) throw errnoError("ENOENT", "no such file or directory", p);
    return node;
  }

  /** Names of the direct children of `dir`, sorted. */
  children(dir: string): string[] {
    const prefix = dir === "/" ? "/" : `${dir}/`;
    const names = [...(this.kids.get(dir) ?? [])].map((k) => k.slice(prefix.length));
    const more = this.virtual?.names(dir) ?? [];
    for (const n of more) if (!names.includes(n) && this.computed(joinPath(dir, n))) names.push(n);
    return names.sort();
  }

  /** Deletes `p` and everything below it (a computed node is hidden instead). */
  removeSubtree(p: string): void {
    const computed = !this.nodes.has(p) && this.computed(p) !== undefined;
    this.removeBelow(p);
    this.drop(p);
    if (computed) this.hidden.add(p);
  }

  /** Deletes everything strictly below `p`. */
  removeBelow(p: string): void {
    const stack = [...(this.kids.get(p) ?? [])];
    while (stack.length > 0) {
      const q = stack.pop() as string;
      stack.push(...(this.kids.get(q) ?? []));
      this.kids.delete(q);
      this.nodes.delete(q);
    }
    this.kids.delete(p);
    for (const h of this.hidden) if (h.startsWith(`${p}/`)) this.hidden.delete(h);
  }

  /** mkdir -p. */
  addDir(p: string): void {
    if (p !== "/") this.addDir(posix.dirname(p));
    const node = this.nodes.get(p);
    if (node && node.kind !== "dir") throw new Error(`MemFs.addDir: ${p} is a file`);
    if (!node) this.put(p, { kind: "dir" });
  }

  /** Creates or replaces a regular file, creating parent directories. */
  addFile(p: string, content: string): void {
    this.addDir(posix.dirname(p));
    if (this.nodes.get(p)?.kind === "dir") throw new Error(`MemFs.addFile: ${p} is a directory`);
    this.put(p, { kind: "file", content });
  }

  private put(p: string, node: MemNode): void {
    this.hidden.delete(p);
    if (p !== "/" && !this.nodes.has(p)) {
      const dir = posix.dirname(p);
      let set = this.kids.get(dir);
      if (!set) this.kids.set(dir, (set = new Set()));
      set.add(p);
    }
    this.nodes.set(p, node);
  }

  private drop(p: string): void {
    if (this.nodes.delete(p)) this.kids.get(posix.dirname(p))?.delete(p);
  }
}
