import { IoError, InvalidPidError, ResctrlError, errnoCode, mapFsError } from "./errors.js";
import { readKernelStatus, type ResctrlContext } from "./context.js";
import { assertInsideRoot } from "./group.js";
import type { AssignmentResult, PidOutcome } from "./types.js";

/**
 * Throws {@link InvalidPidError} unless every value is a positive safe integer. Runs before any
 * write: 0 would mean "the current task" to the kernel. Returns the distinct PIDs in first-seen order.
 */
export function validatePids(pids: readonly number[], what = "tasks"): number[] {
  const bad = pids.filter((p) => typeof p !== "number" || !Number.isSafeInteger(p) || p <= 0);
  if (bad.length > 0) {
    throw new InvalidPidError(
      `failed to assign ${what}: invalid PID(s) ${bad.slice(0, 5).map(String).join(", ")} (must be integers > 0)`,
    );
  }
  return [...new Set(pids)];
}

/** An empty {@link AssignmentResult}. */
export function emptyAssignment(): AssignmentResult {
  return { assigned: 0, missing: 0, foreign: 0, denied: 0, failedPids: [] };
}

function record(result: AssignmentResult, pid: number, outcome: PidOutcome): void {
  if (outcome === "gone") result.missing += 1;
  else if (outcome === "foreign") result.foreign += 1;
  else result.denied += 1;
  result.failedPids.push({ pid, outcome });
}

/** See `Resctrl.assignTasks`. */
export async function assignTasksInFs(
  ctx: ResctrlContext,
  groupPath: string,
  pids: readonly number[],
): Promise<AssignmentResult> {
  assertInsideRoot(ctx, groupPath, "assign tasks to");
  const unique = validatePids(pids);
  const tasksPath = `${groupPath}/tasks`;
  const result = emptyAssignment();
  let tasksFileWritable: boolean | undefined;
  for (const pid of unique) {
    try {
      await ctx.fs.writeStr(tasksPath, String(pid));
      result.assigned += 1;
      continue;
    } catch (err) {
      const code = errnoCode(err);
      if (code === "ESRCH") {
        record(result, pid, "gone");
        continue;
      }
      if (code === "EINVAL") {
        record(result, pid, "foreign");
        continue;
      }
      if (code === "EACCES" || code === "EPERM") {
        // Per-task refusal only if the file itself can be opened for writing; else the whole group is denied.
        if (tasksFileWritable === undefined) {
          tasksFileWritable = await ctx.fs.checkCanOpenForWrite(tasksPath).then(
            () => true,
            () => false,
          );
        }
        if (tasksFileWritable) {
          record(result, pid, "denied");
          continue;
        }
      }
      const mapped = mapFsError(err, {
        verb: "assign",
        object: `task ${pid} to group`,
        id: groupPath,
        path: tasksPath,
        kernelStatus: await readKernelStatus(ctx),
      });
      mapped.partial = result;
      throw mapped;
    }
  }
  if (ctx.logger.isLevelEnabled("debug"))
    ctx.logger.debug(
      {
        groupPath,
        assigned: result.assigned,
        missing: result.missing,
        foreign: result.foreign,
        denied: result.denied,
        failedPids: result.failedPids.length,
      },
      "assigned tasks",
    );
  return result;
}

/** See `Resctrl.listGroupTasks`. */
export async function listGroupTasksInFs(ctx: ResctrlContext, groupPath: string): Promise<number[]> {
  assertInsideRoot(ctx, groupPath, "list tasks of");
  const tasksPath = `${groupPath}/tasks`;
  let text: string;
  try {
    text = await ctx.fs.readToString(tasksPath);
  } catch (err) {
    throw mapFsError(err, { verb: "list", object: "tasks of group", id: groupPath, path: tasksPath });
  }
  const pids: number[] = [];
  let i = -1;
  for (let start = 0; start < text.length;) {
    i += 1;
    const nl = text.indexOf("\n", start);
    const end = nl < 0 ? text.length : nl;
    const line = text.slice(start, end).trim();
    start = end + 1;
    if (line === "") continue;
    const n = /^\d+$/.test(line) ? Number(line) : NaN;
    if (!Number.isSafeInteger(n) || n <= 0) {
      throw new IoError(
        `failed to list tasks of group ${groupPath}: line ${i + 1} is not a task id: ${JSON.stringify(line)}`,
        { path: tasksPath, code: "EINVAL" },
      );
    }
    pids.push(n);
  }
  return pids;
}

/** Pure: `first` + `then`, counts summed, `first`'s failed PIDs before `then`'s. */
export function sumAssignments(first: AssignmentResult, then: AssignmentResult): AssignmentResult {
  return {
    assigned: first.assigned + then.assigned,
    missing: first.missing + then.missing,
    foreign: first.foreign + then.foreign,
    denied: first.denied + then.denied,
    failedPids: [...first.failedPids, ...then.failedPids],
  };
}

/** Adds `earlier`'s counts into the `partial` of a ResctrlError (for multi-pass callers). */
export function addPartial(err: unknown, earlier: AssignmentResult): void {
  if (!(err instanceof ResctrlError)) return;
  err.partial = sumAssignments(earlier, err.partial ?? emptyAssignment());
}
