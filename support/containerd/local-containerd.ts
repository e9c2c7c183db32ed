import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { pino, type Logger } from "pino";

/** The script that fetches, starts and stops the private containerd (hardware/local-containerd). */
export const SETUP_SCRIPT = fileURLToPath(
  new URL("../../hardware/local-containerd/setup.sh", import.meta.url),
);
/** Exit code of `setup.sh check` when this machine cannot run a local containerd. */
export const EXIT_UNAVAILABLE = 3;
/**
 * Environment variable of setup.sh naming the Debian suite whose containerd runs: trixie (the
 * default, containerd 1.7.24, NRI v0.6.1) or forky (containerd 2.1.9, NRI v0.8.0).
 */
export const SUITE_ENV = "NRI_CONTAINERD_SUITE";
/** The suite setup.sh uses when {@link SUITE_ENV} is unset. */
export const DEFAULT_SUITE = "trixie";
/** Environment variable that, when set to a non-empty value, makes {@link LocalContainerd.available} say no. */
export const SKIP_ENV = "NRI_RESCTRL_SKIP_CONTAINERD";
/** Time allowed for `setup.sh start` (includes a first download of ~33 MB and apt installs). */
export const DEFAULT_START_TIMEOUT_MS = 300_000;
/** Time allowed for `setup.sh stop`/`restart`/`check`. */
export const DEFAULT_SCRIPT_TIMEOUT_MS = 90_000;

/** Whether a local containerd can run here; `reason` says precisely why not (used to skip tests). */
export type Availability = { ok: true } | { ok: false; reason: string };

/** Options of {@link LocalContainerd.start}. */
export interface LocalContainerdOptions {
  /** Run directory (all daemon state, sockets, log). Default: a new temp dir `nri-ctrd-*`. Deleted by stop(). */
  dir?: string;
  logger?: Logger;
  /** Script seam (default {@link SETUP_SCRIPT}). */
  script?: string;
  /** Extra environment for the script (e.g. NRI_CONTAINERD_CACHE, {@link SUITE_ENV}); added to this process's. */
  env?: Record<string, string>;
}

/**
 * A private containerd with NRI, started by hardware/local-containerd/setup.sh with all its state
 * under {@link LocalContainerd.dir}: Debian trixie's 1.7.24 or forky's 2.1.9, as {@link SUITE_ENV}
 * (in `env`, else this process's environment) says. The daemon runs detached (it survives a crash
 * of this process); {@link LocalContainerd.stop} removes its pods, processes, pod cgroups and the
 * dir.
 * Needs root. Methods run the script and reject with `failed to <verb> local containerd <dir>`
 * (cause: the execa error, whose message holds the script's stderr).
 */
export class LocalContainerd {
  /** containerd's gRPC socket; the CRI `runtime.v1` services are served here. */
  readonly criSocket: string;
  /** The NRI socket plugins connect to (re-created by containerd on every start). */
  readonly nriSocket: string;
  /** containerd's log file (log level debug unless NRI_CONTAINERD_LOG_LEVEL says otherwise). */
  readonly logPath: string;
  /** The Debian suite it was started from ({@link SUITE_ENV}): trixie = 1.7.24, forky = 2.1.9. */
  readonly suite: string;
  #pid: number;
  #stopped = false;

  private constructor(
    readonly dir: string,
    env: Record<string, string>,
    private readonly opts: Required<Pick<LocalContainerdOptions, "script" | "env">> & { log: Logger },
  ) {
    this.criSocket = need(env, "CRI_SOCKET");
    this.nriSocket = need(env, "NRI_SOCKET");
    this.logPath = need(env, "LOG");
    this.suite = opts.env[SUITE_ENV] || process.env[SUITE_ENV] || DEFAULT_SUITE;
    this.#pid = Number(env["PID"] ?? 0);
  }

  /** PID of the containerd daemon (changes on restart). */
  get pid(): number {
    return this.#pid;
  }

  /**
   * Says whether this machine can run a local containerd: Linux, root, cgroups mounted, the tools,
   * and containerd cached or Debian's archive reachable (`setup.sh check`, which may take a few
   * seconds for an apt-get update when nothing is cached). Resolves `{ok:false, reason}` only for
   * those known causes; rejects if the check itself breaks (a bug must not become a skip).
   */
  static async available(opts: Pick<LocalContainerdOptions, "script" | "env"> = {}): Promise<Availability> {
    const skip = process.env[SKIP_ENV];
    if (skip) return { ok: false, reason: `local containerd disabled by ${SKIP_ENV}=${skip}` };
    if (process.platform !== "linux") return { ok: false, reason: `not Linux (${process.platform})` };
    const uid = process.getuid?.() ?? -1;
    if (uid !== 0) return { ok: false, reason: `not root (uid ${uid}); a local containerd needs root` };
    const script = opts.script ?? SETUP_SCRIPT;
    const r = await execa("bash", [script, "check"], {
      reject: false,
      timeout: DEFAULT_SCRIPT_TIMEOUT_MS,
      env: opts.env,
    });
    if (r.exitCode === 0) return { ok: true };
    if (r.exitCode === EXIT_UNAVAILABLE)
      return { ok: false, reason: r.stdout.trim() || "setup.sh check: unavailable" };
    throw new Error(`failed to check local containerd availability: ${r.stderr || r.message}`, { cause: r });
  }

  /** Fetches (cached after the first time) and starts a containerd; resolves when CRI and NRI sockets are up and images imported. */
  static async start(opts: LocalContainerdOptions = {}): Promise<LocalContainerd> {
    const log = opts.logger ?? pino({ level: "silent" });
    const script = opts.script ?? SETUP_SCRIPT;
    const env = opts.env ?? {};
    const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), "nri-ctrd-")));
    const started = Date.now();
    const out = await runScript(script, "start", dir, env, DEFAULT_START_TIMEOUT_MS, log);
    const ctrd = new LocalContainerd(dir, parseEnv(out), { script, env, log });
    log.info({ dir, pid: ctrd.pid, ms: Date.now() - started }, "local containerd started");
    return ctrd;
  }

  /** Stops only the daemon (pods and shims keep running) and starts it again on the same state. */
  async restart(): Promise<void> {
    const out = await runScript(
      this.opts.script,
      "restart",
      this.dir,
      this.opts.env,
      DEFAULT_SCRIPT_TIMEOUT_MS,
      this.opts.log,
    );
    this.#pid = Number(parseEnv(out)["PID"] ?? 0);
  }

  /** Removes all pods and containers, kills daemon and shims, removes pod cgroups and the dir. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    await runScript(
      this.opts.script,
      "stop",
      this.dir,
      this.opts.env,
      DEFAULT_SCRIPT_TIMEOUT_MS,
      this.opts.log,
    );
    this.#stopped = true;
  }

  /** The daemon's log so far (for asserting on containerd's own view). */
  readLog(): Promise<string> {
    return readFile(this.logPath, "utf8");
  }
}

async function runScript(
  script: string,
  cmd: string,
  dir: string,
  env: Record<string, string>,
  timeout: number,
  log: Logger,
): Promise<string> {
  try {
    const r = await execa("bash", [script, cmd, dir], { timeout, env });
    if (r.stderr) log.debug({ cmd, dir }, r.stderr);
    return r.stdout;
  } catch (cause) {
    throw new Error(`failed to ${cmd} local containerd ${dir}`, { cause });
  }
}

function parseEnv(out: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of out.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}

function need(env: Record<string, string>, key: string): string {
  const v = env[key];
  if (!v) throw new Error(`failed to parse setup.sh output: no ${key}`);
  return v;
}
