import { readFile, stat } from "node:fs/promises";
import { execa } from "execa";

/** Result of one external command. `exitCode` is -1 when the command could not be started. */
export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** True when the command was killed because it ran past its timeout. */
  timedOut: boolean;
}

/** Options of {@link HostPort.run}. */
export interface RunOptions {
  timeoutMs?: number;
  env?: Record<string, string | undefined>;
  input?: string;
}

/** What `stat` reports about a path; `undefined` from {@link HostPort.stat} means "does not exist". */
export interface PathKind {
  isFile: boolean;
  isDirectory: boolean;
  isSocket: boolean;
}

/**
 * The host seam of the hardware world and its preflight: files, processes and identity. The
 * real implementation ({@link nodeHost}) touches the machine; tests pass a fake.
 *
 * Failure contract: `readFile` rejects with the Node errno error of the read; `stat` never
 * rejects (missing or unreadable → `undefined`); `run` never rejects: a command that cannot be
 * started resolves with `exitCode: -1` and the reason in `stderr`.
 */
export interface HostPort {
  uid(): number;
  readFile(path: string): Promise<string>;
  stat(path: string): Promise<PathKind | undefined>;
  run(cmd: string, args: readonly string[], opts?: RunOptions): Promise<CommandResult>;
}

/** Default timeout of {@link HostPort.run} when the caller gives none. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;

/**
 * The real host: node:fs and execa. Commands run without a shell, with the current environment
 * plus `opts.env`, and are killed after `opts.timeoutMs` (default {@link DEFAULT_COMMAND_TIMEOUT_MS}).
 */
export function nodeHost(): HostPort {
  return {
    uid: () => (typeof process.getuid === "function" ? process.getuid() : -1),
    readFile: (path) => readFile(path, "utf8"),
    async stat(path) {
      try {
        const s = await stat(path);
        return { isFile: s.isFile(), isDirectory: s.isDirectory(), isSocket: s.isSocket() };
      } catch {
        return undefined;
      }
    },
    async run(cmd, args, opts = {}) {
      const r = await execa(cmd, [...args], {
        reject: false,
        timeout: opts.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
        env: opts.env,
        input: opts.input,
        stripFinalNewline: true,
      });
      const stderr = typeof r.stderr === "string" ? r.stderr : "";
      const stdout = typeof r.stdout === "string" ? r.stdout : "";
      if (r.exitCode === undefined) {
        return {
          exitCode: -1,
          stdout,
          stderr: stderr || r.shortMessage || "failed to start",
          timedOut: r.timedOut,
        };
      }
      return { exitCode: r.exitCode, stdout, stderr, timedOut: r.timedOut };
    },
  };
}
