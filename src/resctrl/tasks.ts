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

/**
 * Sorts `ids` ascending in place and returns it. Task lists are short and usually sorted already
 * (procfs and `tasks` files list ascending): an insertion sort checks that in one pass without
 * allocating, where `Array.prototype.sort` sets up its merge state on every call.
 */
export function sortIds(ids: number[]): number[] {
  if (ids.length > 64) return ids.sort((a, b) => a - b);
  for (let i = 1; i < ids.length; i++) {
    const v = ids[i] as number;
    let j = i - 1;
    while (j >= 0 && (ids[j] as number) > v) {
      ids[j + 1] = ids[j] as number;
      j -= 1;
    }
    ids[j + 1] = v;
  }
  return ids;
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
  // Digits are accumulated as they are read (no per-line strings); a bad line is cut out only to
  // report it.
  const pids: number[] = [];
  let line = 0;
  for (let start = 0; start < text.length;) {
    line += 1;
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    let a = start;
    let b = end;
    while (a < b && isSpace(text.charCodeAt(a))) a += 1;
    while (b > a && isSpace(text.charCodeAt(b - 1))) b -= 1;
    start = end + 1;
    if (a === b) continue;
    let n = 0;
    for (let k = a; k < b; k++) {
      const d = text.charCodeAt(k) - 48;
      n = d >= 0 && d <= 9 ? n * 10 + d : NaN;
    }
    if (!Number.isSafeInteger(n) || n <= 0) {
      throw new IoError(
        `failed to list tasks of group ${groupPath}: line ${line} is not a task id: ${JSON.stringify(text.slice(a, b))}`,
        { path: tasksPath, code: "EINVAL" },
      );
    }
    pids.push(n);
  }
  return pids;
}

/** Exactly the characters `String.prototype.trim` strips (WhiteSpace and LineTerminator). */
function isSpace(c: number): boolean {
  if (c <= 0xa0) return c === 32 || (c >= 9 && c <= 13) || c === 0xa0;
  return (
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
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
