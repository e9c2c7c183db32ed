// The daemon's sweep cadence: one tick per interval, never overlapping, stoppable, 0 = off.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
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
