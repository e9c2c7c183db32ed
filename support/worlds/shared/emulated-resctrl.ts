import { posix } from "node:path";
import type { Logger } from "pino";
import { Resctrl } from "../../../src/resctrl/index.js";
import { MemFs } from "../../../src/memfs/mem-fs.js";
import type { SeededGroup } from "../types.js";
import { FsAudit } from "./fs-audit.js";

/** Where the emulated resctrl lives (the real default, so paths in logs look familiar). */
export const EMULATED_RESCTRL_ROOT = "/sys/fs/resctrl";
/** Prefix of the helper groups that take the last RMIDs (another tenant's, so cleanup keeps them). */
export const RMID_FILLER_PREFIX = "rmidfill_";
/** Prefix of seeded groups owned by "other". */
export const FOREIGN_GROUP_PREFIX = "other_";

/**
 * The kernel side of an in-process plugin (the mock world's, and the containerd world's in-process
 * mode on VMs without resctrl): a {@link MemFs} with resctrl mounted at {@link EMULATED_RESCTRL_ROOT},
 * the real {@link Resctrl} layer over it (the plugin's handle), an {@link FsAudit} over MemFs's
 * call log, RMID exhaustion and limbo as the hardware world produces them on a real kernel, the
 * groups a scenario seeded, and the synthetic `mon_data` readings of the daemon's memory provider.
 * `alive(tid)` decides which thread ids the kernel accepts (others fail with ESRCH) and which ones
 * `tasksOf` shows. Exists from construction, so a scenario can arrange it before the plugin starts.
 */
export class EmulatedResctrl {
  readonly fs: MemFs;
  readonly resctrl: Resctrl;
  readonly audit: FsAudit;
  readonly #seeded = new Map<string, string>();
  readonly #fillers: string[] = [];

  constructor(
    private readonly groupPrefix: string,
    logger: Logger,
    private readonly alive: (tid: number) => boolean,
  ) {
    // Freed RMIDs wait in limbo until drained, as on a kernel that monitors LLC occupancy; with no
    // RMID limit (the default) that never matters.
    // Synthetic mon_data readings as the daemon's memory provider gives them (1 MiB of LLC
    // occupancy per task, 1 MiB/s of bandwidth per task), for the /metrics scenarios.
    this.fs = MemFs.withResctrl({
      root: EMULATED_RESCTRL_ROOT,
      pidExists: alive,
      rmidLimboMs: Infinity,
      syntheticMonData: true,
    });
    this.resctrl = Resctrl.withProvider(this.fs, { root: EMULATED_RESCTRL_ROOT, groupPrefix, logger });
    this.audit = new FsAudit(this.fs.log, EMULATED_RESCTRL_ROOT);
  }

  /**
   * Exhausts RMIDs the way the hardware world does: the limit becomes what is in use (limbo
   * included) plus one, and one more helper monitoring group ({@link RMID_FILLER_PREFIX}) takes the
   * last RMID. From then on a group mkdir answers ENOSPC, or EBUSY while freed RMIDs are in limbo,
   * as the kernel does. Callable before or after the plugin starts, and again.
   */
  async exhaustRmids(): Promise<void> {
    this.fs.rmidCapacity = this.fs.rmidsInUse() + 1;
    const path = `${EMULATED_RESCTRL_ROOT}/mon_groups/${RMID_FILLER_PREFIX}${this.#fillers.length}`;
    await this.fs.createDir(path);
    this.#fillers.push(path);
  }

  /** Removes the helper groups: their RMIDs go into limbo, the limit stays (EBUSY until drained). */
  async freeRmidsIntoLimbo(): Promise<void> {
    for (const p of this.#fillers.splice(0)) await this.fs.removeDir(p);
  }

  /** The cache occupancy of the RMIDs in limbo fell below the threshold: they are free now. */
  drainRmidLimbo(): void {
    this.fs.drainRmidLimbo();
  }

  /** Frees the helper groups' RMIDs for good: removed, drained, and no limit any more. */
  async freeRmids(): Promise<void> {
    await this.freeRmidsIntoLimbo();
    this.drainRmidLimbo();
    this.fs.rmidCapacity = undefined;
  }

  /** mkdir of a pre-existing group, like an earlier run or another tenant would have done. */
  async seed(g: SeededGroup): Promise<void> {
    let parent = EMULATED_RESCTRL_ROOT;
    if (g.location.kind === "mon_groups") parent = `${EMULATED_RESCTRL_ROOT}/mon_groups`;
    if (g.location.kind === "nested") {
      const ctrl = this.#seeded.get(g.location.parent);
      if (!ctrl || posix.dirname(ctrl) !== EMULATED_RESCTRL_ROOT) {
        throw new Error(
          `failed to seed group ${g.label}: its parent ${g.location.parent} must be seeded first, at the root`,
        );
      }
      parent = `${ctrl}/mon_groups`;
    }
    await this.seedIn(parent, g);
  }

  /**
   * mkdir of a pre-existing group directly in `parent` (e.g. an RDT class's `mon_groups`), named
   * with the plugin's prefix (owner "plugin") or {@link FOREIGN_GROUP_PREFIX}; {@link seededExists}
   * answers for its label.
   */
  async seedIn(parent: string, g: Pick<SeededGroup, "label" | "owner">): Promise<void> {
    const name = (g.owner === "plugin" ? this.groupPrefix : FOREIGN_GROUP_PREFIX) + g.label;
    await this.fs.createDir(`${parent}/${name}`);
    this.#seeded.set(g.label, `${parent}/${name}`);
  }

  /** Whether a seeded group's directory exists now. Throws for a label never seeded. */
  seededExists(label: string): boolean {
    const path = this.#seeded.get(label);
    if (!path)
      throw new Error(`failed to find seeded group ${JSON.stringify(label)}: the scenario never seeded it`);
    return this.fs.isDir(path);
  }

  /** Live tasks of a group, ascending ([] when the directory is gone): exited threads vanish, as in the kernel. */
  tasksOf(groupPath: string): number[] {
    return this.fs.isDir(groupPath) ? this.fs.tasksOf(groupPath).filter((t) => this.alive(t)) : [];
  }
}
