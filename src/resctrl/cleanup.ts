import { NotMountedError, errnoCode, errorMessage, mapFsError } from "./errors.js";
import type { ResctrlContext } from "./context.js";
import { isControlGroupName } from "./group.js";
import type { CleanupReport } from "./types.js";

async function sweep(
  ctx: ResctrlContext,
  dir: string,
  names: string[],
  report: CleanupReport,
): Promise<void> {
  for (const name of names) {
    if (!name.startsWith(ctx.groupPrefix) || name.includes("/")) {
      report.nonPrefixGroups += 1;
      continue;
    }
    const path = `${dir}/${name}`;
    try {
      await ctx.fs.removeDir(path);
      report.removed += 1;
    } catch (err) {
      if (errnoCode(err) === "ENOENT") {
        report.removalRace += 1;
      } else {
        report.removalFailures += 1;
        report.errors.push(`failed to remove group ${path}: ${errnoCode(err) ?? errorMessage(err)}`);
      }
    }
  }
}

/**
 * See `Resctrl.cleanupAll`. Root listing failure throws (nothing was removed yet); a later
 * `mon_groups` listing failure is recorded in `report.errors` and the root counts are returned.
 */
export async function cleanupPrefixInFs(
  ctx: ResctrlContext,
  opts: { inControlGroups?: boolean } = {},
): Promise<CleanupReport> {
  const report: CleanupReport = {
    removed: 0,
    removalFailures: 0,
    removalRace: 0,
    nonPrefixGroups: 0,
    errors: [],
  };
  if (!(await ctx.fs.exists(`${ctx.root}/tasks`))) {
    throw new NotMountedError(
      `failed to clean up groups in ${ctx.root}: ${ctx.root}/tasks is missing (not mounted)`,
      {
        path: ctx.root,
      },
    );
  }
  let rootNames: string[];
  try {
    rootNames = await ctx.fs.readChildDirs(ctx.root);
  } catch (err) {
    throw mapFsError(err, { verb: "list", object: "groups in", id: ctx.root, path: ctx.root });
  }
  const rootGroups = rootNames.filter(isControlGroupName);
  await sweep(ctx, ctx.root, rootGroups, report);
  // With classes followed: `<prefix>*` inside every (remaining, non-prefix) control group's
  // mon_groups too; nothing else is touched.
  const ctrls = opts.inControlGroups
    ? rootGroups.filter((n) => !n.startsWith(ctx.groupPrefix)).map((n) => `${ctx.root}/${n}`)
    : [];
  for (const dir of [ctx.root, ...ctrls]) {
    const monGroups = `${dir}/mon_groups`;
    if (!(await ctx.fs.exists(monGroups))) continue;
    let names: string[] | undefined;
    try {
      names = await ctx.fs.readChildDirs(monGroups);
    } catch (err) {
      report.errors.push(`failed to list groups in ${monGroups}: ${errnoCode(err) ?? errorMessage(err)}`);
    }
    if (names) await sweep(ctx, monGroups, names, report);
  }
  ctx.logger.info({ ...report, errors: report.errors.length }, "cleaned up stale groups");
  return report;
}
