import { createWriteStream, existsSync, type WriteStream } from "node:fs";
import { join } from "node:path";
import { execa, type ResultPromise } from "execa";
import type { LogRecord } from "../types.js";

/** How long {@link DaemonProcess.stop} waits after SIGTERM before SIGKILL. */
export const DAEMON_STOP_GRACE_MS = 10_000;

/** How the daemon is started. Every flag maps 1:1 to a `nri-resctrl-plugin` CLI flag. */
export interface DaemonOptions {
  repoRoot: string;
  nriSocket: string;
  pluginName: string;
  pluginIdx: string;
  groupPrefix: string;
  resctrlRoot: string;
  controlSocket: string;
  cleanupOnStart?: boolean;
  autoMount?: boolean;
  logLevel?: string;
  /** Raw daemon output is appended here (kept for the CI artifact). */
  logFile?: string;
}

/** The daemon's argv (after the entry point). Pure; unset booleans keep the daemon's defaults. */
export function daemonArgs(o: DaemonOptions): string[] {
  const args = [
    "--nri-socket",
    o.nriSocket,
    "--plugin-name",
    o.pluginName,
    "--plugin-idx",
    o.pluginIdx,
    "--group-prefix",
    o.groupPrefix,
    "--resctrl-root",
    o.resctrlRoot,
    "--resctrl-provider",
    "real",
    "--control-socket",
    o.controlSocket,
    "--log-level",
    o.logLevel ?? "debug",
  ];
  if (o.cleanupOnStart !== undefined)
    args.push(o.cleanupOnStart ? "--cleanup-on-start" : "--no-cleanup-on-start");
  if (o.autoMount !== undefined) args.push(o.autoMount ? "--auto-mount" : "--no-auto-mount");
  return args;
}

/** The built daemon when present, else the source through tsx (no build needed on the host). */
export function daemonEntry(repoRoot: string): string[] {
  const built = join(repoRoot, "dist/cli.js");
  return existsSync(built) ? [built] : ["--import", "tsx", join(repoRoot, "src/cli.ts")];
}

/** Parses one output line: pino JSON becomes its record, anything else `{ msg: line }`. Pure. */
export function parseLogLine(line: string): LogRecord | undefined {
  const t = line.trim();
  if (t === "") return undefined;
  if (t.startsWith("{")) {
    try {
      return JSON.parse(t) as LogRecord;
    } catch {
      // not JSON after all
    }
  }
  return { msg: t };
}

/**
 * One `nri-resctrl-plugin` process on the host: started with execa, stdout/stderr collected as
 * structured log records (and appended to `logFile`). Ownership: the instance owns the process;
 * {@link stop} ends it (SIGTERM, then SIGKILL after {@link DAEMON_STOP_GRACE_MS}). Never throws
 * from stop.
 */
export class DaemonProcess {
  readonly records: LogRecord[] = [];
  readonly #proc: ResultPromise;
  readonly #file: WriteStream | undefined;
  readonly #waiters = new Set<() => void>();
  #exit: string | undefined;

  private constructor(proc: ResultPromise, file: WriteStream | undefined, onRecord?: (r: LogRecord) => void) {
    this.#proc = proc;
    this.#file = file;
    // One line splitter per stream: a chunk may end in the middle of a line.
    const splitter = (): ((chunk: Buffer | string) => void) => {
      let partial = "";
      return (chunk) => {
        const text = chunk.toString();
        this.#file?.write(text);
        const lines = (partial + text).split("\n");
        partial = lines.pop() ?? "";
        for (const line of lines) {
          const r = parseLogLine(line);
          if (!r) continue;
          this.records.push(r);
          onRecord?.(r);
        }
        this.#wake();
      };
    };
    proc.stdout?.on("data", splitter());
    proc.stderr?.on("data", splitter());
    proc.then(
      (r) => this.#exited(`exit code ${r.exitCode ?? "?"}${r.signal ? `, signal ${r.signal}` : ""}`),
      (e: unknown) => this.#exited(`failed: ${(e as Error).message}`),
    );
  }

  /**
   * Spawns the daemon. Does not wait for anything; see {@link waitForLog}. `onRecord` sees every
   * log record in output order (the daemon logs each pod event as it emits it).
   */
  static start(o: DaemonOptions, onRecord?: (r: LogRecord) => void): DaemonProcess {
    const proc = execa(process.execPath, [...daemonEntry(o.repoRoot), ...daemonArgs(o)], {
      cwd: o.repoRoot,
      reject: false,
      buffer: false,
      stdin: "ignore",
      env: { NODE_ENV: "production" },
    });
    const file = o.logFile ? createWriteStream(o.logFile, { flags: "a" }) : undefined;
    return new DaemonProcess(proc, file, onRecord);
  }

  /** Why the process ended, or undefined while it runs. */
  get exitReason(): string | undefined {
    return this.#exit;
  }

  /**
   * Resolves with the first log record whose `msg` contains `needle`; rejects when the daemon
   * exits first or after `timeoutMs`, quoting its last log lines.
   */
  waitForLog(needle: string, timeoutMs: number): Promise<LogRecord> {
    const find = (): LogRecord | undefined => this.records.find((r) => String(r.msg ?? "").includes(needle));
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const hit = find();
        if (hit) return finish(() => resolve(hit));
        if (this.#exit)
          return finish(() =>
            reject(
              new Error(
                `failed to see daemon log "${needle}": the daemon ended (${this.#exit}); last output: ${this.tail()}`,
              ),
            ),
          );
      };
      const timer = setTimeout(
        () =>
          finish(() =>
            reject(
              new Error(
                `failed to see daemon log "${needle}" within ${timeoutMs} ms; last output: ${this.tail()}`,
              ),
            ),
          ),
        timeoutMs,
      );
      const finish = (then: () => void): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        then();
      };
      this.#waiters.add(check);
      check();
    });
  }

  /**
   * The daemon's complaints (error/fatal records and "failed to …" lines, at most 3) followed by
   * its last `n` messages, for error texts: a usage dump must not hide the line that explains it.
   */
  tail(n = 8): string {
    const text = (r: LogRecord): string => String(r.msg ?? JSON.stringify(r));
    const complaints = this.records
      .filter((r) => (typeof r.level === "number" && r.level >= 50) || /failed to/i.test(text(r)))
      .slice(-3);
    const last = this.records.slice(-n).filter((r) => !complaints.includes(r));
    return [...complaints, ...last].map(text).join(" | ");
  }

  /** SIGTERM, then SIGKILL after the grace period. Idempotent; never rejects. */
  async stop(): Promise<void> {
    if (!this.#exit) {
      this.#proc.kill("SIGTERM");
      const timer = setTimeout(() => this.#proc.kill("SIGKILL"), DAEMON_STOP_GRACE_MS);
      await this.#proc.catch(() => undefined);
      clearTimeout(timer);
    }
    await new Promise<void>((resolve) => (this.#file ? this.#file.end(resolve) : resolve()));
  }

  #exited(reason: string): void {
    this.#exit = reason;
    this.#wake();
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }
}
