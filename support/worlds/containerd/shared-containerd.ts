import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { pino, type Logger } from "pino";
import {
  LocalContainerd,
  SETUP_SCRIPT,
  SUITE_ENV,
  type Availability,
} from "../../containerd/local-containerd.js";

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

/**
 * The shared containerd, started on first use from Debian `suite` (NRI_CONTAINERD_SUITE for
 * setup.sh: trixie = containerd 1.7.24, forky = 2.1.9; undefined = the environment's, else
 * trixie). Rejects with the start failure (and retries on the next call), and if it runs already
 * from another suite (one run uses one runtime).
 */
export async function sharedContainerd(
  logger: Logger = pino({ level: "silent" }),
  suite?: string,
): Promise<LocalContainerd> {
  if (!starting) {
    installExitHandlers();
    const env: Record<string, string> = suite ? { [SUITE_ENV]: suite } : {};
    starting = LocalContainerd.start({ logger, env }).then(
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
  const c = await starting;
  if (suite && c.suite !== suite)
    throw new Error(
      `failed to use the shared containerd of suite ${suite}: this run started suite ${c.suite}'s (${c.dir})`,
    );
  return c;
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

/** How long {@link stopContainerdDaemon} waits after SIGTERM before SIGKILL (as setup.sh's stop_daemon). */
export const CONTAINERD_STOP_GRACE_MS = 10_000;

/**
 * Stops only the daemon of a local containerd — pods and shims keep running, as `setup.sh restart`
 * does before it starts it again — and removes its NRI socket if the daemon left it behind (so
 * the runtime is down the way a node sees it: no socket). SIGTERM, then SIGKILL after
 * {@link CONTAINERD_STOP_GRACE_MS}. Brought back with `LocalContainerd.restart()` (which finds no
 * daemon to stop and launches one on the same state). Rejects if the daemon is not running or its
 * pid is not the daemon of `c` (its command line must name `c`'s directory).
 */
export async function stopContainerdDaemon(c: LocalContainerd): Promise<void> {
  const pid = c.pid;
  if (!(pid > 0) || !processAlive(pid) || !commandLine(pid).includes(c.dir))
    throw new Error(`failed to stop the containerd daemon of ${c.dir}: pid ${pid} is not running it`);
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + CONTAINERD_STOP_GRACE_MS;
  let killed = false;
  while (processAlive(pid)) {
    if (Date.now() > deadline + (killed ? CONTAINERD_STOP_GRACE_MS : 0)) {
      if (killed)
        throw new Error(`failed to stop the containerd daemon of ${c.dir}: pid ${pid} survives SIGKILL`);
      process.kill(pid, "SIGKILL");
      killed = true;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await rm(c.nriSocket, { force: true });
}

/** The process exists and is not a zombie. */
function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
  } catch {
    return "";
  }
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
