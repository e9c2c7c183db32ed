/**
 * Every deadline of the hardware world that can hold a step up, in one place, and the step timeout
 * derived from them (support/worlds/hardware/step-timeout.ts installs it for the hardware profile).
 * Pure constants and arithmetic: importing this loads nothing else.
 */

/** How often the kernel re-checks RMIDs in limbo (CQM_LIMBOCHECK_INTERVAL in arch/x86/kernel/cpu/resctrl). */
export const KERNEL_LIMBO_CHECK_MS = 1_000;

/**
 * How long each half of a k3s restart may take: `systemctl restart k3s`, then until its API
 * answers and the node is Ready again (so a runtime restart may wait twice this).
 */
export const RUNTIME_RESTART_TIMEOUT_MS = 180_000;
/** How long dispose waits for the helper groups' RMIDs to leave limbo. */
export const RMID_RELEASE_WAIT_MS = 15_000;
/** Deadline of exhausting the RMIDs (hundreds of mkdirs take well under a second on a real host). */
export const FILL_TIMEOUT_MS = 60_000;
/**
 * How long the filler keeps taking RMIDs that leave limbo once mkdir answers EBUSY, so that the
 * host ends up exhausted (ENOSPC) rather than busy; with the threshold at the LLC size limbo drains
 * within a kernel limbo check or two.
 */
export const FILL_LIMBO_WAIT_MS = 15_000;
/** Deadline of the process that fills the cache from a helper group. */
export const CACHE_FILL_TIMEOUT_MS = 30_000;
/** How long limbo must keep answering EBUSY before "freed but still in limbo" counts as arranged. */
export const LIMBO_HOLD_CHECK_MS = 2 * KERNEL_LIMBO_CHECK_MS + 500;
/** Deadline of waiting for RMIDs to leave limbo (threshold at the LLC size: about a second). */
export const LIMBO_DRAIN_TIMEOUT_MS = 60_000;
/**
 * Pause after the drain probe: its own rmdir put one RMID back into limbo, which the kernel frees
 * at its next limbo check. Retries after a drain still repeat while the answer is "limbo".
 */
export const LIMBO_SETTLE_MS = 2 * KERNEL_LIMBO_CHECK_MS + 500;

/** The hardware profile's step timeout is at least this (a step may chain several waits, e.g. 150 pods). */
export const MIN_HARDWARE_STEP_TIMEOUT_MS = 600_000;
/** Headroom of the step timeout over the longest single wait, so that wait fails with its own message. */
export const STEP_TIMEOUT_MARGIN_MS = 60_000;

/**
 * The longest single wait a step of the hardware world may make, in ms: a runtime restart
 * (`systemctl restart`, then the cluster: 2 × {@link RUNTIME_RESTART_TIMEOUT_MS} = 360 s),
 * exhausting the RMIDs (limbo wait included), arranging limbo (cache fill + hold check), draining
 * it (+ settle), and one "eventually" wait of `eventuallyMs` (also each pod wait and retry loop).
 */
export function longestStepWaitMs(eventuallyMs: number): number {
  return Math.max(
    2 * RUNTIME_RESTART_TIMEOUT_MS,
    FILL_TIMEOUT_MS,
    CACHE_FILL_TIMEOUT_MS + LIMBO_HOLD_CHECK_MS,
    LIMBO_DRAIN_TIMEOUT_MS + LIMBO_SETTLE_MS,
    eventuallyMs,
  );
}

/** The hardware profile's step timeout for an "eventually" deadline of `eventuallyMs`. Pure. */
export function hardwareStepTimeoutMs(eventuallyMs: number): number {
  return Math.max(MIN_HARDWARE_STEP_TIMEOUT_MS, longestStepWaitMs(eventuallyMs) + STEP_TIMEOUT_MARGIN_MS);
}
