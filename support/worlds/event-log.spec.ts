import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EventLog, foldEvent } from "./event-log.js";
import type { PodView } from "./types.js";

const exists = (pod: string, reconciled: number, total: number) =>
  ({
    kind: "AddOrUpdate",
    pod,
    group: { kind: "Exists", path: `/r/mon_groups/p_${pod}` },
    total,
    reconciled,
  }) as const;

describe("EventLog", () => {
  it("numbers events in arrival order and filters them per pod", () => {
    const log = new EventLog();
    log.record(exists("a", 0, 0));
    log.record(exists("b", 0, 0));
    log.record({ kind: "Removed", pod: "a" });
    assert.deepEqual(
      log.all().map((e) => e.seq),
      [0, 1, 2],
    );
    assert.deepEqual(
      log.of("a").map((e) => e.kind),
      ["AddOrUpdate", "Removed"],
    );
  });

  it("resolves a wait with an already recorded event, or with a later one", async () => {
    const log = new EventLog();
    log.record(exists("a", 0, 0));
    assert.equal((await log.waitFor("a", () => true, 10)).seq, 0);
    const later = log.waitFor("a", (e) => e.kind === "Removed", 1000);
    log.record(exists("b", 0, 0));
    log.record({ kind: "Removed", pod: "a" });
    assert.equal((await later).seq, 2);
  });

  it("rejects a wait after its deadline, listing the pod's events", async () => {
    const log = new EventLog();
    log.record(exists("a", 0, 1));
    await assert.rejects(
      log.waitFor("a", (e) => e.kind === "Removed", 30),
      /none matched within 30 ms; events of a: Exists 0\/1/,
    );
  });

  it("rejects pending waits when closed", async () => {
    const log = new EventLog();
    const w = log.waitFor("a", () => true, 5000);
    log.close();
    await assert.rejects(w, /closed/);
  });

  it("assertQuiet passes without events for the pod and fails with them", async () => {
    const log = new EventLog();
    const quiet = log.assertQuiet("a", 40);
    log.record(exists("b", 0, 0));
    await quiet;
    const noisy = log.assertQuiet("a", 40);
    log.record(exists("a", 1, 1));
    await assert.rejects(noisy, /1 event\(s\) within 40 ms: Exists 1\/1/);
  });
});

describe("foldEvent", () => {
  it("keeps the latest state per pod and forgets removed pods", () => {
    const view = new Map<string, PodView>();
    foldEvent(view, exists("a", 0, 0));
    foldEvent(view, exists("a", 1, 1));
    foldEvent(view, exists("b", 0, 0));
    foldEvent(view, { kind: "Removed", pod: "b" });
    assert.deepEqual(
      [...view.values()].map((v) => `${v.pod} ${v.reconciled}/${v.total}`),
      ["a 1/1"],
    );
  });
});
