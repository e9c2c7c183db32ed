import { pino, type Logger } from "pino";
import type { SweepReport } from "./sweep-report.js";

/** What the loop drives: `ResctrlPlugin.sweep`. */
export interface Sweeper {
  sweep(): Promise<SweepReport>;
}

/** A running loop; `stop()` cancels the next tick and waits for the one in flight (idempotent). */
export interface SweepLoop {
  stop(): Promise<void>;
  /** Ticks finished so far. */
  readonly ticks: number;
}

/**
 * Runs `sweeper.sweep()` every `intervalMs` (the daemon's `--retry-interval`): the next tick is
 * scheduled only when the previous one finished, so ticks never overlap and a slow one delays
 * the next instead of piling up. The timer is unref'd (it never holds the process open). A tick
 * that did something logs one info line with its counters; an idle one logs at debug. A sweep
 * never rejects; if one did, it is logged and the loop goes on. `intervalMs` 0 → no loop.
 */
export function startSweepLoop(
  sweeper: Sweeper,
  intervalMs: number,
  logger: Logger = pino({ level: "silent" }),
): SweepLoop {
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  let stopped = intervalMs <= 0;
  let ticks = 0;
  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(tick, intervalMs);
    timer.unref();
  };
  const tick = (): void => {
    timer = undefined;
    inFlight = sweeper
      .sweep()
      .then(
        (r) => {
          const acted =
            r.containersVanished + r.podsPruned + r.unmonitoredForgotten > 0 ||
            (r.retry !== undefined &&
              r.retry.groupAttempts + r.retry.containerAttempts + r.retry.failures.length > 0);
          const fields = {
            containersVanished: r.containersVanished,
            podsPruned: r.podsPruned,
            unmonitoredForgotten: r.unmonitoredForgotten,
            groupsCreated: r.retry?.groupsCreated ?? 0,
            groupAttempts: r.retry?.groupAttempts ?? 0,
            stoppedOnCapacity: r.retry?.stoppedOnCapacity ?? false,
            containersReconciled: r.retry?.containersReconciled ?? 0,
            failures: r.retry?.failures.length ?? 0,
            durationMs: r.durationMs,
          };
          if (acted) logger.info(fields, "sweep done");
          else logger.debug(fields, "sweep done");
        },
        (err: unknown) => logger.error({ err }, "sweep failed (loop continues)"),
      )
      .finally(() => {
        ticks += 1;
        inFlight = undefined;
        schedule();
      });
  };
  schedule();
  return {
    get ticks() {
      return ticks;
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await inFlight;
    },
  };
}
