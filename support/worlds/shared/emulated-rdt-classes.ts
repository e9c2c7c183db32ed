import { posix } from "node:path";
import type { NriContainer, NriPod } from "../../../src/nri/types.js";
import type { CgroupPidSource } from "../../../src/plugin/pid-source.js";
import { errnoCode } from "../../../src/resctrl/index.js";
import type { PodGroupView, SeededGroup } from "../types.js";
import { EMULATED_RESCTRL_ROOT, type EmulatedResctrl } from "./emulated-resctrl.js";
import type { PluginPodGroup } from "./plugin-views.js";

/** What a scenario may call a class: one safe path segment that is not a resctrl name. */
const CLASS_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const RESERVED = new Set(["info", "mon_data", "mon_groups"]);

/**
 * RDT classes of the emulated resctrl (@rdt-classes of the mock world and of the containerd world's
 * in-process plugin): a class is a control group `<root>/<name>` made with MemFs's mkdir (its
 * `tasks` and `mon_groups` come with it), removed with its rmdir (MemFs then moves its tasks to the
 * default group and drops its monitoring groups, as the kernel does). A task is put into a class by
 * a write of its id to the class's `tasks` file — what runc does for a container whose RDT class is
 * set, before the container runs. Those writes and mkdirs go through MemFs like the plugin's, so they
 * appear in MemFs's call log (no @fs-audit scenario uses classes).
 */
export class EmulatedRdtClasses {
  readonly #created = new Set<string>();

  constructor(private readonly kernel: EmulatedResctrl) {}

  /** `<root>/<name>`; throws for a name that is not a plain class name. Pure. */
  pathOf(name: string): string {
    if (!CLASS_NAME.test(name) || RESERVED.has(name))
      throw new Error(`failed to name RDT class ${JSON.stringify(name)}: want [A-Za-z0-9][A-Za-z0-9_-]*`);
    return `${EMULATED_RESCTRL_ROOT}/${name}`;
  }

  /** Whether class `name` exists now. */
  exists(name: string): boolean {
    return this.kernel.fs.isDir(this.pathOf(name));
  }

  async create(name: string): Promise<void> {
    await this.kernel.fs.createDir(this.pathOf(name));
    this.#created.add(name);
  }

  async remove(name: string): Promise<void> {
    await this.kernel.fs.removeDir(this.pathOf(name));
  }

  /**
   * Writes each of `tids` to the class's `tasks` file (the task leaves whatever group it was in);
   * tasks that exited meanwhile (ESRCH) are skipped. Rejects if the class does not exist.
   */
  async moveTasks(name: string, tids: readonly number[]): Promise<void> {
    const path = this.pathOf(name);
    if (!this.kernel.fs.isDir(path))
      throw new Error(`failed to put tasks into RDT class ${name}: it does not exist (create it first)`);
    for (const t of tids) {
      try {
        await this.kernel.fs.writeStr(`${path}/tasks`, String(t));
      } catch (err) {
        if (errnoCode(err) !== "ESRCH") throw err;
      }
    }
  }

  /** The directory names in the class's `mon_groups`, sorted. Throws when the class does not exist. */
  monitoringGroups(name: string): string[] {
    if (!this.exists(name))
      throw new Error(`failed to list the monitoring groups of RDT class ${name}: it does not exist`);
    const dir = `${this.pathOf(name)}/mon_groups/`;
    return this.kernel.fs
      .groupPaths()
      .filter((p) => p.startsWith(dir) && !p.slice(dir.length).includes("/"))
      .map((p) => p.slice(dir.length))
      .sort();
  }

  /** A pre-existing monitoring group in the class's `mon_groups` (see EmulatedResctrl.seedIn). */
  async seed(name: string, g: Pick<SeededGroup, "label" | "owner">): Promise<void> {
    if (!this.exists(name))
      throw new Error(`failed to seed group ${g.label} in RDT class ${name}: the class does not exist`);
    await this.kernel.seedIn(`${this.pathOf(name)}/mon_groups`, g);
  }

  /** The scenario's name of a control group path: undefined for the root, else its class name. Pure. */
  nameOf(controlGroup: string): string | undefined {
    return controlGroup === EMULATED_RESCTRL_ROOT ? undefined : posix.basename(controlGroup);
  }

  /** The plugin's groups as scenario views, with each group's tasks from `tasksOf(path)`. */
  async views(
    groups: readonly PluginPodGroup[],
    tasksOf: (path: string) => Promise<number[]> | number[],
  ): Promise<PodGroupView[]> {
    return Promise.all(
      groups.map(async (g) => ({
        rdtClass: this.nameOf(g.controlGroup),
        path: g.path,
        state: g.state,
        tasks: g.path === "" ? [] : [...(await tasksOf(g.path))].sort((a, b) => a - b),
      })),
    );
  }
}

/**
 * A PID source that places tasks in RDT classes before the plugin sees them, for a plugin whose
 * tasks come from real cgroups (the containerd world's in-process mode): the container named
 * `name` of the sandbox `sandboxId` is assigned a class ({@link assign}); every task of it this
 * source reports that it never placed before is written into the class first — what the kernel
 * does for a task forked by a task of the class (runc put the container's first process there).
 * A class that is gone places nothing (its tasks went back to the default group with the rmdir).
 * Otherwise it answers exactly what the wrapped source answers.
 */
export class ClassPlacingPidSource implements CgroupPidSource {
  /** `<sandbox id>/<container name>` → class name. */
  readonly #assigned = new Map<string, string>();
  /** Task ids already placed (each is placed once: later the plugin may move it into a mon group). */
  readonly #placed = new Set<number>();

  constructor(
    private readonly inner: CgroupPidSource,
    private readonly classes: EmulatedRdtClasses,
  ) {}

  /** From now on the tasks of container `name` of sandbox `sandboxId` are born in class `rdtClass`. */
  assign(sandboxId: string, name: string, rdtClass: string): void {
    this.#assigned.set(`${sandboxId}/${name}`, rdtClass);
  }

  /** Puts `tids` (a running container's tasks) into the class now, as {@link tasksOf} would. */
  async placeNow(rdtClass: string, tids: readonly number[]): Promise<void> {
    await this.classes.moveTasks(rdtClass, tids);
    for (const t of tids) this.#placed.add(t);
  }

  cgroupPathOf(container: NriContainer, pod: NriPod | undefined): string {
    return this.inner.cgroupPathOf(container, pod);
  }

  async tasksOf(container: NriContainer, pod: NriPod | undefined): Promise<number[]> {
    const tids = await this.inner.tasksOf(container, pod);
    const rdtClass = this.#assigned.get(`${container.podSandboxId}/${container.name}`);
    if (rdtClass !== undefined && this.classes.exists(rdtClass)) {
      const fresh = tids.filter((t) => !this.#placed.has(t));
      if (fresh.length > 0) await this.placeNow(rdtClass, fresh);
    }
    return tids;
  }

  sandboxGone(pod: NriPod): Promise<boolean> {
    return this.inner.sandboxGone(pod);
  }

  containerGone(container: NriContainer, pod: NriPod | undefined): Promise<boolean> {
    return this.inner.containerGone(container, pod);
  }
}
