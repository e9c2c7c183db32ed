import type { Logger } from "pino";
import { bySeq } from "./async-work.js";
import { ContainerNotFoundError, PodNotFoundError, errorMessage, errorName } from "./errors.js";
import type { ContainerSyncState, ResctrlGroupState } from "./events.js";
import type { PodRegistry } from "./pod-registry.js";
import { isCapacityError } from "./resctrl-port.js";
import { emptyRetryReport, type RetryReport } from "./retry-report.js";

/** The two single-entry retries `retryAllOnce` is built from. */
export interface SingleRetries {
  retryGroupCreation(podUid: string): Promise<ResctrlGroupState>;
  retryContainerReconcile(containerId: string): Promise<ContainerSyncState>;
}

/**
 * See `ResctrlPlugin.retryAllOnce`. Reads `reg` for the work list; never rejects. `prune(uid)`
 * (optional) removes a pod whose sandboxes are gone and resolves true if it did; it is tried
 * first, oldest pod first, for pods that had containers and have no live one left (a pod that never had
 * one is probably still starting), so dead pods are not retried.
 */
export async function retryAllOnce(
  reg: PodRegistry,
  plugin: SingleRetries,
  log: Logger,
  prune?: (podUid: string) => Promise<boolean>,
): Promise<RetryReport> {
  const report = emptyRetryReport();
  if (prune) {
    const empty = [...reg.pods.values()]
      .filter((p) => p.hadContainers && reg.liveContainers(p) === 0)
      .sort(bySeq);
    for (const p of empty) {
      try {
        if (await prune(p.uid)) report.podsPruned += 1;
      } catch (e) {
        report.failures.push({ target: "pod", id: p.uid, error: errorName(e), message: errorMessage(e) });
      }
    }
  }
  const failed = [...reg.pods.values()].filter((p) => p.groupState.kind === "Failed").sort(bySeq);
  for (const p of failed) {
    if (report.stoppedOnCapacity) {
      report.groupsSkipped += 1;
      continue;
    }
    report.groupAttempts += 1;
    try {
      if ((await plugin.retryGroupCreation(p.uid)).kind === "Exists") report.groupsCreated += 1;
    } catch (e) {
      if (e instanceof PodNotFoundError) continue;
      if (isCapacityError(e)) report.stoppedOnCapacity = true;
      report.failures.push({ target: "pod", id: p.uid, error: errorName(e), message: errorMessage(e) });
    }
  }
  const partial = [...reg.pods.values()]
    .filter((p) => p.groupState.kind === "Exists")
    // A container blocked by an RDT class it may not leave (classes not followed) is skipped until
    // that class goes away: retrying could only fail the same way.
    .flatMap((p) => [...p.containers.values()].filter((c) => c.state === "Partial" && !c.blockedBy))
    .sort(bySeq);
  for (const c of partial) {
    report.containerAttempts += 1;
    try {
      if ((await plugin.retryContainerReconcile(c.id)) === "Reconciled") report.containersReconciled += 1;
    } catch (e) {
      if (e instanceof ContainerNotFoundError || e instanceof PodNotFoundError) continue;
      report.failures.push({
        target: "container",
        id: c.id,
        error: errorName(e),
        message: errorMessage(e),
      });
    }
  }
  log.info({ ...report, failures: report.failures.length }, "retry pass done");
  return report;
}
