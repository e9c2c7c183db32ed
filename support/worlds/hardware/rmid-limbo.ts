import { spawn } from "node:child_process";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

/*
 * Real RMID limbo on an RDT host. Kernel facts (resctrl monitor.c: free_rmid, add_rmid_to_limbo,
 * __check_limbo, resctrl_find_free_rmid):
 * - Removing a monitoring group frees its RMID into limbo. Since Linux 6.8 always, on every L3
 *   domain; before 6.8 only on the domains where it is dirty (the freeing CPU's domain is read:
 *   occupancy <= threshold there counts as clean), so a clean RMID on a one-domain host went
 *   straight back to the free list.
 * - A limbo worker per domain re-reads every RMID in limbo each CQM_LIMBOCHECK_INTERVAL (1 s) and
 *   keeps it while `llc_occupancy >= info/L3_MON/max_threshold_occupancy`, frees it otherwise.
 * - While no RMID is free, a monitoring-group mkdir answers EBUSY if any RMID is in limbo, ENOSPC
 *   only if none is.
 * - `max_threshold_occupancy` is writable, in bytes, from 0 up to the LLC size (the "cache size"
 *   of /proc/cpuinfo, x86_cache_size KiB; more is EINVAL), rounded to the counter's scale.
 *
 * Hence: with the threshold at 0 no RMID ever leaves limbo (every occupancy is >= 0), and with it
 * at the LLC size every RMID leaves at the next limbo check. To make sure a freed RMID enters limbo
 * on kernels before 6.8 as well, a task in its group first fills the cache ("dirties" it), so its
 * occupancy is above 0 when the group is removed.
 */

/** The kernel's limbo threshold, relative to the resctrl root. */
export const THRESHOLD_FILE = "info/L3_MON/max_threshold_occupancy";
/** LLC size assumed when /proc/cpuinfo names none (only the size of the cache fill depends on it). */
export const FALLBACK_LLC_BYTES = 64 << 20;

/** The LLC size /proc/cpuinfo reports (`cache size : 107520 KB`), in bytes, or undefined. Pure. */
export function parseLlcBytes(cpuinfo: string): number | undefined {
  const m = /^cache size\s*:\s*(\d+)\s*KB\s*$/m.exec(cpuinfo);
  const kib = m ? Number(m[1]) : NaN;
  return Number.isSafeInteger(kib) && kib > 0 ? kib * 1024 : undefined;
}

/** Reads a kernel counter file: a non-negative integer, or undefined ("Unavailable", "Error", garbage). Pure. */
export function parseCounter(text: string): number | undefined {
  const t = text.trim();
  return /^\d+$/.test(t) ? Number(t) : undefined;
}

/** File access of {@link OccupancyThreshold} (node:fs by default; a fake in tests). */
export interface ThresholdFs {
  read(path: string): Promise<string>;
  write(path: string, data: string): Promise<void>;
}

/** node:fs implementation of {@link ThresholdFs}. */
export const nodeThresholdFs: ThresholdFs = {
  read: (p) => readFile(p, "utf8"),
  write: (p, d) => writeFile(p, d),
};

/**
 * `info/L3_MON/max_threshold_occupancy` of one resctrl mount: set for a scenario step, restored
 * afterwards. Ownership: remembers the value it found before its first change and writes exactly
 * that back in {@link restore}; it never changes the threshold unasked.
 */
export class OccupancyThreshold {
  readonly #path: string;
  #original: number | undefined;

  constructor(
    resctrlRoot: string,
    private readonly fs: ThresholdFs = nodeThresholdFs,
  ) {
    this.#path = join(resctrlRoot, THRESHOLD_FILE);
  }

  get path(): string {
    return this.#path;
  }

  /** True once {@link set} changed it (and until {@link restore}). */
  get changed(): boolean {
    return this.#original !== undefined;
  }

  /** The current threshold in bytes. Rejects when the file is missing or unparsable. */
  async current(): Promise<number> {
    let text: string;
    try {
      text = await this.fs.read(this.#path);
    } catch (e) {
      throw new Error(`failed to read ${this.#path}`, { cause: e });
    }
    const v = parseCounter(text);
    if (v === undefined) throw new Error(`failed to read ${this.#path}: ${JSON.stringify(text.trim())}`);
    return v;
  }

  /** Writes `bytes` (the kernel rounds it to its counter scale), remembering the original first. */
  async set(bytes: number): Promise<void> {
    if (!Number.isSafeInteger(bytes) || bytes < 0)
      throw new Error(`failed to set ${this.#path}: ${bytes} is not a byte count`);
    this.#original ??= await this.current();
    try {
      await this.fs.write(this.#path, `${bytes}\n`);
    } catch (e) {
      throw new Error(
        `failed to set ${this.#path} to ${bytes} bytes (the kernel refuses more than the LLC size)`,
        { cause: e },
      );
    }
  }

  /** Writes back the value found before the first {@link set}. Resolves false (never rejects) when that failed. */
  async restore(): Promise<boolean> {
    if (this.#original === undefined) return true;
    try {
      await this.fs.write(this.#path, `${this.#original}\n`);
      this.#original = undefined;
      return true;
    } catch {
      return false;
    }
  }
}

/** The group's `llc_occupancy` summed over its L3 domains (`mon_data/mon_L3_*`), in bytes; 0 when unreadable. */
export async function groupOccupancy(groupDir: string): Promise<number> {
  const monData = join(groupDir, "mon_data");
  const domains = (await readdir(monData).catch(() => [] as string[])).filter((d) => d.startsWith("mon_L3_"));
  let sum = 0;
  for (const d of domains) {
    const v = parseCounter(await readFile(join(monData, d, "llc_occupancy"), "utf8").catch(() => ""));
    sum += v ?? 0;
  }
  return sum;
}

/**
 * The child that fills the cache: it announces itself, waits until its main thread was moved
 * into the group (a line on stdin), writes every cache line of a `size`-byte buffer three times,
 * says so, and exits. The main thread's TID is its PID, which is what goes into `tasks`.
 */
export const CACHE_FILL_SCRIPT = [
  "const size = Number(process.argv[1]);",
  'process.stdout.write("ready\\n");',
  'process.stdin.once("data", () => {',
  "  const b = Buffer.allocUnsafe(size);",
  "  for (let pass = 0; pass < 3; pass++) for (let i = 0; i < size; i += 64) b[i] = pass;",
  '  process.stdout.write("filled\\n", () => process.exit(0));',
  "});",
].join("\n");

/**
 * Makes a monitoring group's RMID "dirty": a short-lived process whose main thread sits in the
 * group writes `bytes` of memory, so the LLC holds lines tagged with the group's RMID after the
 * process is gone. Resolves with the group's `llc_occupancy` afterwards (0 when the kernel shows
 * none; for the record only). Rejects when the child cannot be started, moved or finished within
 * `timeoutMs`; the child is killed in every case.
 */
export async function dirtyGroupCache(groupDir: string, bytes: number, timeoutMs: number): Promise<number> {
  const child = spawn(process.execPath, ["-e", CACHE_FILL_SCRIPT, String(bytes)], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  const exited = new Promise<string>((resolve) => {
    child.once("error", (e) => resolve(`failed to start: ${e.message}`));
    // "close", not "exit": its stdout is read to the end by then.
    child.once("close", (code, signal) => resolve(`exit ${code ?? signal}`));
  });
  const said = (word: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (out.split("\n").includes(word)) resolve();
      };
      child.stdout.on("data", (c: Buffer) => {
        out += c.toString();
        check();
      });
      check();
      void exited.then((how) =>
        reject(new Error(`the cache filler ended (${how}) before "${word}"; ${err}`)),
      );
    });
  child.stderr.on("data", (c: Buffer) => (err += c.toString()));
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the cache filler did not finish within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([said("ready"), deadline]);
    try {
      await writeFile(join(groupDir, "tasks"), `${child.pid}\n`);
    } catch (e) {
      throw new Error(`failed to move the cache filler (pid ${child.pid}) into ${groupDir}`, { cause: e });
    }
    child.stdin.write("go\n");
    await Promise.race([said("filled"), deadline]);
    await Promise.race([exited, deadline]);
  } catch (e) {
    throw new Error(`failed to fill the cache from group ${groupDir}: ${(e as Error).message}`, { cause: e });
  } finally {
    clearTimeout(timer);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  return groupOccupancy(groupDir);
}
