import { posix } from "node:path";
import type { MemFsLogEntry } from "../../../src/memfs/mem-fs.js";

/** Operations that change the filesystem. */
const MUTATING = new Set(["mkdir", "rmdir", "write", "mount"]);

/**
 * Questions about what the plugin did to the in-memory kernel, answered from MemFs's call log
 * (the @fs-audit port of the mock world, and of the containerd world's in-process plugin).
 * Only entries from `from` on count, so the world's own setup (seeded groups) is excluded. Pure.
 */
export class FsAudit {
  constructor(
    private readonly log: readonly MemFsLogEntry[],
    private readonly root: string,
  ) {}

  /** Index of the next log entry; pass it as `from` to look only at what happens afterwards. */
  mark(): number {
    return this.log.length;
  }

  /** mkdir attempts of monitoring groups (`<root>/mon_groups/<name>`), failed ones included. */
  groupCreationAttempts(from: number, to = this.log.length): number {
    return this.log.slice(from, to).filter((e) => e.op === "mkdir" && this.isMonGroup(e.path)).length;
  }

  /** Every value written to a `tasks` file, in order (0 included: MemFs records refused writes too). */
  taskWrites(from: number): number[] {
    return this.log
      .slice(from)
      .filter((e) => e.op === "write" && e.path.endsWith("/tasks"))
      .flatMap((e) => (e.data ?? "").trim().split(/\s+/).filter(Boolean).map(Number));
  }

  /** Paths created, written, removed or mounted outside the resctrl root. */
  touchedOutsideRoot(from: number): string[] {
    return this.log
      .slice(from)
      .filter((e) => MUTATING.has(e.op) && !this.inside(posix.normalize(e.path)))
      .map((e) => `${e.op} ${e.path}`);
  }

  /** Directories successfully created. */
  created(from: number): string[] {
    return this.log
      .slice(from)
      .filter((e) => e.op === "mkdir" && e.error === undefined)
      .map((e) => e.path);
  }

  private inside(path: string): boolean {
    return path === this.root || path.startsWith(`${this.root}/`);
  }

  private isMonGroup(path: string): boolean {
    const rest = path.startsWith(`${this.root}/mon_groups/`)
      ? path.slice(this.root.length + "/mon_groups/".length)
      : "";
    return rest !== "" && !rest.includes("/");
  }
}
