import { mkdir, readdir, rmdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { SeededGroup } from "../types.js";

/** Names at the resctrl root that are not groups. */
export const RESCTRL_RESERVED = new Set(["info", "mon_data", "mon_groups"]);

/**
 * Groups a scenario creates on the real resctrl filesystem before the plugin starts: plugin-owned
 * ones carry the daemon's prefix, foreign ones another prefix of this scenario. Root-level groups
 * are real control groups (they use a CLOSID). Ownership: the tracker owns what it created and
 * removes it (deepest first) in {@link removeAll}.
 */
export class SeedTracker {
  readonly #paths = new Map<string, string>();

  constructor(
    private readonly root: string,
    private readonly pluginPrefix: string,
    private readonly foreignPrefix: string,
  ) {}

  /** Where a seeded group lives. Pure apart from looking up the parent's recorded path. */
  pathOf(g: SeededGroup): string {
    const name = (g.owner === "plugin" ? this.pluginPrefix : this.foreignPrefix) + g.label;
    if (g.location.kind === "root") return join(this.root, name);
    if (g.location.kind === "mon_groups") return join(this.root, "mon_groups", name);
    const parent = this.#paths.get(g.location.parent);
    if (!parent)
      throw new Error(
        `failed to seed group ${g.label}: its parent ${g.location.parent} must be seeded first`,
      );
    return join(parent, "mon_groups", name);
  }

  async create(g: SeededGroup): Promise<void> {
    await this.#make(g.label, this.pathOf(g));
  }

  /**
   * A group directly in `dir` (e.g. an RDT class's `mon_groups`), named with the plugin's prefix
   * (owner "plugin") or the foreign one; {@link exists} answers for its label.
   */
  async createIn(dir: string, g: Pick<SeededGroup, "label" | "owner">): Promise<void> {
    const name = (g.owner === "plugin" ? this.pluginPrefix : this.foreignPrefix) + g.label;
    await this.#make(g.label, join(dir, name));
  }

  async #make(label: string, path: string): Promise<void> {
    try {
      await mkdir(path);
    } catch (e) {
      throw new Error(`failed to seed group ${label} at ${path}`, { cause: e });
    }
    this.#paths.set(label, path);
  }

  async exists(label: string): Promise<boolean> {
    const p = this.#paths.get(label);
    if (!p)
      throw new Error(`failed to find seeded group ${JSON.stringify(label)}: the scenario never seeded it`);
    return (await stat(p).catch(() => undefined))?.isDirectory() === true;
  }

  /** Groups at the root or in the root mon_groups whose names carry none of `ours`. */
  async foreignGroups(ours: readonly string[]): Promise<string[]> {
    const mine = (n: string): boolean => ours.some((p) => n.startsWith(p));
    const rootNames = (await readdir(this.root, { withFileTypes: true }).catch(() => []))
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
    const mon = (await readdir(join(this.root, "mon_groups")).catch(() => [] as string[])).map(
      (n) => `mon_groups/${n}`,
    );
    return [
      ...rootNames.filter((n) => !RESCTRL_RESERVED.has(n) && !mine(n)),
      ...mon.filter((n) => !mine(n.slice("mon_groups/".length))),
    ];
  }

  /** Removes every seeded group still present, deepest first. Resolves the ones that could not be removed. */
  async removeAll(): Promise<string[]> {
    const failed: string[] = [];
    const paths = [...this.#paths.values()].sort((a, b) => b.split("/").length - a.split("/").length);
    for (const p of paths) {
      await rmdir(p).catch((e: { code?: string }) => {
        if (e.code !== "ENOENT") failed.push(p);
      });
    }
    this.#paths.clear();
    return failed;
  }
}
