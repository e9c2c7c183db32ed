import { mkdir, readdir, rmdir } from "node:fs/promises";
import { join } from "node:path";

/** The directory operations the filler needs (node:fs by default; a fake in tests). */
export interface FillerFs {
  mkdir(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  readDirs(path: string): Promise<string[]>;
}

/** node:fs implementation of {@link FillerFs}. */
export const nodeFillerFs: FillerFs = {
  mkdir: async (p) => {
    await mkdir(p);
  },
  rmdir: (p) => rmdir(p),
  readDirs: async (p) =>
    (await readdir(p, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name),
};

/** Options of {@link RmidFiller}. */
export interface RmidFillerOptions {
  /** `<resctrl root>/mon_groups`. */
  monGroupsDir: string;
  /** Prefix of the helper groups; must differ from the plugin's so its startup cleanup keeps them. */
  prefix: string;
  /** Upper bound of helper groups (num_rmids plus a margin); reaching it without ENOSPC is an error. */
  maxGroups: number;
  fs?: FillerFs;
  /** Waits between polls while RMIDs sit in limbo (EBUSY); injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  /** Poll interval while waiting out limbo. */
  pollMs?: number;
}

/** Default poll interval while RMIDs are in limbo (the kernel re-checks limbo about once a second). */
export const DEFAULT_LIMBO_POLL_MS = 250;

const errCode = (e: unknown): string | undefined => (e as { code?: string } | null)?.code;

/**
 * Exhausts the host's RMIDs with empty helper monitoring groups, frees them one at a time, and
 * removes them all at the end. The kernel refuses a monitoring-group mkdir with ENOSPC when no RMID
 * is free, and (newer kernels) with EBUSY while freed RMIDs still wait in limbo; the filler keeps
 * polling through EBUSY until it sees ENOSPC, so "full" really means full.
 *
 * Ownership: the filler owns every directory it created (tracked in creation order) and nothing
 * else; {@link removeAll} also sweeps leftovers carrying its prefix. Not safe for concurrent use.
 */
export class RmidFiller {
  readonly #o: Required<Omit<RmidFillerOptions, "fs" | "sleep">> & {
    fs: FillerFs;
    sleep: (ms: number) => Promise<void>;
  };
  readonly #created: string[] = [];
  #next = 0;

  constructor(options: RmidFillerOptions) {
    if (!/^[A-Za-z0-9_-]+$/.test(options.prefix))
      throw new Error(`failed to create RMID filler: unsafe prefix ${JSON.stringify(options.prefix)}`);
    this.#o = {
      pollMs: DEFAULT_LIMBO_POLL_MS,
      fs: nodeFillerFs,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      ...options,
    };
  }

  /** Helper groups currently held. */
  get count(): number {
    return this.#created.length;
  }

  /**
   * Creates helper groups until the kernel answers ENOSPC. Resolves with the number held. Rejects
   * on any other error, when `maxGroups` is reached without ENOSPC, or when limbo does not drain
   * before `deadlineMs`; whatever was created stays tracked, so {@link removeAll} still cleans up.
   */
  async fillUntilFull(deadlineMs: number): Promise<number> {
    const until = Date.now() + deadlineMs;
    for (;;) {
      if (this.#created.length >= this.#o.maxGroups) {
        throw new Error(
          `failed to exhaust RMIDs: created ${this.#created.length} helper groups without ENOSPC (limit ${this.#o.maxGroups})`,
        );
      }
      const path = join(this.#o.monGroupsDir, `${this.#o.prefix}${this.#next++}`);
      try {
        await this.#o.fs.mkdir(path);
        this.#created.push(path);
      } catch (e) {
        const code = errCode(e);
        if (code === "ENOSPC") return this.#created.length;
        if (code === "EBUSY" && Date.now() < until) {
          await this.#o.sleep(this.#o.pollMs);
          continue;
        }
        throw new Error(
          `failed to create helper group ${path}${code === "EBUSY" ? " (RMIDs still in limbo at the deadline)" : ""}`,
          { cause: e },
        );
      }
    }
  }

  /** Removes the most recently created helper group, returning its RMID. Rejects if none is held. */
  async freeOne(): Promise<string> {
    const path = this.#created.pop();
    if (path === undefined) throw new Error("failed to free an RMID: the filler holds no helper group");
    try {
      await this.#o.fs.rmdir(path);
    } catch (e) {
      this.#created.push(path);
      throw new Error(`failed to remove helper group ${path}`, { cause: e });
    }
    return path;
  }

  /**
   * Waits until a monitoring group can be created again (a probe mkdir + rmdir succeeds), so RMIDs
   * freed by {@link removeAll} have left limbo before the next scenario needs them. Resolves true
   * on success, false at the deadline. Never rejects.
   */
  async waitUntilAllocatable(deadlineMs: number): Promise<boolean> {
    const until = Date.now() + deadlineMs;
    const probe = join(this.#o.monGroupsDir, `${this.#o.prefix}probe`);
    for (;;) {
      try {
        await this.#o.fs.mkdir(probe);
        await this.#o.fs.rmdir(probe).catch(() => undefined);
        return true;
      } catch {
        if (Date.now() >= until) return false;
        await this.#o.sleep(this.#o.pollMs);
      }
    }
  }

  /**
   * Removes every helper group (tracked or left over with this prefix). Never rejects: resolves
   * with the paths that could not be removed (empty on success).
   */
  async removeAll(): Promise<string[]> {
    const leftovers = new Set(this.#created);
    try {
      for (const n of await this.#o.fs.readDirs(this.#o.monGroupsDir)) {
        if (n.startsWith(this.#o.prefix)) leftovers.add(join(this.#o.monGroupsDir, n));
      }
    } catch {
      // mon_groups unreadable (resctrl unmounted): nothing of ours can be left in it.
    }
    const failed: string[] = [];
    for (const p of leftovers) {
      try {
        await this.#o.fs.rmdir(p);
      } catch (e) {
        if (errCode(e) !== "ENOENT") failed.push(p);
      }
    }
    this.#created.length = 0;
    return failed;
  }
}
