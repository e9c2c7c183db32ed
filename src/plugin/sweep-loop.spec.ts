// The daemon's sweep cadence: one tick per interval, never overlapping, stoppable, 0 = off.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Logger } from "pino";
import { memoryLogger } from "../../support/worlds/shared/log-capture.js";
import { gate, runModuleInChild, until, type LogLine } from "../../test/support/plugin-harness.js";
import type { RetryReport } from "./retry-report.js";
import { emptyRetryReport } from "./retry-report.js";
import { startSweepLoop } from "./sweep-loop.js";
import type { SweepReport } from "./sweep-report.js";

const idle = (): SweepReport => ({
  containersVanished: 0,
  podsPruned: 0,
  unmonitoredForgotten: 0,
  retry: undefined,
  durationMs: 0,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("startSweepLoop", () => {
  it("ticks every interval", async () => {
    let n = 0;
    const loop = startSweepLoop({ sweep: async () => (n++, idle()) }, 10);
    await sleep(120);
    await loop.stop();
    assert.ok(n >= 4 && n <= 13, `ticks: ${n}`);
    const after = n;
    await sleep(40);
    assert.equal(n, after, "no tick after stop");
  });

  it("never overlaps: a slow sweep delays the next tick", async () => {
    let running = 0;
    let maxRunning = 0;
    let n = 0;
    const loop = startSweepLoop(
      {
        sweep: async () => {
          running += 1;
          maxRunning = Math.max(maxRunning, running);
          await sleep(30);
          running -= 1;
          n += 1;
          return idle();
        },
      },
      5,
    );
    await sleep(150);
    await loop.stop();
    assert.equal(maxRunning, 1);
    assert.ok(n <= 5, `slow ticks: ${n}`);
    assert.equal(running, 0, "stop() waited for the tick in flight");
  });

  it("survives a rejecting sweep", async () => {
    let n = 0;
    const loop = startSweepLoop(
      {
        sweep: async () => {
          n += 1;
          throw new Error("boom");
        },
      },
      5,
    );
    await sleep(60);
    await loop.stop();
    assert.ok(n >= 2, `ticks after failures: ${n}`);
    assert.equal(loop.ticks, n);
  });

  it("interval 0: no loop", async () => {
    let n = 0;
    const loop = startSweepLoop({ sweep: async () => (n++, idle()) }, 0);
    await sleep(30);
    await loop.stop();
    assert.equal(n, 0);
  });
});

/** A debug-level logger whose records land in `logs`. */
function capture(): { logger: Logger; logs: LogLine[] } {
  const { logger, records } = memoryLogger("debug");
  return { logger, logs: records as LogLine[] };
}

async function oneTick(report: SweepReport | Error): Promise<LogLine> {
  const { logger, logs } = capture();
  const loop = startSweepLoop(
    {
      sweep: async () => {
        if (report instanceof Error) throw report;
        return report;
      },
    },
    1,
    logger,
  );
  await until(() => loop.ticks >= 1 && logs.length >= 1);
  await loop.stop();
  return logs[0]!;
}

const withRetry = (r: Partial<RetryReport>): SweepReport => ({
  ...idle(),
  retry: { ...emptyRetryReport(), ...r },
});
const failure = { target: "pod", id: "u1", error: "CapacityError", message: "full" } as const;

describe("startSweepLoop: the per-tick log line", () => {
  it("an idle tick logs 'sweep done' at debug with every counter zero", async () => {
    const l = await oneTick({ ...idle(), durationMs: 7 });
    assert.equal(l.level, 20);
    assert.equal(l.msg, "sweep done");
    assert.deepEqual(
      {
        containersVanished: l.containersVanished,
        podsPruned: l.podsPruned,
        unmonitoredForgotten: l.unmonitoredForgotten,
        groupsCreated: l.groupsCreated,
        groupAttempts: l.groupAttempts,
        stoppedOnCapacity: l.stoppedOnCapacity,
        containersReconciled: l.containersReconciled,
        failures: l.failures,
        durationMs: l.durationMs,
      },
      {
        containersVanished: 0,
        podsPruned: 0,
        unmonitoredForgotten: 0,
        groupsCreated: 0,
        groupAttempts: 0,
        stoppedOnCapacity: false,
        containersReconciled: 0,
        failures: 0,
        durationMs: 7,
      },
    );
  });

  it("a retry pass that attempted nothing is still idle (debug)", async () => {
    assert.equal((await oneTick(withRetry({ groupsCreated: 0 }))).level, 20);
  });

  it("each non-zero sweep counter alone makes the tick log at info", async () => {
    for (const k of ["containersVanished", "podsPruned", "unmonitoredForgotten"] as const) {
      const l = await oneTick({ ...idle(), [k]: 1 });
      assert.equal(l.level, 30, k);
      assert.equal(l[k], 1, k);
    }
  });

  it("each retry attempt counter alone makes the tick log at info", async () => {
    for (const r of [{ groupAttempts: 1 }, { containerAttempts: 1 }, { failures: [failure] }]) {
      const l = await oneTick(withRetry(r));
      assert.equal(l.level, 30, JSON.stringify(r));
      assert.equal(l.msg, "sweep done");
    }
  });

  it("the info line carries the retry pass's counters", async () => {
    const l = await oneTick(
      withRetry({
        groupAttempts: 3,
        groupsCreated: 2,
        stoppedOnCapacity: true,
        containerAttempts: 5,
        containersReconciled: 4,
        failures: [failure],
      }),
    );
    assert.equal(l.level, 30);
    assert.equal(l.groupAttempts, 3);
    assert.equal(l.groupsCreated, 2);
    assert.equal(l.stoppedOnCapacity, true);
    assert.equal(l.containersReconciled, 4);
    assert.equal(l.failures, 1);
  });

  it("a rejecting sweep logs the error at error level", async () => {
    const l = await oneTick(new Error("boom"));
    assert.equal(l.level, 50);
    assert.equal(l.msg, "sweep failed (loop continues)");
    assert.equal((l.err as { message: string }).message, "boom");
  });

  it("without a logger the loop writes nothing to stdout or stderr", () => {
    // Run it in this process too so per-test coverage sees the default logger.
    void startSweepLoop({ sweep: async () => idle() }, 0).stop();
    const url = JSON.stringify(new URL("./sweep-loop.js", import.meta.url).href);
    const r = runModuleInChild([
      `const { startSweepLoop } = await import(${url});`,
      `const report = { containersVanished: 1, podsPruned: 0, unmonitoredForgotten: 0, retry: undefined, durationMs: 0 };`,
      `let n = 0;`,
      `const loop = startSweepLoop({ sweep: async () => { n += 1; if (n === 2) throw new Error("boom"); return report; } }, 1);`,
      `while (loop.ticks < 3) await new Promise((r) => setTimeout(r, 2));`,
      `await loop.stop();`,
      `process.stdout.write(loop.ticks >= 3 ? "done" : "short");`,
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "done", "only the child's own output, no log line");
    assert.equal(r.stderr, "");
  });
});

describe("startSweepLoop: stop()", () => {
  it("stop() during a tick in flight waits for it and schedules no further tick", async () => {
    const g = gate();
    let n = 0;
    const loop = startSweepLoop(
      {
        sweep: async () => {
          n += 1;
          await g.promise;
          return idle();
        },
      },
      1,
    );
    await until(() => n === 1);
    const stopped = loop.stop();
    g.open();
    await stopped;
    assert.equal(loop.ticks, 1);
    await sleep(30);
    assert.equal(n, 1, "no tick after stop");
    assert.equal(loop.ticks, 1);
  });
});
