// Small building blocks of the plugin: MockPidSource, KeyedMutex, EventBus, scheduling helpers.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pino } from "pino";
import { interleaveByPod, mapLimit, raceTimeout } from "../src/plugin/async-work.js";
import { EventBus } from "../src/plugin/event-bus.js";
import { KeyedMutex } from "../src/plugin/keyed-mutex.js";
import { MockPidSource } from "../src/testing/index.js";
import { ctr } from "./plugin-harness.js";

const silent = pino({ level: "silent" });

describe("MockPidSource", () => {
  it("fixed lists, sequences (last repeats), functions of the call number, errors; counts calls", async () => {
    const m = new MockPidSource();
    m.setPids("a", [1, 2])
      .setSequence("b", [[1], [1, 2]])
      .setFn("c", (n) => [n * 10]);
    m.setError("d", new Error("gone"));
    assert.deepEqual(await m.tasksOf(ctr("a", "s")), [1, 2]);
    assert.deepEqual(
      [await m.tasksOf(ctr("b", "s")), await m.tasksOf(ctr("b", "s")), await m.tasksOf(ctr("b", "s"))],
      [[1], [1, 2], [1, 2]],
    );
    assert.deepEqual([await m.tasksOf(ctr("c", "s")), await m.tasksOf(ctr("c", "s"))], [[10], [20]]);
    await assert.rejects(m.tasksOf(ctr("d", "s")), /gone/);
    assert.deepEqual(await m.tasksOf(ctr("unknown", "s")), []);
    assert.equal(m.calls("b"), 3);
    assert.equal(m.totalCalls(), 8);
    assert.throws(() => m.setSequence("e", []), /must not be empty/);
  });

  it("returned lists are copies; unknown containers can be made an error", async () => {
    const m = new MockPidSource({ unknown: "error" });
    m.setPids("a", [1]);
    (await m.tasksOf(ctr("a", "s"))).push(99);
    assert.deepEqual(await m.tasksOf(ctr("a", "s")), [1]);
    await assert.rejects(m.tasksOf(ctr("x", "s")), /not scripted/);
    m.clear("a");
    await assert.rejects(m.tasksOf(ctr("a", "s")), /not scripted/);
  });
});

describe("KeyedMutex", () => {
  it("serializes one key FIFO, runs other keys concurrently, survives a rejection", async () => {
    const m = new KeyedMutex();
    const log: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const a1 = m.run("a", async () => {
      log.push("a1 start");
      await held;
      log.push("a1 end");
    });
    const a2 = m.run("a", () => {
      log.push("a2");
      throw new Error("boom");
    });
    const a3 = m.run("a", () => log.push("a3"));
    const b1 = m.run("b", () => log.push("b1"));
    await b1;
    assert.deepEqual(log, ["a1 start", "b1"]);
    release();
    await a1;
    await assert.rejects(a2, /boom/);
    await a3;
    assert.deepEqual(log, ["a1 start", "b1", "a1 end", "a2", "a3"]);
    await new Promise((r) => setImmediate(r));
    assert.equal(m.activeKeys, 0);
  });
});

describe("EventBus", () => {
  it("a throwing listener does not stop delivery; unsubscribe works; close ends iterators", async () => {
    const bus = new EventBus<number>(10, silent);
    const got: number[] = [];
    bus.on(() => {
      throw new Error("bad listener");
    });
    const off = bus.on((n) => got.push(n));
    const sub = bus.subscribe();
    bus.emit(1);
    off();
    bus.emit(2);
    assert.deepEqual(got, [1]);
    bus.close();
    const seen: number[] = [];
    for await (const n of sub) seen.push(n);
    assert.deepEqual(seen, [1, 2]);
    assert.equal((await bus.subscribe().next()).done, true, "subscribing after close ends at once");
  });
});

describe("scheduling helpers", () => {
  it("interleaveByPod alternates pods, keeping each pod's order", () => {
    const w = [
      { uid: "a", n: 1 },
      { uid: "a", n: 2 },
      { uid: "a", n: 3 },
      { uid: "b", n: 1 },
      { uid: "c", n: 1 },
      { uid: "c", n: 2 },
    ];
    assert.deepEqual(
      interleaveByPod(w).map((x) => `${x.uid}${x.n}`),
      ["a1", "b1", "c1", "a2", "c2", "a3"],
    );
  });

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
});
