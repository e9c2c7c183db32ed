import type { DataTable } from "@cucumber/cucumber";
import type { ContainerSpec, SeededGroup, SeedLocation } from "../support/worlds/types.js";

/** Names to container specs (one thread each). */
export function containers(names: readonly string[], threads?: number): ContainerSpec[] {
  return names.map((name) => (threads === undefined ? { name } : { name, threads }));
}

/** `| pod | containers |` rows, containers comma-separated, to pod → container names. */
export function podTable(table: DataTable): Map<string, string[]> {
  const pods = new Map<string, string[]>();
  for (const row of table.hashes()) {
    const pod = requireCell(row, "pod");
    const names = requireCell(row, "containers")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    pods.set(pod, names);
  }
  return pods;
}

/**
 * `| group | where | owner |` rows to seeded groups. `where` is `root`, `mon_groups`, or
 * `mon_groups of <group>` (inside another seeded root-level group); `owner` is `plugin` or `other`.
 */
export function seedTable(table: DataTable): SeededGroup[] {
  return table.hashes().map((row) => ({
    label: requireCell(row, "group"),
    location: seedLocation(requireCell(row, "where")),
    owner: ownerOf(row),
  }));
}

/** `| group | owner |` rows (groups in one place the step names) to labels and owners. */
export function ownedGroupTable(table: DataTable): Array<Pick<SeededGroup, "label" | "owner">> {
  return table.hashes().map((row) => ({ label: requireCell(row, "group"), owner: ownerOf(row) }));
}

function ownerOf(row: Record<string, string>): SeededGroup["owner"] {
  const owner = requireCell(row, "owner");
  if (owner !== "plugin" && owner !== "other")
    throw new Error(`failed to parse owner ${JSON.stringify(owner)}: use plugin or other`);
  return owner;
}

function seedLocation(where: string): SeedLocation {
  if (where === "root") return { kind: "root" };
  if (where === "mon_groups") return { kind: "mon_groups" };
  const nested = /^mon_groups of (\S+)$/.exec(where);
  if (nested?.[1]) return { kind: "nested", parent: nested[1] };
  throw new Error(
    `failed to parse location ${JSON.stringify(where)}: use root, mon_groups or "mon_groups of <group>"`,
  );
}

function requireCell(row: Record<string, string>, column: string): string {
  const v = row[column];
  if (v === undefined || v.trim() === "")
    throw new Error(`failed to read column ${JSON.stringify(column)} of row ${JSON.stringify(row)}`);
  return v.trim();
}

/** `key=value` to `{ key: value }` (a pod label as a scenario writes it). */
export function parseLabel(text: string): Record<string, string> {
  const m = /^([A-Za-z0-9][-A-Za-z0-9_./]*)=([-A-Za-z0-9_.]*)$/.exec(text.trim());
  if (!m?.[1]) throw new Error(`failed to parse label ${JSON.stringify(text)}: want key=value`);
  return { [m[1]]: m[2] ?? "" };
}

/** Matches `<dir>/<one safe name>`: no further `/`, no `.` or `..`. */
export function directChildOf(dir: string): RegExp {
  return new RegExp(`^${dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/[A-Za-z0-9_-]+$`);
}
