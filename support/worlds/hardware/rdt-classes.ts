import { constants } from "node:fs";
import { mkdir, open, readdir, readFile, rmdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { parseTaskList } from "./cgroup-tasks.js";

/** What a scenario may call a class: one safe name (the world prefixes it). */
const CLASS_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/** The filesystem seam of {@link HwRdtClasses}: the real resctrl and /proc by default; fakes in tests. */
export interface ClassFs {
  mkdir(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  isDir(path: string): Promise<boolean>;
  /** Names of the subdirectories of `path`; rejects if it cannot be listed. */
  readDirs(path: string): Promise<string[]>;
  readFile(path: string): Promise<string>;
  /** One task id written to a resctrl `tasks` file (the kernel moves the task); rejects with the errno. */
  writeTask(tasksFile: string, tid: number): Promise<void>;
}

/** node:fs implementation of {@link ClassFs}. */
export const nodeClassFs: ClassFs = {
  mkdir: (p) => mkdir(p),
  rmdir: (p) => rmdir(p),
  isDir: async (p) => (await stat(p).catch(() => undefined))?.isDirectory() === true,
  readDirs: async (p) =>
    (await readdir(p, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name),
  readFile: (p) => readFile(p, "utf8"),
  writeTask: async (file, tid) => {
    // O_WRONLY without O_TRUNC/O_CREAT, one id per write, as the plugin writes (src/resctrl/real-fs.ts).
    const fh = await open(file, constants.O_WRONLY);
    try {
      await fh.write(`${tid}\n`);
    } finally {
      await fh.close();
    }
  },
};

/** Host PID of a pod sandbox from `crictl inspectp -o json` (`info.pid`, containerd's sandbox info). Pure. */
export function parseSandboxPid(json: string): number {
  const raw = JSON.parse(json) as { info?: { pid?: unknown } };
  const pid = raw.info?.pid;
  if (typeof pid !== "number" || !Number.isSafeInteger(pid) || pid <= 0)
    throw new Error(
      `failed to read the sandbox's pid from crictl inspectp: no info.pid in ${json.slice(0, 200)}`,
    );
  return pid;
}

/** The parent PID (field 4) of a `/proc/<pid>/stat` line. Pure; throws on other input. */
export function parentPidOf(statText: string): number {
  const rest = statText.slice(statText.lastIndexOf(")") + 2).split(" ");
  const ppid = Number(rest[1]);
  if (!Number.isSafeInteger(ppid) || ppid <= 0)
    throw new Error(
      `failed to read the parent pid from /proc/<pid>/stat: ${JSON.stringify(statText.slice(0, 120))}`,
    );
  return ppid;
}

/**
 * RDT classes on the real resctrl filesystem for one scenario (@rdt-classes of the hardware
 * world): class `gold` is the control group `<root>/<prefix>gold` (the run's foreign prefix, so
 * the plugin's cleanup never takes it and `teardown.sh` removes it after a crash), made with mkdir
 * (the kernel gives it a CLOSID, `tasks` and `mon_groups`) and removed with rmdir (the kernel moves
 * its tasks to the default group and frees its monitoring groups).
 *
 * Tasks go into a class by a write of their id to its `tasks` file. A container that is to start in
 * a class is born there through the kernel's fork rule (a new task is placed in its parent's group):
 * {@link withProcessIn} moves the pod's containerd shim — the parent of `runc`, whose child becomes
 * the container's process — into the class while the container is created, and back to the default
 * group afterwards. Nothing else on the host is moved. Ownership: the classes it created;
 * {@link removeAll} removes those still present.
 */
export class HwRdtClasses {
  /** Class name → directory, for every class this instance created (removed ones too). */
  readonly #created = new Map<string, string>();

  constructor(
    private readonly root: string,
    private readonly prefix: string,
    private readonly fs: ClassFs = nodeClassFs,
    private readonly procRoot = "/proc",
  ) {}

  /** `<root>/<prefix><name>`; throws for a name that is not a plain class name. Pure. */
  pathOf(name: string): string {
    if (!CLASS_NAME.test(name))
      throw new Error(`failed to name RDT class ${JSON.stringify(name)}: want [A-Za-z0-9][A-Za-z0-9_-]*`);
    return join(this.root, `${this.prefix}${name}`);
  }

  /** The scenario's name of a control group path: undefined for the root, a class of ours by name, else the directory name. Pure. */
  nameOf(controlGroup: string): string | undefined {
    if (controlGroup === this.root || controlGroup === `${this.root}/`) return undefined;
    for (const [name, path] of this.#created) if (path === controlGroup) return name;
    return controlGroup.split("/").pop();
  }

  async create(name: string): Promise<void> {
    const path = this.pathOf(name);
    try {
      await this.fs.mkdir(path);
    } catch (e) {
      throw new Error(`failed to create RDT class ${name} at ${path}`, { cause: e });
    }
    this.#created.set(name, path);
  }

  async remove(name: string): Promise<void> {
    const path = this.pathOf(name);
    try {
      await this.fs.rmdir(path);
    } catch (e) {
      throw new Error(`failed to remove RDT class ${name} at ${path}`, { cause: e });
    }
  }

  /** Rejects unless class `name` exists now. */
  async requireExists(name: string, what: string): Promise<string> {
    const path = this.pathOf(name);
    if (!(await this.fs.isDir(path)))
      throw new Error(`failed to ${what}: RDT class ${name} (${path}) does not exist`);
    return path;
  }

  /** Writes each of `tids` to the class's `tasks` file; tasks that exited meanwhile (ESRCH) are skipped. */
  async moveTasks(name: string, tids: readonly number[]): Promise<void> {
    const path = await this.requireExists(name, "put tasks into an RDT class");
    await this.#write(join(path, "tasks"), tids);
  }

  /** Writes each of `tids` to the root's `tasks` file (the default group); exited ones are skipped. */
  async moveTasksToRoot(tids: readonly number[]): Promise<void> {
    await this.#write(join(this.root, "tasks"), tids);
  }

  /** The directory names in the class's `mon_groups`, sorted; rejects when the class does not exist. */
  async monitoringGroups(name: string): Promise<string[]> {
    const path = await this.requireExists(name, "list the monitoring groups of an RDT class");
    return (await this.fs.readDirs(join(path, "mon_groups"))).sort();
  }

  /** Tasks listed in a group's `tasks` file now, ascending ([] when the group is gone). */
  async tasksOf(groupPath: string): Promise<number[]> {
    if (groupPath === "" || !(await this.fs.isDir(groupPath))) return [];
    return parseTaskList(await this.fs.readFile(join(groupPath, "tasks")).catch(() => ""));
  }

  /**
   * Runs `run` while every thread of process `pid` is in class `name`, so that what the process
   * forks meanwhile is born in the class; then moves the process's threads (read again: it may have
   * made more) back to the default group, also when `run` rejects.
   */
  async withProcessIn<T>(name: string, pid: number, run: () => Promise<T>): Promise<T> {
    await this.moveTasks(name, await this.#threadsOf(pid));
    try {
      return await run();
    } finally {
      await this.moveTasksToRoot(await this.#threadsOf(pid));
    }
  }

  /** Removes every class this instance created that still exists; resolves the paths it could not remove. */
  async removeAll(): Promise<string[]> {
    const failed: string[] = [];
    for (const path of this.#created.values()) {
      if (!(await this.fs.isDir(path))) continue;
      await this.fs.rmdir(path).catch(() => failed.push(path));
    }
    return failed;
  }

  async #threadsOf(pid: number): Promise<number[]> {
    const names = await this.fs
      .readDirs(join(this.procRoot, String(pid), "task"))
      .catch(() => [] as string[]);
    return names.filter((n) => /^\d+$/.test(n)).map(Number);
  }

  async #write(file: string, tids: readonly number[]): Promise<void> {
    for (const t of tids) {
      try {
        await this.fs.writeTask(file, t);
      } catch (e) {
        if ((e as { code?: string }).code !== "ESRCH")
          throw new Error(`failed to write task ${t} to ${file}`, { cause: e });
      }
    }
  }
}
