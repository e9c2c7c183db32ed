import {
  NotMountedError,
  OutsideRootError,
  RmidLimboError,
  errnoCode,
  errnoNumber,
  mapFsError,
} from "./errors.js";
import { readKernelStatus, type ResctrlContext } from "./context.js";
import { sanitizeUid } from "./sanitize.js";

/** Root-level directories that are never control groups. */
const ROOT_NON_CONTROL_GROUPS: ReadonlySet<string> = new Set(["info", "mon_data", "mon_groups"]);

/** True if `name` may be a control group directly under the root (one safe path segment). */
export function isControlGroupName(name: string): boolean {
  return (
    name !== "" &&
    name !== "." &&
    name !== ".." &&
    !name.includes("/") &&
    !name.includes("\0") &&
    !ROOT_NON_CONTROL_GROUPS.has(name)
  );
}

/** Pure: `<prefix><sanitized uid>`; see `sanitizeUid` for the collision rule. */
export function groupNameOf(ctx: Pick<ResctrlContext, "groupPrefix">, podUid: string): string {
  return `${ctx.groupPrefix}${sanitizeUid(podUid)}`;
}

/** Pure: `<root>/mon_groups/<groupNameOf(uid)>`. */
export function groupPathOf(ctx: Pick<ResctrlContext, "groupPrefix" | "root">, podUid: string): string {
  return `${ctx.root}/mon_groups/${groupNameOf(ctx, podUid)}`;
}

/**
 * Throws {@link OutsideRootError} unless `path` is the root or a normalized path below it
 * (no `.`/`..`/empty segments). Used before any read or write that takes a caller's path.
 */
export function assertInsideRoot(ctx: ResctrlContext, path: string, verb: string): void {
  const ok =
    typeof path === "string" &&
    (path === ctx.root ||
      (path.startsWith(`${ctx.root}/`) &&
        path
          .slice(ctx.root.length + 1)
          .split("/")
          .every((seg) => seg !== "" && seg !== "." && seg !== ".." && !seg.includes("\0"))));
  if (!ok) {
    throw new OutsideRootError(
      `failed to ${verb} group ${String(path)}: not inside resctrl root ${ctx.root}`,
      {
        path,
      },
    );
  }
}

/**
 * Throws {@link OutsideRootError} unless `path` is exactly `<root>/mon_groups/<prefix><rest>` or
 * `<root>/<control group>/mon_groups/<prefix><rest>` (one safe segment for the control group, not
 * info/mon_data/mon_groups) with a non-empty `<rest>` and no `/`, `.`/`..` in the name: the only
 * directories this layer may rmdir.
 */
export function assertOwnedGroup(ctx: ResctrlContext, path: string, verb: string): string {
  let dir = `${ctx.root}/mon_groups/`;
  if (typeof path === "string" && !path.startsWith(dir) && path.startsWith(`${ctx.root}/`)) {
    const [ctrl = "", mon = ""] = path.slice(ctx.root.length + 1).split("/");
    if (mon === "mon_groups" && isControlGroupName(ctrl)) dir = `${ctx.root}/${ctrl}/mon_groups/`;
  }
  const name = typeof path === "string" && path.startsWith(dir) ? path.slice(dir.length) : "";
  const ok =
    name.length > ctx.groupPrefix.length &&
    name.startsWith(ctx.groupPrefix) &&
    !name.includes("/") &&
    !name.includes("\0") &&
    name !== "." &&
    name !== "..";
  if (!ok) {
    throw new OutsideRootError(
      `failed to ${verb} group ${String(path)}: not a ${ctx.groupPrefix}* group directly under ${dir}`,
      { path },
    );
  }
  return name;
}

/** NotMountedError unless `<root>/tasks` and `<root>/mon_groups` exist. */
async function assertLooksMounted(ctx: ResctrlContext, verb: string, id: string): Promise<void> {
  for (const leaf of ["tasks", "mon_groups"]) {
    if (!(await ctx.fs.exists(`${ctx.root}/${leaf}`))) {
      throw new NotMountedError(
        `failed to ${verb} monitor group ${id}: ${ctx.root}/${leaf} is missing (resctrl not mounted, or no monitoring)`,
        { path: `${ctx.root}/${leaf}` },
      );
    }
  }
}

/** See `Resctrl.createGroup`. */
export function createGroupInFs(ctx: ResctrlContext, podUid: string): Promise<string> {
  return createGroupAt(ctx, groupPathOf(ctx, podUid), podUid);
}

/** mkdir of a monitor group at `path` (validated by the caller); EEXIST = success. */
export async function createGroupAt(ctx: ResctrlContext, path: string, podUid: string): Promise<string> {
  await assertLooksMounted(ctx, "create", path);
  try {
    await ctx.fs.createDir(path);
    ctx.logger.debug({ path, podUid }, "created monitor group");
  } catch (err) {
    if (errnoCode(err) === "EEXIST") return path;
    const kernelStatus = await readKernelStatus(ctx);
    if (errnoCode(err) === "EBUSY") {
      // resctrl_find_free_rmid(): EBUSY = no free RMID while freed ones are still in limbo.
      throw new RmidLimboError(
        `failed to create monitor group ${path}: EBUSY, no free RMID while freed ones are in limbo (their cache occupancy has not drained yet); retry later${kernelStatus ? ` (kernel: ${kernelStatus})` : ""}`,
        { path, code: "EBUSY", errno: errnoNumber(err), kernelStatus, cause: err },
      );
    }
    throw mapFsError(err, { verb: "create", object: "monitor group", id: path, path, kernelStatus });
  }
  return path;
}

/** See `Resctrl.deleteGroup`. */
export async function deleteGroupInFs(ctx: ResctrlContext, groupPath: string): Promise<void> {
  assertOwnedGroup(ctx, groupPath, "delete");
  try {
    await ctx.fs.removeDir(groupPath);
    ctx.logger.debug({ path: groupPath }, "removed monitor group");
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return;
    throw mapFsError(err, { verb: "delete", object: "monitor group", id: groupPath, path: groupPath });
  }
}
