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
  /**
   * True only when the pod sandbox is positively known to be gone: its pause container's cgroup
   * (`pod.cgroupsPath`) no longer exists and, if `pod.pid > 0`, that process is gone or the PID now
   * belongs to another process. Anything undeterminable (empty or invalid path, read errors other
   * than "not found", no cgroup hierarchy found) resolves to false: never remove on doubt. Never
   * rejects; a few small async reads.
   */
  sandboxGone(pod: NriPod): Promise<boolean>;
  /**
   * True only when the container is positively known to have exited: its cgroup no longer exists
   * and, if `container.pid > 0`, that process is gone or the PID now belongs to another process.
   * The runtime does not always say so: containerd before 2.0.3 drops the StopContainer of a
   * container that exits while a plugin registers. Same doubt rule as {@link sandboxGone}.
   */
  containerGone(container: NriContainer, pod: NriPod | undefined): Promise<boolean>;
}
