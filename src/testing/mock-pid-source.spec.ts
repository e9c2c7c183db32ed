// MockPidSource: the scripted PID source the plugin specs and the mock world drive.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ctr } from "../../test/support/plugin-harness.js";
import { MockPidSource } from "./mock-pid-source.js";

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
