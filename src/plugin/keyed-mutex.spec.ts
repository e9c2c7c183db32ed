// KeyedMutex: one FIFO critical section per key, keys independent, a key released only when its
// last queued section settles.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { gate, until } from "../../test/support/async.js";
import { KEYED_MUTEX_MIN_SWEEP, KeyedMutex } from "./keyed-mutex.js";

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

  it("a synchronous throw inside a section rejects that section only", async () => {
    const m = new KeyedMutex();
    const bad = m.run("k", () => {
      throw new Error("sync");
    });
    const good = m.run("k", () => 5);
    await assert.rejects(bad, /sync/);
    assert.equal(await good, 5);
  });

  it("activeKeys counts keys with running or queued sections and drops them when settled (also after a rejection)", async () => {
    const m = new KeyedMutex();
    const g = gate();
    const a = m.run("a", () => g.promise);
    const a2 = m.run("a", () => "second");
    const b = m.run("b", () => Promise.reject(new Error("no")));
    assert.equal(m.activeKeys, 2);
    await assert.rejects(b, /no/);
    await new Promise((r) => setImmediate(r));
    assert.equal(m.activeKeys, 1, "a rejected section releases its key");
    g.open();
    await a;
    assert.equal(await a2, "second");
    await new Promise((r) => setImmediate(r));
    assert.equal(m.activeKeys, 0);
  });

  it("a settled section never releases a key whose next section is still queued", async () => {
    const m = new KeyedMutex();
    const g1 = gate();
    const g2 = gate();
    const order: string[] = [];
    const s1 = m.run("k", async () => {
      await g1.promise;
      order.push("s1");
    });
    const s2 = m.run("k", async () => {
      order.push("s2 start");
      await g2.promise;
      order.push("s2 end");
    });
    g1.open();
    await s1;
    await until(() => order.includes("s2 start"));
    assert.equal(m.activeKeys, 1, "s2 still holds the key");
    const s3 = m.run("k", () => void order.push("s3"));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, ["s1", "s2 start"], "s3 waits for s2");
    g2.open();
    await Promise.all([s2, s3]);
    assert.deepEqual(order, ["s1", "s2 start", "s2 end", "s3"]);
  });

  it("an idle key keeps its slot; idle keys are swept when the table doubles, a busy one never", async () => {
    const m = new KeyedMutex();
    for (let i = 0; i < KEYED_MUTEX_MIN_SWEEP; i++) await m.run(`k${i}`, () => undefined);
    await new Promise((r) => setImmediate(r));
    assert.equal(m.activeKeys, 0);
    assert.equal(m.size, KEYED_MUTEX_MIN_SWEEP, "settled keys stay (no delete and re-add per section)");
    await m.run("k0", () => undefined);
    assert.equal(m.size, KEYED_MUTEX_MIN_SWEEP, "a known key reuses its slot");
    const g = gate();
    const busy = m.run("k1", () => g.promise);
    const order: string[] = [];
    await m.run("new", () => void order.push("new"));
    assert.equal(m.size, 2, "the sweep before the new key dropped every idle key but busy k1");
    const queued = m.run("k1", () => void order.push("k1 again"));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, ["new"], "k1's queue survived the sweep: the next section still waits");
    g.open();
    await Promise.all([busy, queued]);
    assert.deepEqual(order, ["new", "k1 again"]);
    for (let i = 0; i < 2 * KEYED_MUTEX_MIN_SWEEP; i++) await m.run(`j${i}`, () => undefined);
    assert.ok(m.size <= 2 * KEYED_MUTEX_MIN_SWEEP, `bounded: ${m.size}`);
  });

  it("after a sweep that keeps many busy keys the next sweep waits until the table doubles", async () => {
    const m = new KeyedMutex();
    const g = gate();
    const busy = Array.from({ length: 600 }, (_, i) => m.run(`b${i}`, () => g.promise));
    for (let i = 0; i < KEYED_MUTEX_MIN_SWEEP - 600; i++) await m.run(`i${i}`, () => undefined);
    await m.run("first-new", () => undefined); // sweeps: 600 busy + this one stay
    assert.equal(m.size, 601);
    for (let i = 0; i < 500; i++) await m.run(`n${i}`, () => undefined);
    assert.equal(m.size, 1101, "no sweep before 2 × 601 keys");
    g.open();
    await Promise.all(busy);
  });
});
