// Edge cases of the plugin's small building blocks that the scenario-style specs do not pin:
// EventBus queue/drop/close semantics, KeyedMutex bookkeeping, and retryAllOnce's report fields
// for non-capacity failures and entries that vanish during the pass. (Written against mutation
// testing survivors; see docs/testing.md.)
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pino, type Logger } from "pino";
import { EventBus } from "../src/plugin/event-bus.js";
import { KeyedMutex } from "../src/plugin/keyed-mutex.js";
import { memoryLogger } from "../support/worlds/mock/memory-logger.js";
import type { LogRecord } from "../support/worlds/types.js";
import { MON, ctr, gate, harness, pod, until } from "./plugin-harness.js";

function capture(): { logger: Logger; lines: LogRecord[] } {
  const { logger, records } = memoryLogger("debug");
  return { logger, lines: records };
}

describe("EventBus edges", () => {
  it("counts drops per subscriber and logs each with the running total and the capacity", () => {
    const { logger, lines } = capture();
    const bus = new EventBus<number>(1, logger);
    const a = bus.subscribe();
    const b = bus.subscribe();
    for (let i = 0; i < 3; i++) bus.emit(i);
    assert.equal(bus.dropped, 4);
    const warns = lines.filter((l) => l["msg"] === "event queue full; event dropped");
    assert.deepEqual(
      warns.map((l) => [l["droppedEvents"], l["capacity"], l["level"]]),
      [
        [1, 1, 40],
        [2, 1, 40],
        [3, 1, 40],
        [4, 1, 40],
      ],
    );
    a.close();
    b.close();
    bus.emit(9);
    assert.equal(bus.dropped, 4, "closed subscriptions no longer count drops");
  });

  it("a throwing listener is logged as a warning and the others still get the event", () => {
    const { logger, lines } = capture();
    const bus = new EventBus<string>(4, logger);
    const got: string[] = [];
    bus.on(() => {
      throw new Error("boom");
    });
    bus.on((e) => got.push(e));
    bus.emit("x");
    assert.deepEqual(got, ["x"]);
    const w = lines.find((l) => l["msg"] === "event listener threw; ignored");
    assert.equal(w?.["level"], 40);
  });

  it("close(): buffered events are still delivered, then done; emit after close is a no-op; late subscribe is done", async () => {
    const bus = new EventBus<number>(8, pino({ level: "silent" }));
    const sub = bus.subscribe();
    const got: number[] = [];
    bus.on((e) => got.push(e));
    bus.emit(1);
    bus.emit(2);
    bus.close();
    bus.emit(3);
    assert.deepEqual(got, [1, 2], "listeners are dropped on close");
    assert.deepEqual(await sub.next(), { value: 1, done: false });
    assert.deepEqual(await sub.next(), { value: 2, done: false });
    assert.deepEqual(await sub.next(), { value: undefined, done: true });
    const late = bus.subscribe();
    assert.deepEqual(await late.next(), { value: undefined, done: true });
  });

  it("a pending next() resolves on the next emit, and with done when the bus closes", async () => {
    const bus = new EventBus<number>(2, pino({ level: "silent" }));
    const sub = bus.subscribe();
    const first = sub.next();
    bus.emit(7);
    assert.deepEqual(await first, { value: 7, done: false });
    const second = sub.next();
    bus.close();
    assert.deepEqual(await second, { value: undefined, done: true });
  });

  it("subscription.close()/return() discard buffered events and unsubscribe; it is its own async iterator", async () => {
    const bus = new EventBus<number>(4, pino({ level: "silent" }));
    const sub = bus.subscribe();
    assert.equal(sub[Symbol.asyncIterator](), sub);
    bus.emit(1);
    bus.emit(2);
    sub.close();
    assert.deepEqual(await sub.next(), { value: undefined, done: true });
    const other = bus.subscribe();
    bus.emit(3);
    assert.deepEqual(await other.return?.(), { value: undefined, done: true });
    assert.deepEqual(await other.next(), { value: undefined, done: true });
    for (let i = 0; i < 10; i++) bus.emit(i);
    assert.equal(bus.dropped, 0, "closed subscriptions are gone from the bus");
  });

  it("the on() unsubscribe function stops delivery", () => {
    const bus = new EventBus<number>(1, pino({ level: "silent" }));
    const got: number[] = [];
    const off = bus.on((e) => got.push(e));
    bus.emit(1);
    off();
    bus.emit(2);
    assert.deepEqual(got, [1]);
  });
});

describe("KeyedMutex bookkeeping", () => {
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

  it("a synchronous throw inside a section rejects that section only", async () => {
    const m = new KeyedMutex();
    const bad = m.run("k", () => {
      throw new Error("sync");
    });
    const good = m.run("k", () => 5);
    await assert.rejects(bad, /sync/);
    assert.equal(await good, 5);
  });
});

describe("retryAllOnce report edges", () => {
  it("a non-capacity group failure is recorded and the pass goes on to the next Failed pod", async () => {
    const h = harness();
    h.fs.failMkdirWithEnospc(true);
    await h.plugin.synchronize([pod("u1"), pod("u3")], []);
    h.fs.failMkdirWithEnospc(false);
    h.fs.denyPath(`${MON}/pod_u1`, ["mkdir"]);
    const r = await h.plugin.retryAllOnce();
    assert.equal(r.stoppedOnCapacity, false);
    assert.equal(r.groupAttempts, 2);
    assert.equal(r.groupsSkipped, 0);
    assert.equal(r.groupsCreated, 1, "u3 created after u1 failed");
    assert.equal(r.failures.length, 1);
    assert.equal(r.failures[0]?.target, "pod");
    assert.equal(r.failures[0]?.id, "u1");
    assert.notEqual(r.failures[0]?.error, "CapacityError");
    assert.ok((r.failures[0]?.message ?? "").length > 0);
    assert.ok(
      h.logs.some((l) => l.msg === "retry pass done" && l["groupsCreated"] === 1 && l["failures"] === 1),
    );
  });

  it("capacity stops group retries: the first attempt fails, the rest are skipped, containers still retried", async () => {
    const h = harness();
    h.pids.setSequence("c0", [[], [10]]); // no task yet at START → Partial; present at the retry
    await h.plugin.synchronize([pod("u0")], []);
    h.fs.failMkdirWithEnospc(true);
    await h.plugin.synchronize([pod("u0"), pod("u1"), pod("u2"), pod("u3")], []);
    await h.plugin.startContainer(pod("u0"), ctr("c0", "sb-u0"));
    assert.equal(h.plugin.snapshot()[0]?.containers[0]?.state, "Partial");
    const r = await h.plugin.retryAllOnce();
    assert.equal(r.stoppedOnCapacity, true);
    assert.equal(r.groupAttempts, 1);
    assert.equal(r.groupsSkipped, 2);
    assert.equal(r.failures.length, 1);
    assert.equal(r.failures[0]?.error, "CapacityError");
    assert.equal(r.containerAttempts, 1);
    assert.equal(r.containersReconciled, 1);
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_u0`), [10]);
  });

  it("a container failure is recorded with target container and its error name", async () => {
    const h = harness();
    h.pids.setPids("c1", [11]);
    await h.plugin.synchronize([pod("u1")], [ctr("c1", "sb-u1")]);
    await h.plugin.idle();
    h.pids.setError("c2", new Error("cgroup read failed"));
    await h.plugin.startContainer(pod("u1"), ctr("c2", "sb-u1"));
    const r = await h.plugin.retryAllOnce();
    assert.equal(r.containerAttempts, 1);
    assert.equal(r.containersReconciled, 0);
    assert.deepEqual(
      r.failures.map((f) => [f.target, f.id, f.error, f.message]),
      [["container", "c2", "Error", "cgroup read failed"]],
    );
  });

  it("a container removed while the pass runs is skipped silently; Failed pods' Partial containers are not retried", async () => {
    const h = harness();
    h.pids.setSequence("c1", [[], [11]]).setSequence("c2", [[], [21]]);
    await h.plugin.synchronize([pod("u1")], [ctr("c1", "sb-u1"), ctr("c2", "sb-u1")]);
    await h.plugin.idle();
    h.fs.failMkdirWithEnospc(true);
    await h.plugin.runPodSandbox(pod("u9"));
    await h.plugin.startContainer(pod("u9"), ctr("c9", "sb-u9")); // Partial in a Failed pod
    const hold = gate();
    let removed: Promise<void> | undefined;
    h.pids.setFn("c1", async () => {
      removed ??= h.plugin.removeContainer(pod("u1"), ctr("c2", "sb-u1"));
      await hold.promise;
      return [11];
    });
    const pass = h.plugin.retryAllOnce();
    await until(() => removed !== undefined);
    hold.open();
    const r = await pass;
    await removed;
    assert.equal(r.containerAttempts, 2, "c1 and c2 were listed; c9 (Failed pod) was not");
    assert.equal(r.containersReconciled, 1);
    assert.deepEqual(
      r.failures.filter((f) => f.target === "container"),
      [],
      "the vanished c2 is no failure",
    );
  });
});

describe("KeyedMutex hand-over", () => {
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
});
