/**
 * What `pino` resolves to in the floor plugin's bundle (bench/floor-bench.ts builds it): src/nri's
 * mux and ttrpc import pino only to create a silent logger when none is given, and the floor plugin
 * logs nothing, so it loads no logging library at all. Every level is a no-op.
 */
interface NoopLogger {
  level: string;
  trace(...args: unknown[]): void;
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
  fatal(...args: unknown[]): void;
  silent(...args: unknown[]): void;
  isLevelEnabled(level: string): boolean;
  child(): NoopLogger;
}

const noop = (): void => undefined;
const logger: NoopLogger = {
  level: "silent",
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  fatal: noop,
  silent: noop,
  isLevelEnabled: () => false,
  child: () => logger,
};

/** `pino(...)`: the no-op logger. */
export function pino(): NoopLogger {
  return logger;
}
export default pino;
