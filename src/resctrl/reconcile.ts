import { EmptyPidSetError, InvalidConfigError } from "./errors.js";
import type { ResctrlContext } from "./context.js";
import {
  addPartial,
  assignTasksInFs,
  emptyAssignment,
  listGroupTasksInFs,
  sumAssignments,
  validatePids,
} from "./tasks.js";
import type { PidFailure, ReconcileResult } from "./types.js";

/** Throws {@link InvalidConfigError} unless `maxPasses` is an integer ≥ 1. */
export function validateMaxPasses(maxPasses: number): number {
  if (!Number.isSafeInteger(maxPasses) || maxPasses < 1) {
    throw new InvalidConfigError(
      `failed to validate maxPasses ${String(maxPasses)}: must be an integer >= 1`,
    );
  }
  return maxPasses;
}

/** See `Resctrl.reconcileGroup`. */
export async function reconcileGroupInFs(
  ctx: ResctrlContext,
  groupPath: string,
  pidSource: () => Promise<number[]>,
  maxPasses: number,
): Promise<ReconcileResult> {
  validateMaxPasses(maxPasses);
  let totals = emptyAssignment();
  const lastFailure = new Map<number, PidFailure>();
  let desired: number[] = [];
  let missingPids: number[] = [];
  let passes = 0;
  let wroteLast = false;
  while (passes < maxPasses) {
    passes += 1;
    desired = validatePids(await pidSource(), "tasks from the PID source");
    if (desired.length === 0) {
      throw new EmptyPidSetError(`failed to reconcile group ${groupPath}: the PID source returned no task`, {
        path: groupPath,
      });
    }
    const current = new Set(await listGroupTasksInFs(ctx, groupPath));
    missingPids = desired.filter((p) => !current.has(p));
    wroteLast = false;
    if (missingPids.length === 0) break;
    let pass;
    try {
      pass = await assignTasksInFs(ctx, groupPath, missingPids);
    } catch (err) {
      addPartial(err, totals);
      throw err;
    }
    wroteLast = true;
    totals = sumAssignments(totals, pass);
    for (const f of pass.failedPids) lastFailure.set(f.pid, f);
  }
  if (wroteLast) {
    const current = new Set(await listGroupTasksInFs(ctx, groupPath));
    missingPids = desired.filter((p) => !current.has(p));
  }
  missingPids.sort((a, b) => a - b);
  const failedPids = missingPids.flatMap((p) => {
    const f = lastFailure.get(p);
    return f ? [f] : [];
  });
  return {
    assigned: totals.assigned,
    missing: missingPids.length,
    foreign: failedPids.filter((f) => f.outcome === "foreign").length,
    denied: failedPids.filter((f) => f.outcome === "denied").length,
    failedPids,
    passes,
    converged: missingPids.length === 0,
    desired: desired.length,
    missingPids,
  };
}
