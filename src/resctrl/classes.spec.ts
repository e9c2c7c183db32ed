// RDT control groups ("classes") as the monitoring layer sees them: listing, our mon groups inside
// them, which control group each task is in (/proc/<pid>/cpu_resctrl_groups or the control
// groups' tasks files), deletion limits and startup cleanup with and without classes.
import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { rejectsWith } from "../../test/support/resctrl-helpers.js";
import { MemFs, type MemFsResctrlOptions } from "../memfs/mem-fs.js";
import { parseCpuResctrlGroups } from "./classes.js";
import { CapacityError, NotMountedError, OutsideRootError } from "./errors.js";
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
      assert.throws(() => rc.classGroupPathFor("u1", bad), OutsideRootError, bad);
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
