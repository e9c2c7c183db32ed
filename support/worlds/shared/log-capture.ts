import { pino, type Logger, type LoggerOptions } from "pino";
import type { LogRecord } from "../types.js";

/** Level of the captured plugin log: debug, so a failing scenario's report shows every decision. */
export const CAPTURED_LOG_LEVEL = "debug";

/**
 * A pino logger whose JSON lines are kept in memory (parsed) instead of written anywhere: the
 * per-scenario log of an in-process plugin (the mock world's, the containerd world's in-process
 * mode) and of unit specs. Synchronous; the records live as long as the returned object. `options`
 * are further pino options (e.g. `hooks`).
 */
export function memoryLogger(
  level: string = CAPTURED_LOG_LEVEL,
  options: Omit<LoggerOptions, "level"> = {},
): { logger: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const stream = {
    write(line: string): void {
      try {
        records.push(JSON.parse(line) as LogRecord);
      } catch {
        records.push({ msg: line.trimEnd(), unparsable: true });
      }
    },
  };
  return { logger: pino({ ...options, level }, stream), records };
}
