/**
 * The filesystem seam of the resctrl layer. `Resctrl` performs every kernel interaction through
 * one of these, so the same logic runs against the real `/sys/fs/resctrl` ({@link RealFs}) or the
 * in-memory kernel model (`MemFs` in `src/memfs/`).
 *
 * Failure contract: every method rejects with a Node-style errno error — an `Error` whose `code`
 * is the errno name (`"ENOENT"`, `"ENOSPC"`, `"EACCES"`, `"ESRCH"`, `"EINVAL"`, …) and whose
 * `errno` is the negative number when known. `Resctrl` maps those codes to its typed errors; a
 * provider never throws the typed errors itself.
 *
 * Paths are absolute. No method follows `..` out of what it is given; confinement to the resctrl
 * root is enforced one level up, in `Resctrl`.
 */
export interface FsProvider {
  /** True if a file or directory exists at `path`. Never rejects. */
  exists(path: string): Promise<boolean>;
  /** mkdir of exactly one level (no `-p`). EEXIST if present, ENOENT if the parent is missing. */
  createDir(path: string): Promise<void>;
  /** rmdir. ENOENT if missing; EBUSY/ENOTEMPTY as the kernel would. */
  removeDir(path: string): Promise<void>;
  /**
   * Opens an existing file for writing (no create, no truncate, no append), writes `data` in one
   * write(2), closes. One call = one open + one write + one close; for `tasks` that is one PID.
   * On a `tasks` file the kernel answers per task: ESRCH (task gone), EINVAL (task in another
   * control group, or a bad id), EPERM (not allowed to move that task), ENOSPC.
   */
  writeStr(path: string, data: string): Promise<void>;
  /** Reads a whole file as UTF-8. */
  readToString(path: string): Promise<string>;
  /** Opens `path` for writing and closes it without writing; rejects if that is not possible. */
  checkCanOpenForWrite(path: string): Promise<void>;
  /** Names of the immediate subdirectories of `path` (symlinks and files are not listed), in no guaranteed order. */
  readChildDirs(path: string): Promise<string[]>;
  /**
   * Optional synchronous twins of {@link readToString} and {@link readChildDirs}, same results and
   * errno errors (thrown). For many tiny sysfs files (a readings pass over every group's
   * `mon_data`) one blocking read costs a few µs, the async path tens: callers use these, one group
   * at a time, yielding between groups. A provider without them is read asynchronously.
   */
  readToStringSync?(path: string): string;
  readChildDirsSync?(path: string): string[];
  /**
   * `mount -t resctrl resctrl <target>`, creating the leaf directory `target` if missing (the
   * parent must exist). Rejects with an errno error: EPERM/EACCES, ENODEV (no resctrl in the
   * kernel), EBUSY (already mounted), EIO for anything unrecognised.
   */
  mountResctrl(target: string): Promise<void>;
}
