import { spawnSync } from "node:child_process";
import { pino, type Logger } from "pino";
import { LocalContainerd, SETUP_SCRIPT, type Availability } from "../../containerd/local-containerd.js";

/** Set to a non-empty value to keep containerd's run dir (state, log) after the run, for debugging. */
export const KEEP_ENV = "NRI_RESCTRL_KEEP_CONTAINERD";

/**
 * The one private containerd of a profile run, shared by every scenario of the containerd world
 * (starting one takes seconds, stopping one ~10 s). Started lazily by the first scenario that
 * runs, stopped by {@link shutdownSharedContainerd} (the AfterAll hook), and as a last resort by
 * an exit/signal handler that runs `setup.sh stop` synchronously, so a failed or interrupted run
 * leaves no daemon, pod, cgroup or temp dir behind. Module state is deliberate here: the daemon
 * is a process-wide resource.
 */
let availability: Promise<Availability> | undefined;
let starting: Promise<LocalContainerd> | undefined;
let current: LocalContainerd | undefined;
let handlersInstalled = false;

/** Whether a local containerd can run here (cached for the run). Rejects only if the check itself breaks. */
export function containerdAvailability(): Promise<Availability> {
  availability ??= LocalContainerd.available();
  return availability;
}

/** The shared containerd, started on first use. Rejects with the start failure (and retries on the next call). */
export function sharedContainerd(logger: Logger = pino({ level: "silent" })): Promise<LocalContainerd> {
  if (!starting) {
    installExitHandlers();
    starting = LocalContainerd.start({ logger }).then(
      (c) => {
        current = c;
        return c;
      },
      (err: unknown) => {
        starting = undefined;
        throw err;
      },
    );
  }
  return starting;
}

/** Stops the shared containerd (pods, shims, cgroups, run dir) unless {@link KEEP_ENV} is set. Idempotent; never rejects. */
export async function shutdownSharedContainerd(): Promise<void> {
  const pending = starting;
  starting = undefined;
  const c = current ?? (await pending?.catch(() => undefined));
  current = undefined;
  if (!c) return;
  if (process.env[KEEP_ENV]) {
    console.warn(
      `[containerd world] ${KEEP_ENV} set: containerd keeps running in ${c.dir} (stop: bash ${SETUP_SCRIPT} stop ${c.dir})`,
    );
    return;
  }
  await c
    .stop()
    .catch((err: unknown) =>
      console.warn(`[containerd world] failed to stop containerd ${c.dir}: ${String(err)}`),
    );
}

/** Synchronous last-resort cleanup when the process exits or is interrupted before AfterAll ran. */
function stopNowSync(): void {
  const c = current;
  current = undefined;
  if (!c || process.env[KEEP_ENV]) return;
  spawnSync("bash", [SETUP_SCRIPT, "stop", c.dir], { stdio: "ignore", timeout: 60_000 });
}

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.once("exit", stopNowSync);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(sig, () => {
      stopNowSync();
      process.exit(130);
    });
  }
}
