// Edge cases of the resctrl layer's reconcile and cleanup that the module specs do not pin:
// exact foreign/denied counts, sorted missing PIDs, the number of tasks-file reads, the 1-pass
// limit, partial counts of foreign/denied tasks on a fatal error, and the exact error strings and
// log fields of the cleanup sweep. (Written against mutation testing survivors; docs/testing.md.)
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EmptyPidSetError, IoError, NotMountedError } from "../src/resctrl/errors.js";
import { Resctrl } from "../src/resctrl/index.js";
import { MemFs } from "../src/testing/index.js";
import { memoryLogger } from "../support/worlds/mock/memory-logger.js";

const ROOT = "/sys/fs/resctrl";

async function setup() {
  const fs = MemFs.withResctrl({ root: ROOT });
  const rc = Resctrl.withProvider(fs, { root: ROOT });
  const group = await rc.createGroup("u1");
  return { fs, rc, group };
}

const fixed = (pids: number[]) => async () => [...pids];

describe("reconcileGroup edges", () => {
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
});

describe("cleanupAll edges", () => {
  it("failure entries carry the errno name; the sweep logs its counts", async () => {
    const { logger, records: lines } = memoryLogger("info");
    const fs = MemFs.withResctrl({ root: ROOT });
    const rc = Resctrl.withProvider(fs, { root: ROOT, logger });
    await rc.createGroup("a");
    await rc.createGroup("b");
    fs.failNext("rmdir", `${ROOT}/mon_groups/pod_a`, "EBUSY");
    const r = await rc.cleanupAll();
    assert.deepEqual(r.errors, [`failed to remove group ${ROOT}/mon_groups/pod_a: EBUSY`]);
    assert.equal(r.removed, 1);
    const log = lines.find((l) => l["msg"] === "cleaned up stale groups");
    assert.equal(log?.["removed"], 1);
    assert.equal(log?.["removalFailures"], 1);
    assert.equal(log?.["errors"], 1);
  });

  it("a mon_groups listing failure is recorded with its errno name", async () => {
    const fs = MemFs.withResctrl({ root: ROOT });
    const rc = Resctrl.withProvider(fs, { root: ROOT });
    fs.failNext("list", `${ROOT}/mon_groups`, "EIO");
    const r = await rc.cleanupAll();
    assert.deepEqual(r.errors, [`failed to list groups in ${ROOT}/mon_groups: EIO`]);
  });

  it("not mounted: the error names the root as its path", async () => {
    const fs = MemFs.withResctrl({ root: ROOT, mounted: false });
    const rc = Resctrl.withProvider(fs, { root: ROOT });
    await assert.rejects(rc.cleanupAll(), (e: unknown) => {
      assert.ok(e instanceof NotMountedError);
      assert.equal(e.path, ROOT);
      return true;
    });
  });
});
