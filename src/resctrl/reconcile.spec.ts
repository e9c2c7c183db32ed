import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { overriding } from "../../test/support/resctrl-helpers.js";
import { MemFs } from "../memfs/mem-fs.js";
import { EmptyPidSetError, InvalidConfigError, InvalidPidError, IoError } from "./errors.js";
import type { FsProvider } from "./provider.js";
import { Resctrl } from "./resctrl.js";

async function setup() {
  const fs = MemFs.withResctrl();
  const rc = Resctrl.withProvider(fs);
  const group = await rc.createGroup("u1");
  return { fs, rc, group };
}

/** A PID source always answering `pids`. */
const fixed = (pids: number[]) => async () => [...pids];

/** A PID source returning the given answers in turn (the last one repeats), counting calls. */
function source(...answers: number[][]) {
  const s = {
    calls: 0,
    fn: async (): Promise<number[]> => {
      const a = answers[Math.min(s.calls, answers.length - 1)] ?? [];
      s.calls += 1;
      return [...a];
    },
  };
  return s;
}

describe("Resctrl.reconcileGroup", () => {
  it("converges in one pass and stops", async () => {
    const { fs, rc, group } = await setup();
    const src = source([101, 202]);
    const r = await rc.reconcileGroup(group, src.fn, 10);
    assert.equal(r.converged, true);
    assert.equal(r.assigned, 2);
    assert.equal(r.missing, 0);
    assert.equal(r.desired, 2);
    assert.deepEqual(r.missingPids, []);
    assert.ok(src.calls <= 2, `source called ${src.calls} times`);
    assert.deepEqual(fs.tasksOf(group), [101, 202]);
  });

  it("already present: one pass, no writes", async () => {
    const { fs, rc, group } = await setup();
    await rc.assignTasks(group, [10, 11]);
    const writes = fs.calls("write");
    const src = source([10, 11]);
    const r = await rc.reconcileGroup(group, src.fn, 5);
    assert.deepEqual([r.assigned, r.missing, r.passes, r.converged, src.calls], [0, 0, 1, true, 1]);
    assert.equal(fs.calls("write"), writes);
  });

  it("a task that keeps failing is reported missing after exactly maxPasses source calls", async () => {
    const { fs, rc, group } = await setup();
    fs.pidGone(303);
    const src = source([303]);
    const r = await rc.reconcileGroup(group, src.fn, 3);
    assert.equal(src.calls, 3);
    assert.equal(r.passes, 3);
    assert.equal(r.converged, false);
    assert.equal(r.assigned, 0);
    assert.deepEqual(r.missingPids, [303]);
    assert.deepEqual(r.failedPids, [{ pid: 303, outcome: "gone" }]);
  });

  it("re-reads the source each pass and follows its changes", async () => {
    const { rc, group } = await setup();
    const src = source([1], [1, 2], [1, 2]);
    const r = await rc.reconcileGroup(group, src.fn, 5);
    assert.equal(r.converged, true);
    assert.equal(r.assigned, 2);
    assert.equal(r.desired, 2);
  });

  it("continuously changing, always-gone PIDs never converge", async () => {
    const { fs, rc, group } = await setup();
    let n = 0;
    const gen = async () => {
      n += 1;
      fs.pidGone(1000 + n);
      fs.pidGone(2000 + n);
      return [1000 + n, 2000 + n];
    };
    const r = await rc.reconcileGroup(group, gen, 5);
    assert.equal(n, 5);
    assert.deepEqual([r.assigned, r.missing, r.converged], [0, 2, false]);
  });

  it("forking tasks: new children found on the next pass get assigned", async () => {
    const { fs, rc, group } = await setup();
    await rc.assignTasks(group, [100]);
    let n = 0;
    const gen = async () => {
      n += 1;
      return [100, 200 + n];
    };
    const r = await rc.reconcileGroup(group, gen, 4);
    assert.equal(r.passes, 4, "a new child appears on every pass, so no pass finds nothing to do");
    assert.equal(r.assigned, 4);
    assert.equal(r.converged, true, "the final check is against the last desired set, which was written");
    assert.deepEqual(fs.tasksOf(group), [100, 201, 202, 203, 204]);
    assert.deepEqual(r.missingPids, []);
  });

  it("foreign tasks are reported as foreign", async () => {
    const { fs, rc, group } = await setup();
    fs.pidForeign(7);
    const r = await rc.reconcileGroup(group, source([6, 7]).fn, 2);
    assert.deepEqual([r.assigned, r.missing, r.foreign, r.converged], [1, 1, 1, false]);
  });

  it("empty source → EmptyPidSetError on any pass", async () => {
    const { fs, rc, group } = await setup();
    await assert.rejects(rc.reconcileGroup(group, source([]).fn, 3), EmptyPidSetError);
    const src = source([5, 6], []);
    fs.pidGone(6);
    await assert.rejects(rc.reconcileGroup(group, src.fn, 3), EmptyPidSetError);
    assert.equal(src.calls, 2);
  });

  it("maxPasses must be an integer ≥ 1 (0 no longer reports success without doing anything)", async () => {
    const { rc, group } = await setup();
    const src = source([1]);
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      await assert.rejects(rc.reconcileGroup(group, src.fn, bad), InvalidConfigError);
    }
    assert.equal(src.calls, 0);
  });

  it("source errors and invalid PIDs from the source propagate; nothing is written", async () => {
    const { fs, rc, group } = await setup();
    await assert.rejects(
      rc.reconcileGroup(group, async () => Promise.reject(new Error("cgroup vanished")), 2),
      /cgroup vanished/,
    );
    await assert.rejects(rc.reconcileGroup(group, source([0, 5]).fn, 2), InvalidPidError);
    assert.equal(fs.calls("write"), 0);
  });

  it("a fatal write error propagates with partial counts summed over passes", async () => {
    const { fs, rc, group } = await setup();
    let pass = 0;
    fs.pidGone(9);
    const gen = async () => {
      pass += 1;
      if (pass === 2) fs.failNext("write", `${group}/tasks`, "EIO");
      return pass === 1 ? [1, 9] : [1, 2];
    };
    await assert.rejects(rc.reconcileGroup(group, gen, 3), (e: unknown) => {
      assert.ok(e instanceof IoError);
      assert.equal(e.partial?.assigned, 1);
      assert.equal(e.partial?.missing, 1, "the ESRCH of pass 1 survives");
      assert.deepEqual(e.partial?.failedPids, [{ pid: 9, outcome: "gone" }]);
      return true;
    });
  });

  it("maxPasses = 1 is valid and does exactly one pass", async () => {
    const { rc, group } = await setup();
    const r = await rc.reconcileGroup(group, fixed([5]), 1);
    assert.equal(r.passes, 1);
    assert.equal(r.converged, true);
  });

  it("denied and foreign tasks are counted separately; missing PIDs come back sorted", async () => {
    const { fs, rc, group } = await setup();
    fs.pidDenied(30);
    fs.pidForeign(10);
    fs.pidGone(20);
    const r = await rc.reconcileGroup(group, fixed([30, 10, 20, 7]), 2);
    assert.equal(r.denied, 1);
    assert.equal(r.foreign, 1);
    assert.deepEqual(r.missingPids, [10, 20, 30]);
    assert.equal(r.missing, 3);
    assert.equal(r.converged, false);
    assert.deepEqual(fs.tasksOf(group), [7]);
  });

  it("reads the group's tasks once per pass, plus once after a pass that wrote", async () => {
    const { fs, rc, group } = await setup();
    const reads = () => fs.calls("read", `${group}/tasks`);
    let before = reads();
    await rc.reconcileGroup(group, fixed([1, 2]), 3); // pass 1 writes, pass 2 confirms
    assert.equal(reads() - before, 2);
    before = reads();
    await rc.reconcileGroup(group, fixed([1, 2]), 3); // already there: one read, no write
    assert.equal(reads() - before, 1);
    before = reads();
    const r = await rc.reconcileGroup(group, fixed([3]), 1); // one writing pass: re-listed after
    assert.equal(reads() - before, 2);
    assert.equal(r.converged, true);
  });

  it("an empty PID set names the group path in the error", async () => {
    const { rc, group } = await setup();
    await assert.rejects(rc.reconcileGroup(group, fixed([]), 3), (e: unknown) => {
      assert.ok(e instanceof EmptyPidSetError);
      assert.equal(e.path, group);
      return true;
    });
  });

  it("a fatal write error carries the foreign and denied counts of earlier passes", async () => {
    const { fs, rc, group } = await setup();
    fs.pidForeign(8);
    fs.pidDenied(9);
    let pass = 0;
    const gen = async () => {
      pass += 1;
      if (pass === 2) fs.failNext("write", `${group}/tasks`, "EIO");
      return pass === 1 ? [1, 8, 9] : [1, 2];
    };
    await assert.rejects(rc.reconcileGroup(group, gen, 3), (e: unknown) => {
      assert.ok(e instanceof IoError);
      assert.equal(e.partial?.foreign, 1);
      assert.equal(e.partial?.denied, 1);
      return true;
    });
  });

  it("a task moved away right after our write counts as missing without a failure outcome (no write failed)", async () => {
    const fs = MemFs.withResctrl();
    // The write is accepted but the task does not stay (someone else moved it right after).
    const racing: FsProvider = overriding(fs, {
      writeStr: async (path: string, data: string) => {
        if (data !== "7") await fs.writeStr(path, data);
      },
    });
    const rc = Resctrl.withProvider(racing);
    const group = await rc.createGroup("u1");
    const r = await rc.reconcileGroup(group, async () => [7, 8], 1);
    assert.equal(r.converged, false);
    assert.deepEqual(r.missingPids, [7]);
    assert.deepEqual(r.failedPids, []);
    assert.equal(r.assigned, 2);
    assert.equal(r.foreign + r.denied, 0);
  });
});
