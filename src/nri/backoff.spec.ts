import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  Backoff,
  DEFAULT_BACKOFF_INITIAL_MS,
  DEFAULT_BACKOFF_MAX_MS,
  DEFAULT_BACKOFF_MULTIPLIER,
  formatDelay,
} from "./backoff.js";

describe("Backoff", () => {
  it("grows exponentially up to the cap and resets", () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, multiplier: 3, jitter: 0 });
    const delays = [1, 2, 3, 4].map(() => b.schedule(() => undefined).delayMs);
    b.stop();
    assert.deepEqual(delays, [100, 300, 900, 1000]);
    b.reset();
    assert.deepEqual(
      b.schedule(() => undefined),
      { attempt: 1, delayMs: 100 },
    );
    b.stop();
  });

  it("applies jitter within [1 - j, 1 + j] and never exceeds the cap", () => {
    const lo = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0.5, random: () => 0 });
    const hi = new Backoff({ initialMs: 100, maxMs: 120, jitter: 0.5, random: () => 0.999999 });
    assert.equal(lo.schedule(() => undefined).delayMs, 50);
    assert.equal(hi.schedule(() => undefined).delayMs, 120);
    lo.stop();
    hi.stop();
  });

  it("runs the callback once after the delay; stop() cancels it", async () => {
    const b = new Backoff({ initialMs: 5, jitter: 0 });
    let runs = 0;
    b.schedule(() => runs++);
    const keep = setTimeout(() => undefined, 100); // the backoff timer is unref'd
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(runs, 1);
    b.schedule(() => runs++);
    b.stop();
    await new Promise((r) => setTimeout(r, 30));
    clearTimeout(keep);
    assert.equal(runs, 1);
  });

  it("never schedules beyond setTimeout's range, even with an unbounded cap", () => {
    const b = new Backoff({ initialMs: 1000, maxMs: Infinity, multiplier: 10, jitter: 0 });
    const delays = Array.from({ length: 12 }, () => b.schedule(() => undefined).delayMs);
    b.stop();
    assert.equal(delays.at(-1), 2 ** 31 - 1);
    assert.ok(delays.every((d) => d <= 2 ** 31 - 1));
  });

  it("has sane named defaults", () => {
    const b = new Backoff();
    assert.equal(b.baseDelay(1), DEFAULT_BACKOFF_INITIAL_MS);
    assert.equal(b.baseDelay(2), DEFAULT_BACKOFF_INITIAL_MS * DEFAULT_BACKOFF_MULTIPLIER);
    assert.equal(b.baseDelay(100), DEFAULT_BACKOFF_MAX_MS);
  });

  it("keeps the process alive only with keepAlive, and only while a retry is pending", () => {
    const refdTimers = (): number => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const base = refdTimers();
    const quiet = new Backoff({ initialMs: 60_000 });
    quiet.schedule(() => undefined);
    assert.equal(refdTimers(), base, "default: the pending timer is unref'd");
    quiet.stop();
    const held = new Backoff({ initialMs: 60_000, keepAlive: true });
    held.schedule(() => undefined);
    assert.equal(refdTimers(), base + 1, "keepAlive: the pending timer holds the loop");
    held.schedule(() => undefined);
    assert.equal(refdTimers(), base + 1, "a new schedule replaces the pending one");
    held.stop();
    assert.equal(refdTimers(), base, "stop() releases it");
  });

  it("formats delays for humans", () => {
    assert.deepEqual([0, 5, 50, 194, 500, 1000, 1539, 2000, 9999, 12_800, 30_000].map(formatDelay), [
      "0 s",
      "0.005 s",
      "0.05 s",
      "0.19 s",
      "0.5 s",
      "1 s",
      "1.5 s",
      "2 s",
      "10 s",
      "13 s",
      "30 s",
    ]);
  });
});
