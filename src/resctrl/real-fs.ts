import { closeSync, constants, openSync, readSync, readdirSync } from "node:fs";
import { access, mkdir, open, readFile, readdir, rmdir, stat } from "node:fs/promises";
import { errnoCode, errnoError, errorMessage } from "./errors.js";
import type { FsProvider } from "./provider.js";

/** Options of {@link RealFs}. */
export interface RealFsOptions {
  /** The mount(8) binary. Default {@link DEFAULT_MOUNT_COMMAND}. */
  mountCommand?: string;
}

/**
 * Options of every text read (`readFile`, `readFileSync`): one frozen object. Node 20 copies a
 * string `"utf8"` argument into a fresh options object whose hidden class V8 does not share, so
 * each such call leaves a map, a descriptor array and IC handlers in old space until the next full
 * GC (about 250 bytes per read; docs/performance.md). An object argument is used as is.
 */
export const READ_UTF8: Readonly<{ encoding: "utf8" }> = Object.freeze({ encoding: "utf8" });

/** Default mount binary used by {@link RealFs.mountResctrl}. */
export const DEFAULT_MOUNT_COMMAND = "mount";

/**
 * {@link FsProvider} over `node:fs/promises` and mount(8). Stateless; every call is independent and
 * asynchronous (libuv thread pool), so a slow sysfs never blocks the event loop. Rejects with
 * Node errno errors (`code` = errno name), as the provider contract requires.
 */
export class RealFs implements FsProvider {
  private readonly mountCommand: string;

  constructor(options: RealFsOptions = {}) {
    this.mountCommand = options.mountCommand ?? DEFAULT_MOUNT_COMMAND;
  }

  async exists(path: string): Promise<boolean> {
    try {
      await access(path, constants.F_OK);
      return true;
    } catch {
      return false;
    }
  }

  async createDir(path: string): Promise<void> {
    await mkdir(path);
  }

  async removeDir(path: string): Promise<void> {
    await rmdir(path);
  }

  /** Opens the existing file O_WRONLY (no O_CREAT/O_TRUNC/O_APPEND), one write, close. */
  async writeStr(path: string, data: string): Promise<void> {
    const fh = await open(path, constants.O_WRONLY);
    try {
      const buf = Buffer.from(data, "utf8");
      const { bytesWritten } = await fh.write(buf, 0, buf.length, null);
      if (bytesWritten !== buf.length) {
        throw errnoError("EIO", `short write (${bytesWritten} of ${buf.length} bytes)`, path);
      }
    } finally {
      await fh.close();
    }
  }

  async readToString(path: string): Promise<string> {
    return readFile(path, READ_UTF8);
  }

  /** open + read(s) + close, without readFileSync's fstat: sysfs files are tiny and report size 4096. */
  readToStringSync(path: string): string {
    const fd = openSync(path, "r");
    try {
      const chunks: Buffer[] = [];
      for (;;) {
        const buf = Buffer.allocUnsafe(4096);
        const n = readSync(fd, buf, 0, buf.length, null);
        if (n === 0) break;
        chunks.push(n === buf.length ? buf : buf.subarray(0, n));
        if (n < buf.length && chunks.length === 1) break; // a short first read: the whole file
      }
      return Buffer.concat(chunks).toString("utf8");
    } finally {
      closeSync(fd);
    }
  }

  readChildDirsSync(path: string): string[] {
    return readdirSync(path, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  }

  async checkCanOpenForWrite(path: string): Promise<void> {
    const fh = await open(path, constants.O_WRONLY);
    await fh.close();
  }

  /** Immediate subdirectories; entries are not followed, so symlinks to directories are not listed. */
  async readChildDirs(path: string): Promise<string[]> {
    const entries = await readdir(path, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).map((e) => e.name);
  }

  /**
   * Creates the leaf `target` if missing, then runs `mount -t resctrl resctrl <target>`. A failing
   * mount(8) is mapped to an errno error from its message: permission → EPERM/EACCES, unknown
   * filesystem type → ENODEV, busy/already mounted → EBUSY, anything else → EIO; stderr is kept
   * in the message.
   */
  async mountResctrl(target: string): Promise<void> {
    try {
      await mkdir(target);
    } catch (err) {
      if (errnoCode(err) !== "EEXIST") throw err;
      const st = await stat(target);
      if (!st.isDirectory()) throw errnoError("ENOTDIR", "mount target is not a directory", target);
    }
    let result;
    try {
      // Loaded on first use: only a daemon that has to mount resctrl pays for execa's memory.
      const { execa } = await import("execa");
      result = await execa(this.mountCommand, ["-t", "resctrl", "resctrl", target], {
        reject: false,
        stdin: "ignore",
      });
    } catch (err) {
      throw errnoError(
        errnoCode(err) ?? "EIO",
        `cannot run ${this.mountCommand}: ${errorMessage(err)}`,
        target,
      );
    }
    if (result.failed) {
      const text = `${String(result.stderr ?? "")} ${String(result.stdout ?? "")}`.trim();
      const e = errnoError(mountFailureCode(text, result.code), `mount -t resctrl failed: ${text}`, target);
      e.cause = result;
      throw e;
    }
  }
}

/**
 * Maps mount(8)'s failure text to an errno name. Exported for tests. `spawnCode` is execa's
 * `code` (set when the binary could not be started, e.g. ENOENT).
 */
export function mountFailureCode(text: string, spawnCode?: string): string {
  if (spawnCode && /^E[A-Z]+$/.test(spawnCode)) return spawnCode;
  const t = text.toLowerCase();
  if (/permission denied|operation not permitted|must be superuser|only root/.test(t)) {
    return t.includes("operation not permitted") || t.includes("superuser") || t.includes("only root")
      ? "EPERM"
      : "EACCES";
  }
  if (/unknown filesystem type|no such device/.test(t)) return "ENODEV";
  if (/already mounted|busy/.test(t)) return "EBUSY";
  if (/invalid argument/.test(t)) return "EINVAL";
  return "EIO";
}
