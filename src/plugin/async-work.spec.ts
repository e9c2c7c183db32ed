// Scheduling helpers of the plugin's background work: per-pod interleaving, bounded concurrency,
// and a timeout race that leaves no timer behind.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { interleaveByPod, mapLimit, raceTimeout } from "./async-work.js";

describe("interleaveByPod", () => {
  it("alternates pods, keeping each pod's order; an empty list or map gives nothing", () => {
    const w = new Map([
      ["a", ["a1", "a2", "a3"]],
      ["b", ["b1"]],
      ["e", []],
      ["c", ["c1", "c2"]],
    ]);
    assert.deepEqual(interleaveByPod(w), ["a1", "b1", "c1", "a2", "c2", "a3"]);
    assert.deepEqual(interleaveByPod(new Map()), []);
  });
});

describe("mapLimit and raceTimeout", () => {
  it("mapLimit never exceeds its limit; raceTimeout reports who won", async () => {
    let running = 0;
    let peak = 0;
    await mapLimit([1, 2, 3, 4, 5, 6, 7], 3, async () => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      running -= 1;
    });
    assert.equal(peak, 3);
    assert.equal(await raceTimeout(Promise.resolve(), 1000), true);
    assert.equal(await raceTimeout(new Promise(() => undefined), 10), false);
  });

  it("raceTimeout clears its timer when the promise wins", async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const before = timers();
    assert.equal(await raceTimeout(Promise.resolve(), 600_000), true);
    assert.equal(timers(), before);
    assert.equal(await raceTimeout(new Promise(() => undefined), 1), false);
    assert.equal(timers(), before);
  });
});
