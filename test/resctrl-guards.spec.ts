// Guards and parsers of the resctrl layer that the module specs did not pin (written against
// mutation testing survivors; docs/testing.md): the root confinement of caller-given paths, the
// owned-group rule of deleteGroup, strict integer parsing of kernel files, error context (path,
// code) on every failure, config validation of non-strings, per-task EACCES, and addPartial.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  InvalidConfigError,
  InvalidPidError,
  IoError,
  NoPermissionError,
  OutsideRootError,
} from "../src/resctrl/errors.js";
import { Resctrl, type FsProvider } from "../src/resctrl/index.js";
import { validatePrefix, validateRoot } from "../src/resctrl/sanitize.js";
import { addPartial, emptyAssignment } from "../src/resctrl/tasks.js";
import { MemFs } from "../src/testing/index.js";
import { memoryLogger } from "../support/worlds/mock/memory-logger.js";
import { overriding, rejectsWith } from "./resctrl-helpers.js";

const ROOT = "/sys/fs/resctrl";

async function setup(root = ROOT) {
  const { logger, records } = memoryLogger("debug");
  const fs = MemFs.withResctrl({ root, l3Domains: ["mon_L3_00", "mon_L3_01"] });
  const rc = Resctrl.withProvider(fs, { root, logger });
  const group = await rc.createGroup("u1");
  return { fs, rc, group, records };
}

describe("root confinement of caller-given group paths", () => {
  const hostile = [
    `${ROOT}/mon_groups/../../../etc`,
    `${ROOT}/mon_groups/./pod_u1`,
    `${ROOT}/mon_groups//pod_u1`,
    `${ROOT}/mon_groups/pod_u1/`,
    `${ROOT}/mon_groups/pod\0u1`,
    `${ROOT}/..`,
    `${ROOT}x/mon_groups/pod_u1`,
    "/etc",
  ];

  it("listGroupTasks, assignTasks and llcOccupancy refuse paths outside the root, touching nothing", async () => {
    const { fs, rc } = await setup();
    const before = fs.log.length;
    for (const path of hostile) {
      await rejectsWith(rc.listGroupTasks(path), OutsideRootError, { path });
      await rejectsWith(rc.assignTasks(path, [5]), OutsideRootError, { path });
      await rejectsWith(rc.llcOccupancy(path), OutsideRootError, { path });
    }
    for (const notAString of [undefined, null, 42]) {
      await rejectsWith(rc.listGroupTasks(notAString as never), OutsideRootError, { path: notAString });
    }
    assert.equal(fs.log.length, before, "no provider call for a refused path");
  });

  it("a root whose last character is a dot still accepts paths below it", async () => {
    const { rc, group } = await setup("/mnt/resctrl.");
    assert.equal(group, "/mnt/resctrl./mon_groups/pod_u1");
    await rc.assignTasks(group, [7]);
    assert.deepEqual(await rc.listGroupTasks(group), [7]);
  });

  it("deleteGroup refuses anything but <root>/mon_groups/<prefix><name>", async () => {
    const { fs, rc, group } = await setup();
    for (const path of [
      `${ROOT}/mon_groups/pod_`,
      `${ROOT}/mon_groups/other_u1`,
      `${ROOT}/mon_groups/pod_u1/x`,
      `${ROOT}/mon_groups/pod_u1\0`,
      // same length as `${ROOT}/mon_groups/`, different directory
      "/sys/fs/resctrX/mon_groups/pod_u1",
      ROOT,
    ]) {
      await rejectsWith(rc.deleteGroup(path), OutsideRootError, { path });
    }
    await rejectsWith(rc.deleteGroup(null as never), OutsideRootError, { path: null });
    assert.equal(fs.isDir(group), true);
  });

  it("deleteGroup errors and debug logs name the group", async () => {
    const { fs, rc, group, records } = await setup();
    fs.failNext("rmdir", group, "EBUSY");
    await rejectsWith(rc.deleteGroup(group), IoError, { path: group, code: "EBUSY" });
    await rc.deleteGroup(group);
    assert.ok(records.some((r) => r.msg === "removed monitor group" && r.path === group));
    assert.ok(
      records.some((r) => r.msg === "created monitor group" && r.path === group && r.podUid === "u1"),
    );
  });
});

describe("strict integer parsing of kernel files", () => {
  it("a tasks line that is not a positive decimal integer fails the listing, naming file and line", async () => {
    for (const line of ["0", "1e3", "0x10", "-5", "12abc", "x12"]) {
      const { fs, rc, group } = await setup();
      fs.addFile(`${group}/tasks`, `4\n${line}\n`);
      await rejectsWith(rc.listGroupTasks(group), IoError, { path: `${group}/tasks`, code: "EINVAL" });
      await assert.rejects(rc.listGroupTasks(group), /line 2 is not a task id/);
    }
  });

  it("a tasks read failure names the tasks file", async () => {
    const { fs, rc, group } = await setup();
    fs.failNext("read", `${group}/tasks`, "EIO");
    await rejectsWith(rc.listGroupTasks(group), IoError, { path: `${group}/tasks`, code: "EIO" });
  });

  it("llc_occupancy other than a decimal integer is reported as text, not as bytes", async () => {
    for (const text of ["1e3", "0x10", "12 bytes"]) {
      const { fs, rc, group } = await setup();
      fs.addFile(`${group}/mon_data/mon_L3_00/llc_occupancy`, `${text}\n`);
      fs.addFile(`${group}/mon_data/mon_L3_01/llc_occupancy`, "8\n");
      assert.deepEqual(await rc.llcOccupancy(group), [
        { domainId: "mon_L3_00", bytes: null, status: text },
        { domainId: "mon_L3_01", bytes: 8 },
      ]);
    }
  });

  it("domains come back sorted even when the provider lists them in another order", async () => {
    const fs = MemFs.withResctrl({ l3Domains: ["mon_L3_00", "mon_L3_01"] });
    const reversed: FsProvider = overriding(fs, {
      readChildDirs: async (dir: string) => (await fs.readChildDirs(dir)).reverse(),
    });
    const rc = Resctrl.withProvider(reversed);
    const group = await rc.createGroup("u1");
    fs.addFile(`${group}/mon_data/mon_L3_00/llc_occupancy`, "1\n");
    fs.addFile(`${group}/mon_data/mon_L3_01/llc_occupancy`, "2\n");
    assert.deepEqual(
      (await rc.llcOccupancy(group)).map((r) => r.domainId),
      ["mon_L3_00", "mon_L3_01"],
    );
  });

  it("occupancy listing and read failures name the file", async () => {
    const { fs, rc, group } = await setup();
    fs.failNext("list", `${group}/mon_data`, "EIO");
    await rejectsWith(rc.llcOccupancy(group), IoError, { path: `${group}/mon_data`, code: "EIO" });
    fs.failNext("read", `${group}/mon_data/mon_L3_01/llc_occupancy`, "EACCES");
    await rejectsWith(rc.llcOccupancy(group), NoPermissionError, {
      path: `${group}/mon_data/mon_L3_01/llc_occupancy`,
    });
  });
});

describe("assignTasks details", () => {
  it("an invalid-PID error lists at most five of them", async () => {
    const { rc, group } = await setup();
    await assert.rejects(rc.assignTasks(group, [0, -1, -2, -3, -4, -5, -6]), (err: unknown) => {
      assert.ok(err instanceof InvalidPidError);
      assert.match(err.message, /invalid PID\(s\) 0, -1, -2, -3, -4 \(/);
      return true;
    });
  });

  it("EACCES on one task (tasks file writable) is a per-task refusal like EPERM", async () => {
    const { fs, rc, group } = await setup();
    fs.failNext("write", `${group}/tasks`, "EACCES");
    const r = await rc.assignTasks(group, [11, 12]);
    assert.equal(r.assigned, 1);
    assert.equal(r.denied, 1);
    assert.deepEqual(r.failedPids, [{ pid: 11, outcome: "denied" }]);
  });

  it("the tasks file's writability is checked once per call, however many tasks are refused", async () => {
    const { fs, rc, group } = await setup();
    for (const pid of [21, 22, 23]) fs.pidDenied(pid);
    const r = await rc.assignTasks(group, [21, 22, 23]);
    assert.equal(r.denied, 3);
    assert.equal(fs.calls("checkWrite", `${group}/tasks`), 1);
  });

  it("the debug log carries the counts", async () => {
    const { rc, group, records } = await setup();
    await rc.assignTasks(group, [31, 32]);
    const rec = records.find((r) => r.msg === "assigned tasks");
    assert.equal(rec?.assigned, 2);
    assert.equal(rec?.groupPath, group);
  });

  it("addPartial adds counts to a ResctrlError (with or without a partial) and ignores other errors", () => {
    const earlier = { ...emptyAssignment(), assigned: 2 };
    const bare = new IoError("x");
    addPartial(bare, earlier);
    assert.deepEqual(bare.partial, earlier);
    const plain = new Error("y") as Error & { partial?: unknown };
    addPartial(plain, earlier);
    assert.equal(plain.partial, undefined);
    assert.doesNotThrow(() => addPartial("not an error", earlier));
  });
});

describe("config validation of odd values", () => {
  it("an empty prefix says so; non-string prefixes and roots are config errors", () => {
    assert.throws(() => validatePrefix(""), /must not be empty/);
    for (const notAString of [123, null, undefined]) {
      assert.throws(() => validatePrefix(notAString as never), InvalidConfigError);
      assert.throws(() => validateRoot(notAString as never), InvalidConfigError);
    }
    assert.throws(() => validateRoot("/sys/fs/res\0ctrl"), InvalidConfigError);
  });
});

describe("reconcileGroup: a task moved away after our write", () => {
  it("counts as missing without a failure outcome (no write failed)", async () => {
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
