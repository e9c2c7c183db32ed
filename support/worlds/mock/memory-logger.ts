import { pino, type Logger } from "pino";
import type { LogRecord } from "../types.js";

/** Level of the captured plugin log: debug, so a failing scenario's report shows every decision. */
export const MOCK_LOG_LEVEL = "debug";

/**
 * A pino logger whose JSON lines are kept in memory (parsed) instead of written anywhere: the mock
 * world's per-scenario plugin log. Synchronous; the records live as long as the returned object.
 */
export function memoryLogger(level: string = MOCK_LOG_LEVEL): { logger: Logger; records: LogRecord[] } {
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
  return { logger: pino({ level }, stream), records };
}
