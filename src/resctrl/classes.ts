/**
 * RDT control groups ("classes": `<root>/<name>`, made by containerd's RDT support, goresctrl or
 * an allocation plugin) as the monitoring layer sees them: which control groups exist, which one
 * each task belongs to, and our monitoring groups inside them
 * (`<root>/<class>/mon_groups/<prefix><uid>`). The kernel refuses to move a task into a mon group
 * of another control group (EINVAL, "Can't move task to different control group"), so a task is
 * monitored inside the control group it lives in.
 */
import { posix } from "node:path";
import type { ResctrlContext } from "./context.js";
import { createGroupAt, groupNameOf, groupPathOf, isControlGroupName } from "./group.js";
import { NotMountedError, OutsideRootError, errnoCode, mapFsError } from "./errors.js";

/**
 * Pure: the pod's monitoring group inside control group `ctrl` (an absolute path: the root, or
 * `<root>/<name>`). Throws OutsideRootError for anything else.
 */
export function classGroupPathOf(
  ctx: Pick<ResctrlContext, "groupPrefix" | "root">,
  podUid: string,
  ctrl: string,
): string {
  if (ctrl === ctx.root) return groupPathOf(ctx, podUid);
  const name = ctrl.startsWith(`${ctx.root}/`) ? ctrl.slice(ctx.root.length + 1) : "";
  if (!isControlGroupName(name))
    throw new OutsideRootError(
      `failed to place a monitor group in ${JSON.stringify(ctrl)}: not a control group directly under ${ctx.root}`,
      { path: ctrl },
    );
  return `${ctrl}/mon_groups/${groupNameOf(ctx, podUid)}`;
}

/** See `Resctrl.controlGroups`. */
export async function controlGroupsInFs(ctx: ResctrlContext): Promise<string[]> {
  let names: string[];
  try {
    names = await ctx.fs.readChildDirs(ctx.root);
  } catch (err) {
    throw mapFsError(err, { verb: "list", object: "control groups in", id: ctx.root, path: ctx.root });
  }
  return names
    .filter(isControlGroupName)
    .sort()
    .map((n) => `${ctx.root}/${n}`);
}

/** See `Resctrl.createClassGroup`. */
export async function createClassGroupInFs(
  ctx: ResctrlContext,
  podUid: string,
  ctrl: string,
): Promise<string> {
  const path = classGroupPathOf(ctx, podUid, ctrl);
  if (ctrl !== ctx.root && !(await ctx.fs.exists(`${ctrl}/mon_groups`))) {
    throw new NotMountedError(
      `failed to create monitor group ${path}: control group ${ctrl} is gone (or has no mon_groups)`,
      { path: `${ctrl}/mon_groups`, code: "ENOENT" },
    );
  }
  return createGroupAt(ctx, path, podUid);
}

/** `<proc>` of the context (the directory of /proc/filesystems). */
function procRoot(ctx: ResctrlContext): string {
  return posix.dirname(ctx.procFilesystemsPath);
}

/**
 * Parses `/proc/<pid>/cpu_resctrl_groups` (kernel `proc_resctrl_show`): `res:/` for the default
 * group, `res:<name>` for a control group, then `mon:<mon group name or empty>`. Returns the
 * control group name ("" = the root), or undefined when the text has no `res:` line. Pure.
 */
export function parseCpuResctrlGroups(text: string): string | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith("res:")) continue;
    const v = line.slice(4).trim();
    return v === "/" || v === "" ? "" : v.replace(/^\//, "");
  }
  return undefined;
}

/** Per context: false once `/proc/<pid>/cpu_resctrl_groups` was found missing for a live task. */
const procFileSupported = new WeakMap<ResctrlContext, boolean>();

/** See `Resctrl.taskControlGroups`. */
export async function taskControlGroupsInFs(
  ctx: ResctrlContext,
  tids: readonly number[],
): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  if (tids.length === 0) return out;
  if (procFileSupported.get(ctx) !== false) {
    const proc = procRoot(ctx);
    let unsupported = false;
    for (const tid of tids) {
      let text: string;
      try {
        text = await ctx.fs.readToString(`${proc}/${tid}/cpu_resctrl_groups`);
      } catch (err) {
        if (errnoCode(err) === "ENOENT" && (await ctx.fs.exists(`${proc}/${tid}`))) {
          unsupported = true; // a live task without the file: CONFIG_PROC_CPU_RESCTRL is off
          break;
        }
        continue; // the task exited: leave it out
      }
      const name = parseCpuResctrlGroups(text);
      if (name === undefined) continue;
      out.set(tid, name === "" ? ctx.root : `${ctx.root}/${name}`);
    }
    if (!unsupported) {
      procFileSupported.set(ctx, true);
      return out;
    }
    procFileSupported.set(ctx, false);
    ctx.logger.info(
      { file: `${proc}/<pid>/cpu_resctrl_groups` },
      "the kernel does not provide cpu_resctrl_groups; reading control groups' tasks files instead",
    );
    out.clear();
  }
  // Fallback: a control group's tasks file lists its own tasks and its mon groups'.
  const wanted = new Set(tids);
  for (const ctrl of await controlGroupsInFs(ctx)) {
    let text: string;
    try {
      text = await ctx.fs.readToString(`${ctrl}/tasks`);
    } catch (err) {
      if (errnoCode(err) === "ENOENT") continue; // removed meanwhile
      throw mapFsError(err, {
        verb: "read",
        object: "tasks of control group",
        id: ctrl,
        path: `${ctrl}/tasks`,
      });
    }
    for (const line of text.split("\n")) {
      const t = line.trim();
      if (t === "") continue;
      const n = Number(t);
      if (wanted.has(n)) out.set(n, ctrl);
    }
  }
  for (const tid of tids) if (!out.has(tid)) out.set(tid, ctx.root);
  return out;
}
