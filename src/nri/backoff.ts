import { MAX_TIMER_MS } from "./constants.js";

/** Default first reconnect delay. */
export const DEFAULT_BACKOFF_INITIAL_MS = 200;
/** Default cap of the reconnect delay. */
export const DEFAULT_BACKOFF_MAX_MS = 30_000;
/** Default growth factor per attempt. */
export const DEFAULT_BACKOFF_MULTIPLIER = 2;
/** Default jitter: the delay is scaled by a random factor in [1 - jitter, 1 + jitter]. */
export const DEFAULT_BACKOFF_JITTER = 0.2;

/** Options of {@link Backoff}. */
export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  multiplier?: number;
  /** 0..1. */
  jitter?: number;
  /** Random source in [0, 1) (seam for tests). */
  random?: () => number;
  /**
   * Hold the event loop open while a scheduled retry is pending (a ref'd timer), so a process that
   * has nothing else to do keeps waiting instead of exiting. Default false: the timer is unref'd.
   * No handle remains once the callback ran or `stop()` cancelled it.
   */
  keepAlive?: boolean;
}

/**
 * Exponential backoff with jitter. `schedule(fn)` runs `fn` once after the next delay on a timer
 * that is unref'd (never keeps the process alive) unless `keepAlive` is set, and returns
 * `{attempt, delayMs}`; a new schedule replaces the pending one. `reset()` returns to the initial
 * delay; `stop()` cancels the pending timer. Delays are clamped to MAX_TIMER_MS (setTimeout's
 * range). Never throws.
 */
export class Backoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly multiplier: number;
  private readonly jitter: number;
  private readonly random: () => number;
  private readonly keepAlive: boolean;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(opts: BackoffOptions = {}) {
    // Both clamped to setTimeout's range: a longer delay would fire after 1 ms (a reconnect storm).
    this.initialMs = Math.min(MAX_TIMER_MS, Math.max(0, opts.initialMs ?? DEFAULT_BACKOFF_INITIAL_MS));
    this.maxMs = Math.min(MAX_TIMER_MS, Math.max(this.initialMs, opts.maxMs ?? DEFAULT_BACKOFF_MAX_MS));
    this.multiplier = Math.max(1, opts.multiplier ?? DEFAULT_BACKOFF_MULTIPLIER);
    this.jitter = Math.min(1, Math.max(0, opts.jitter ?? DEFAULT_BACKOFF_JITTER));
    this.random = opts.random ?? Math.random;
    this.keepAlive = opts.keepAlive === true;
  }

  /** The delay the next `schedule()` will use for attempt `n` (1-based), before jitter. Pure. */
  baseDelay(n: number): number {
    return Math.min(this.maxMs, this.initialMs * this.multiplier ** Math.max(0, n - 1));
  }

  /** Schedules `fn` after the next delay. */
  schedule(fn: () => void): { attempt: number; delayMs: number } {
    this.stop();
    this.attempt += 1;
    const base = this.baseDelay(this.attempt);
    const factor = 1 + this.jitter * (2 * this.random() - 1);
    const delayMs = Math.round(Math.min(this.maxMs, Math.max(0, base * factor)));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      fn();
    }, delayMs);
    if (!this.keepAlive) this.timer.unref();
    return { attempt: this.attempt, delayMs };
  }

  /** Back to the initial delay (after a successful connection). Does not cancel a pending timer. */
  reset(): void {
    this.attempt = 0;
  }

  /** Cancels the pending timer, if any. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/**
 * A delay for humans: `0.5 s`, `0.05 s`, `1.6 s`, `2 s`, `30 s` (two significant digits below 10 s,
 * whole seconds above). Pure.
 */
export function formatDelay(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  return `${s < 10 ? Number(s.toPrecision(2)) : Math.round(s)} s`;
}
