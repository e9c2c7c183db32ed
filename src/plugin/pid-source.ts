import type { NriContainer, NriPod } from "../nri/types.js";

/**
 * Where the plugin learns which tasks (thread IDs) belong to a container.
 *
 * Contract: `tasksOf` resolves to the thread IDs (resctrl `tasks` works per thread) of every
 * process in the container's cgroup; every value is a positive integer (never 0 or negative).
 * It rejects with a clear error when the cgroup vanished, cannot be read, or the path cannot
 * be determined; an existing but empty cgroup resolves to `[]` (the caller decides what that
 * means). It is called again on every reconcile pass and may change its answer between calls.
 */
export interface CgroupPidSource {
  /** Resolves the container's cgroup directory (absolute), for logs and diagnostics. */
  cgroupPathOf(container: NriContainer, pod: NriPod | undefined): string;
  /** Current thread IDs of the container's processes. */
  tasksOf(container: NriContainer, pod: NriPod | undefined): Promise<number[]>;
}
