// EventBus: synchronous listeners, bounded per-subscriber queues that drop (and count) when full,
// and close() semantics for listeners, buffered events and waiting readers.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pino, type Logger } from "pino";
import { memoryLogger } from "../../support/worlds/shared/log-capture.js";
import type { LogRecord } from "../../support/worlds/types.js";
import { EventBus } from "./event-bus.js";

const silent = pino({ level: "silent" });

function capture(): { logger: Logger; lines: LogRecord[] } {
  const { logger, records } = memoryLogger("debug");
  return { logger, lines: records };
}

describe("EventBus listeners", () => {
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

  it("the on() unsubscribe function stops delivery", () => {
    const bus = new EventBus<number>(1, silent);
    const got: number[] = [];
    const off = bus.on((e) => got.push(e));
    bus.emit(1);
    off();
    bus.emit(2);
    assert.deepEqual(got, [1]);
  });
});

describe("EventBus subscriptions", () => {
  it("a full queue drops per subscriber and logs each drop with the running total and the capacity", () => {
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

  it("a pending next() resolves on the next emit, and with done when the bus closes", async () => {
    const bus = new EventBus<number>(2, silent);
    const sub = bus.subscribe();
    const first = sub.next();
    bus.emit(7);
    assert.deepEqual(await first, { value: 7, done: false });
    const second = sub.next();
    bus.close();
    assert.deepEqual(await second, { value: undefined, done: true });
  });

  it("subscription.close()/return() discard buffered events and unsubscribe; it is its own async iterator", async () => {
    const bus = new EventBus<number>(4, silent);
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
});

describe("EventBus.close", () => {
  it("buffered events are still delivered, then done; emit after close is a no-op; a late subscribe is done", async () => {
    const bus = new EventBus<number>(8, silent);
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
});
