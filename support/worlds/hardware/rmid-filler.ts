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
  /** Upper bound of helper groups (num_rmids plus a margin); reaching it while mkdir still succeeds is an error. */
  maxGroups: number;
  fs?: FillerFs;
  /** Waits between polls while RMIDs sit in limbo (EBUSY); injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  /** Clock; injectable for tests. */
  now?: () => number;
  /** Poll interval while waiting out limbo. */
  pollMs?: number;
}

/** Default poll interval while RMIDs are in limbo (the kernel re-checks limbo about once a second). */
export const DEFAULT_LIMBO_POLL_MS = 250;

/**
 * What a probe mkdir of a monitoring group says about the host's RMIDs: `free` (the mkdir
 * succeeded; the probe is removed again, which puts its RMID into limbo for up to one kernel
 * limbo check), `limbo` (EBUSY: none free, some in limbo), `exhausted` (ENOSPC: none free, none in
 * limbo).
 */
export type RmidAvailability = "free" | "limbo" | "exhausted";

/** How {@link RmidFiller.fillUntilFull} found the host full: the kernel's answer to the last mkdir. */
export interface FillResult {
  /** Helper groups held now. */
  held: number;
  /** `ENOSPC`: no RMID free and none in limbo. `EBUSY`: no RMID free, some still in limbo. */
  full: "ENOSPC" | "EBUSY";
}

/** Options of {@link RmidFiller.fillUntilFull}. */
export interface FillOptions {
  /**
   * How long to keep polling once mkdir answers EBUSY, taking every RMID that leaves limbo, in the
   * hope of reaching ENOSPC (default 0: stop at the first EBUSY, a full host is full).
   */
  limboWaitMs?: number;
}

const errCode = (e: unknown): string | undefined => (e as { code?: string } | null)?.code;

/**
 * Exhausts the host's RMIDs with empty helper monitoring groups, frees them one at a time, and
 * removes them all at the end. The kernel (`resctrl_find_free_rmid`) refuses a monitoring-group
 * mkdir when no RMID is free: with EBUSY while freed RMIDs still wait in limbo, with ENOSPC only
 * when none does. Both mean "full".
 *
 * Ownership: the filler owns every directory it created (tracked in creation order) and its probe
 * group, nothing else; {@link removeAll} also sweeps leftovers carrying its prefix. Not safe for
 * concurrent use.
 */
export class RmidFiller {
  readonly #o: Required<Omit<RmidFillerOptions, "fs" | "sleep" | "now">> & {
    fs: FillerFs;
    sleep: (ms: number) => Promise<void>;
    now: () => number;
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
      now: Date.now,
      ...options,
    };
  }

  /** Helper groups currently held. */
  get count(): number {
    return this.#created.length;
  }

  /** The most recently created helper group still held (the next {@link freeOne} removes it). */
  get newest(): string | undefined {
    return this.#created.at(-1);
  }

  /** The probe group's path (see {@link probe}). */
  get probePath(): string {
    return join(this.#o.monGroupsDir, `${this.#o.prefix}probe`);
  }

  /**
   * Creates helper groups until the kernel answers ENOSPC, or EBUSY (RMIDs in limbo: full as
   * well; with `limboWaitMs` it first keeps polling that long and takes whatever leaves limbo).
   * Rejects on any other error, when `maxGroups` is reached while mkdir still succeeds, or when
   * the host is not full after `deadlineMs` (a clear message, well before a step timeout would
   * cut it off); whatever was created stays tracked, so {@link removeAll} still cleans up.
   */
  async fillUntilFull(deadlineMs: number, options: FillOptions = {}): Promise<FillResult> {
    const start = this.#o.now();
    const until = start + deadlineMs;
    let limboUntil: number | undefined;
    let busy = false;
    for (;;) {
      if (this.#created.length >= this.#o.maxGroups) {
        throw new Error(
          `failed to exhaust RMIDs: created ${this.#created.length} helper groups and mkdir still succeeds (limit ${this.#o.maxGroups}: num_rmids plus a margin)`,
        );
      }
      if (this.#o.now() >= until) {
        if (busy) return { held: this.#created.length, full: "EBUSY" };
        throw new Error(
          `failed to exhaust RMIDs within ${deadlineMs} ms: created ${this.#created.length} helper groups in ${this.#o.monGroupsDir} and mkdir still succeeds`,
        );
      }
      const path = join(this.#o.monGroupsDir, `${this.#o.prefix}${this.#next++}`);
      try {
        await this.#o.fs.mkdir(path);
        this.#created.push(path);
        busy = false;
      } catch (e) {
        const code = errCode(e);
        if (code === "ENOSPC") return { held: this.#created.length, full: "ENOSPC" };
        if (code !== "EBUSY") throw new Error(`failed to create helper group ${path}`, { cause: e });
        busy = true;
        limboUntil ??= Math.min(until, this.#o.now() + (options.limboWaitMs ?? 0));
        if (this.#o.now() >= limboUntil) return { held: this.#created.length, full: "EBUSY" };
        await this.#o.sleep(this.#o.pollMs);
      }
    }
  }

  /** Removes the most recently created helper group, returning its path. Rejects if none is held. */
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
   * One probe mkdir of a monitoring group (removed again at once when it succeeds): what the
   * plugin's next group creation would meet. Rejects on any other error.
   */
  async probe(): Promise<RmidAvailability> {
    const probe = this.probePath;
    try {
      await this.#o.fs.mkdir(probe);
    } catch (e) {
      const code = errCode(e);
      if (code === "EBUSY") return "limbo";
      if (code === "ENOSPC") return "exhausted";
      throw new Error(`failed to probe RMIDs with mkdir ${probe}`, { cause: e });
    }
    try {
      await this.#o.fs.rmdir(probe);
    } catch (e) {
      throw new Error(`failed to remove the RMID probe group ${probe}`, { cause: e });
    }
    return "free";
  }

  /**
   * Waits until a probe mkdir stops answering EBUSY and succeeds: the RMIDs in limbo drained.
   * Resolves with the milliseconds it took. Rejects at once on ENOSPC (nothing free and nothing in
   * limbo: something else took the freed RMID), and after `deadlineMs` of EBUSY.
   */
  async waitForDrain(deadlineMs: number): Promise<number> {
    const start = this.#o.now();
    for (let probes = 1; ; probes++) {
      const a = await this.probe();
      const took = this.#o.now() - start;
      if (a === "free") return took;
      if (a === "exhausted")
        throw new Error(
          `failed to wait for RMIDs to leave limbo: mkdir answers ENOSPC after ${took} ms, so no RMID is free and none is in limbo (did something else take the freed RMID?)`,
        );
      if (took >= deadlineMs)
        throw new Error(
          `failed to wait for RMIDs to leave limbo: mkdir still answers EBUSY after ${took} ms (${probes} probes); the cache occupancy of the freed RMIDs stays above info/L3_MON/max_threshold_occupancy`,
        );
      await this.#o.sleep(this.#o.pollMs);
    }
  }

  /**
   * Waits until a monitoring group can be created again (a probe mkdir + rmdir succeeds), so RMIDs
   * freed by {@link removeAll} have left limbo before the next scenario needs them. Resolves true
   * on success, false at the deadline. Never rejects.
   */
  async waitUntilAllocatable(deadlineMs: number): Promise<boolean> {
    const until = this.#o.now() + deadlineMs;
    for (;;) {
      if ((await this.probe().catch(() => "error")) === "free") return true;
      if (this.#o.now() >= until) return false;
      await this.#o.sleep(this.#o.pollMs);
    }
  }

  /**
   * Removes every helper group (tracked or left over with this prefix, the probe included). Never
   * rejects: resolves with the paths that could not be removed (empty on success).
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
