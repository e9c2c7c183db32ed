import { errnoError } from "../resctrl/errors.js";

/** The operations MemFs counts, logs and can fail. `checkWrite` = `checkCanOpenForWrite`. */
export type MemFsOp = "exists" | "mkdir" | "rmdir" | "write" | "read" | "checkWrite" | "list" | "mount";

/** Operations {@link MemFsFaults.denyPath} can refuse. `write` also covers `checkWrite`. */
export type DeniableOp = "read" | "write" | "mkdir" | "rmdir" | "list";

const ALL_DENIABLE: readonly DeniableOp[] = ["read", "write", "mkdir", "rmdir", "list"];

/**
 * Fault switches of MemFs, kept apart from the tree model. Owned by one MemFs; tests reach it
 * through the MemFs methods of the same names. Pure bookkeeping: no I/O, never blocks.
 */
export class MemFsFaults {
  enospcOnMkdir = false;
  private readonly denied = new Map<string, Set<DeniableOp>>();
  readonly gonePids = new Set<number>();
  readonly foreignPids = new Set<number>();
  readonly deniedPids = new Set<number>();
  private mountError: { code: string; times: number } | undefined;
  private readonly oneShots: { op: MemFsOp; path: string; code: string }[] = [];
  private readonly vanish = new Map<string, string[]>();

  /** EACCES on `ops` (default: all) for exactly `path`. */
  denyPath(path: string, ops: readonly DeniableOp[] = ALL_DENIABLE): void {
    const set = this.denied.get(path) ?? new Set<DeniableOp>();
    for (const op of ops) set.add(op);
    this.denied.set(path, set);
  }

  /** Lifts every denial of `path`. */
  allowPath(path: string): void {
    this.denied.delete(path);
  }

  /** Throws EACCES if `op` on `path` is denied. */
  checkDenied(op: DeniableOp, path: string): void {
    if (this.denied.get(path)?.has(op))
      throw errnoError("EACCES", `permission denied (MemFs denyPath ${op})`, path);
  }

  /** `times` undefined = until cleared with `setMountError(undefined)`. */
  setMountError(code: string | undefined, times?: number): void {
    this.mountError = code === undefined ? undefined : { code, times: times ?? Infinity };
  }

  /** Throws the configured mount error (consuming one of its `times`), if any. */
  takeMountError(path: string): void {
    if (!this.mountError) return;
    const { code } = this.mountError;
    this.mountError.times -= 1;
    if (this.mountError.times <= 0) this.mountError = undefined;
    throw errnoError(code, "mount failed (MemFs setMountError)", path);
  }

  /** The next `op` on exactly `path` fails with `code` (queue; each entry fires once). */
  failNext(op: MemFsOp, path: string, code: string): void {
    this.oneShots.push({ op, path, code });
  }

  /** Throws and consumes the first matching one-shot failure, if any. */
  takeOneShot(op: MemFsOp, path: string): void {
    const i = this.oneShots.findIndex((f) => f.op === op && f.path === path);
    if (i < 0) return;
    const [f] = this.oneShots.splice(i, 1);
    if (f) throw errnoError(f.code, `injected failure (MemFs failNext ${op})`, path);
  }

  /** On the next listing of `dirPath`, `name` is listed and then removed (a race). */
  vanishOnList(dirPath: string, name: string): void {
    this.vanish.set(dirPath, [...(this.vanish.get(dirPath) ?? []), name]);
  }

  /** Consumes the names to vanish after listing `dirPath`. */
  takeVanish(dirPath: string): string[] {
    const names = this.vanish.get(dirPath) ?? [];
    this.vanish.delete(dirPath);
    return names;
  }

  /** Resets every switch above. */
  clear(): void {
    this.enospcOnMkdir = false;
    this.denied.clear();
    this.gonePids.clear();
    this.foreignPids.clear();
    this.deniedPids.clear();
    this.mountError = undefined;
    this.oneShots.length = 0;
    this.vanish.clear();
  }
}
