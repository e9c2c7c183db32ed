/** A node of the MemFs tree. `tasks` files have no stored content: they render the task model. */
export type MemNode = { kind: "dir" } | { kind: "file"; content: string } | { kind: "tasks" };

/** /proc/filesystems of a MemFs, without the resctrl line. */
export const MEMFS_BASE_FILESYSTEMS = "nodev\tsysfs\nnodev\tproc\nnodev\tcgroup2\n\text4\n";

/** /proc/mounts of a MemFs, without the resctrl line. */
export const MEMFS_BASE_MOUNTS =
  "sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\nproc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n";

/** Encodes a mount point the way the kernel writes it to /proc/mounts (space, tab, newline, backslash). */
export function encodeMountField(path: string): string {
  return path.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, "0")}`);
}
