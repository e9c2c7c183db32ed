// RDT control groups ("classes") as the monitoring layer sees them: listing, our mon groups inside
// them, which control group each task is in (/proc/<pid>/cpu_resctrl_groups or the control
// groups' tasks files), deletion limits and startup cleanup with and without classes.
import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { memoryLogger } from "../../support/worlds/shared/log-capture.js";
import { overriding, rejectsWith } from "../../test/support/resctrl-helpers.js";
import { MemFs, type MemFsResctrlOptions } from "../memfs/mem-fs.js";
import { parseCpuResctrlGroups } from "./classes.js";
import { CapacityError, IoError, NotMountedError, OutsideRootError } from "./errors.js";
import { Resctrl } from "./resctrl.js";

const ROOT = "/sys/fs/resctrl";

async function setup(options: MemFsResctrlOptions = {}) {
  const fs = MemFs.withResctrl(options);
  const rc = Resctrl.withProvider(fs);
  await fs.createDir(`${ROOT}/gold`);
  await fs.createDir(`${ROOT}/silver`);
  return { fs, rc };
}

describe("parseCpuResctrlGroups", () => {
  it("reads the kernel's res: line: / is the default group", () => {
    assert.equal(parseCpuResctrlGroups("res:/\nmon:\n"), "");
    assert.equal(parseCpuResctrlGroups("res:gold\nmon:pod_a\n"), "gold");
    assert.equal(parseCpuResctrlGroups("res:/gold\nmon:\n"), "gold");
    assert.equal(parseCpuResctrlGroups("mon:x\n"), undefined);
    assert.equal(parseCpuResctrlGroups(""), undefined);
  });

  it("trims the name after res:, strips only a leading /, and a line without res: gives nothing", () => {
    assert.equal(parseCpuResctrlGroups("res:gold \r\nmon:\n"), "gold");
    assert.equal(parseCpuResctrlGroups("res: / \nmon:\n"), "");
    assert.equal(parseCpuResctrlGroups("res:a/b\n"), "a/b");
    assert.equal(parseCpuResctrlGroups("res:/a/b\n"), "a/b");
  });
});

describe("Resctrl control groups", () => {
  it("controlGroups lists every class directory under the root, sorted, nothing reserved", async () => {
    const { rc } = await setup();
    assert.deepEqual(await rc.controlGroups(), [`${ROOT}/gold`, `${ROOT}/silver`]);
  });

  it("classGroupPathFor: the root → mon_groups; a class → <class>/mon_groups; anything else refused", async () => {
    const { rc } = await setup();
    assert.equal(rc.classGroupPathFor("u1", ROOT), `${ROOT}/mon_groups/pod_u1`);
    assert.equal(rc.classGroupPathFor("u1", `${ROOT}/gold`), `${ROOT}/gold/mon_groups/pod_u1`);
    for (const bad of [
      `${ROOT}/info`,
      `${ROOT}/mon_groups`,
      `${ROOT}/a/b`,
      `${ROOT}/..`,
      "/etc",
      `${ROOT}x/gold`,
    ])
      assert.throws(
        () => rc.classGroupPathFor("u1", bad),
        (e: unknown) => e instanceof OutsideRootError && e.path === bad,
        bad,
      );
  });

  it("controlGroups sorts what the provider lists; a listing error is mapped with the root as path", async () => {
    const { fs } = await setup();
    const unsorted = overriding(fs, {
      readChildDirs: async (p: string) => (await fs.readChildDirs(p)).reverse(),
    });
    assert.deepEqual(await Resctrl.withProvider(unsorted).controlGroups(), [
      `${ROOT}/gold`,
      `${ROOT}/silver`,
    ]);
    fs.failNext("list", ROOT, "EIO");
    await rejectsWith(Resctrl.withProvider(fs).controlGroups(), IoError, { code: "EIO", path: ROOT });
  });

  it("createClassGroup in the root itself makes the root's mon group (no class check)", async () => {
    const { fs, rc } = await setup();
    assert.equal(await rc.createClassGroup("u1", ROOT), `${ROOT}/mon_groups/pod_u1`);
    assert.equal(fs.isDir(`${ROOT}/mon_groups/pod_u1`), true);
  });

  it("createClassGroup makes the pod's group inside the class; a gone class → NotMountedError ENOENT; ENOSPC → CapacityError", async () => {
    const { fs, rc } = await setup();
    const p = await rc.createClassGroup("u1", `${ROOT}/gold`);
    assert.equal(p, `${ROOT}/gold/mon_groups/pod_u1`);
    assert.equal(fs.isDir(p), true);
    assert.equal(await rc.createClassGroup("u1", `${ROOT}/gold`), p, "idempotent");
    await rejectsWith(rc.createClassGroup("u1", `${ROOT}/bronze`), NotMountedError, { code: "ENOENT" });
    fs.failMkdirWithEnospc(true);
    await rejectsWith(rc.createClassGroup("u2", `${ROOT}/silver`), CapacityError, {});
  });

  it("deleteGroup removes our group inside a class, and nothing else there", async () => {
    const { fs, rc } = await setup();
    const p = await rc.createClassGroup("u1", `${ROOT}/gold`);
    await fs.createDir(`${ROOT}/gold/mon_groups/theirs`);
    await rc.deleteGroup(p);
    assert.equal(fs.isDir(p), false);
    for (const bad of [
      `${ROOT}/gold/mon_groups/theirs`,
      `${ROOT}/gold`,
      `${ROOT}/info/mon_groups/pod_x`,
      `${ROOT}/gold/mon_groups/pod_x/y`,
    ])
      await assert.rejects(rc.deleteGroup(bad), OutsideRootError, bad);
    assert.equal(fs.isDir(`${ROOT}/gold/mon_groups/theirs`), true);
  });

  for (const proc of [true, false]) {
    it(`taskControlGroups ${proc ? "from /proc/<pid>/cpu_resctrl_groups" : "from the classes' tasks files (no cpu_resctrl_groups)"}`, async () => {
      const { fs, rc } = await setup({ procResctrlGroups: proc });
      await fs.writeStr(`${ROOT}/gold/tasks`, "11");
      await fs.createDir(`${ROOT}/gold/mon_groups/m`);
      await fs.writeStr(`${ROOT}/gold/tasks`, "12"); // into the class first (kernel rule)
      await fs.writeStr(`${ROOT}/gold/mon_groups/m/tasks`, "12");
      await fs.writeStr(`${ROOT}/silver/tasks`, "13");
      fs.pidGone(15);
      const m = await rc.taskControlGroups([11, 12, 13, 14, 15]);
      assert.equal(m.get(11), `${ROOT}/gold`);
      assert.equal(m.get(12), `${ROOT}/gold`, "a task in a class's mon group is in that class");
      assert.equal(m.get(13), `${ROOT}/silver`);
      assert.equal(m.get(14), ROOT, "never moved: the default group");
      if (proc) assert.equal(m.has(15), false, "an exited task is left out");
      assert.equal(fs.calls("read", `${ROOT}/gold/tasks`) > 0, !proc, "tasks files only as the fallback");
      assert.deepEqual([...(await rc.taskControlGroups([])).entries()], []);
    });
  }

  it("taskControlGroups: a cpu_resctrl_groups without a res: line leaves the task out", async () => {
    const { fs } = await setup();
    const odd = overriding(fs, {
      readToString: async (p: string) =>
        p === "/proc/11/cpu_resctrl_groups" ? "mon:\n" : fs.readToString(p),
    });
    const m = await Resctrl.withProvider(odd).taskControlGroups([11, 12]);
    assert.deepEqual([...m.entries()], [[12, ROOT]]);
  });

  it("taskControlGroups keeps using /proc once it worked, and never again once it was missing (logged once)", async () => {
    for (const proc of [true, false]) {
      const { logger, records } = memoryLogger("info");
      const fs = MemFs.withResctrl({ procResctrlGroups: proc });
      const rc = Resctrl.withProvider(fs, { logger });
      await fs.createDir(`${ROOT}/gold`);
      await fs.writeStr(`${ROOT}/gold/tasks`, "11");
      for (let i = 0; i < 2; i++)
        assert.deepEqual([...(await rc.taskControlGroups([11])).entries()], [[11, `${ROOT}/gold`]]);
      assert.equal(fs.calls("read", "/proc/11/cpu_resctrl_groups"), proc ? 2 : 1, `proc ${proc}`);
      assert.equal(fs.calls("read", `${ROOT}/gold/tasks`), proc ? 0 : 2, `proc ${proc}`);
      const notes = records.filter((r) => String(r.msg).includes("does not provide cpu_resctrl_groups"));
      assert.deepEqual(
        notes.map((r) => r.file),
        proc ? [] : ["/proc/<pid>/cpu_resctrl_groups"],
      );
      const before = fs.log.length;
      assert.deepEqual([...(await rc.taskControlGroups([])).entries()], []);
      assert.equal(fs.log.length, before, "no tids: nothing read");
    }
  });

  it("taskControlGroups fallback: only the asked tasks; blank lines are no task; a class gone meanwhile is skipped; other read errors are mapped", async () => {
    const { fs } = await setup({ procResctrlGroups: false });
    await fs.writeStr(`${ROOT}/gold/tasks`, "11");
    await fs.writeStr(`${ROOT}/silver/tasks`, "16");
    const blanks = overriding(fs, {
      readToString: async (p: string) =>
        p === `${ROOT}/silver/tasks` ? ` 16 \n  \n\n${await fs.readToString(p)}` : fs.readToString(p),
    });
    const rc = Resctrl.withProvider(blanks);
    const m = await rc.taskControlGroups([0, 11]);
    assert.deepEqual([...m.entries()].sort(), [
      [0, ROOT],
      [11, `${ROOT}/gold`],
    ]);
    fs.failNext("read", `${ROOT}/gold/tasks`, "ENOENT");
    assert.equal((await rc.taskControlGroups([11])).get(11), ROOT, "gold gone: the default group");
    fs.failNext("read", `${ROOT}/gold/tasks`, "EIO");
    await rejectsWith(rc.taskControlGroups([11]), IoError, { code: "EIO", path: `${ROOT}/gold/tasks` });
  });

  it("MemFs renders cpu_resctrl_groups like the kernel", async () => {
    const { fs } = await setup();
    await fs.createDir(`${ROOT}/gold/mon_groups/m`);
    await fs.writeStr(`${ROOT}/gold/tasks`, "12"); // into the class first (kernel rule)
    await fs.writeStr(`${ROOT}/gold/mon_groups/m/tasks`, "12");
    assert.equal(await fs.readToString("/proc/12/cpu_resctrl_groups"), "res:gold\nmon:m\n");
    assert.equal(await fs.readToString("/proc/99/cpu_resctrl_groups"), "res:/\nmon:\n");
    await fs.createDir(`${ROOT}/mon_groups/pod_a`);
    await fs.writeStr(`${ROOT}/mon_groups/pod_a/tasks`, "13");
    assert.equal(await fs.readToString("/proc/13/cpu_resctrl_groups"), "res:/\nmon:pod_a\n");
    await fs.removeDir(`${ROOT}/gold`);
    assert.equal(
      await fs.readToString("/proc/12/cpu_resctrl_groups"),
      "res:/\nmon:\n",
      "class removed: back in the default group",
    );
  });

  it("cleanupAll: class mon groups only with inControlGroups, prefix-owned only", async () => {
    const { fs, rc } = await setup();
    await rc.createClassGroup("old", `${ROOT}/gold`);
    await fs.createDir(`${ROOT}/gold/mon_groups/theirs`);
    await rc.createGroup("old2");
    let r = await rc.cleanupAll();
    assert.equal(r.removed, 1);
    assert.equal(fs.isDir(`${ROOT}/gold/mon_groups/pod_old`), true, "flag off: never looks inside classes");
    r = await rc.cleanupAll({ inControlGroups: true });
    assert.equal(r.removed, 1);
    assert.equal(fs.isDir(`${ROOT}/gold/mon_groups/pod_old`), false);
    assert.equal(fs.isDir(`${ROOT}/gold/mon_groups/theirs`), true);
    assert.equal(fs.isDir(`${ROOT}/gold`), true);
  });
});
