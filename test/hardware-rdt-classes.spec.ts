// The hardware world's RDT classes (support/worlds/hardware/rdt-classes.ts), against MemFs standing
// in for the kernel's resctrl (control groups, task moves, rmdir semantics) and /proc.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemFs } from "../src/testing/index.js";
import {
  HwRdtClasses,
  parentPidOf,
  parseSandboxPid,
  type ClassFs,
} from "../support/worlds/hardware/rdt-classes.js";

const ROOT = "/sys/fs/resctrl";
const PREFIX = "hwo_s1_";
const GONE = 999; // a task that exited: the kernel answers ESRCH

/** MemFs as the {@link ClassFs} seam; `/proc/<pid>/task/<tid>` directories name a process's threads. */
function kernel(): { fs: MemFs; classFs: ClassFs } {
  const fs = MemFs.withResctrl({ root: ROOT, pidExists: (pid) => pid !== GONE });
  const classFs: ClassFs = {
    mkdir: (p) => fs.createDir(p),
    rmdir: (p) => fs.removeDir(p),
    isDir: async (p) => fs.isDir(p),
    readDirs: (p) => fs.readChildDirs(p),
    readFile: (p) => fs.readToString(p),
    writeTask: (file, tid) => fs.writeStr(file, String(tid)),
  };
  return { fs, classFs };
}

describe("hardware RDT classes", () => {
  it("names a class with the run's foreign prefix and maps control group paths back to scenario names", async () => {
    const { classFs } = kernel();
    const c = new HwRdtClasses(ROOT, PREFIX, classFs);
    assert.equal(c.pathOf("gold"), `${ROOT}/hwo_s1_gold`);
    assert.throws(() => c.pathOf("../x"), /failed to name RDT class/);
    await c.create("gold");
    assert.equal(c.nameOf(`${ROOT}/hwo_s1_gold`), "gold");
    assert.equal(c.nameOf(ROOT), undefined, "the root is no class");
    assert.equal(c.nameOf(`${ROOT}/theirs`), "theirs", "someone else's class keeps its directory name");
  });

  it("creates a real control group, moves tasks into it (skipping exited ones) and removes it", async () => {
    const { fs, classFs } = kernel();
    const c = new HwRdtClasses(ROOT, PREFIX, classFs);
    await c.create("gold");
    assert.ok(fs.isDir(`${ROOT}/hwo_s1_gold/mon_groups`), "a control group, with mon_groups");
    await c.moveTasks("gold", [11, GONE, 12]);
    assert.deepEqual(fs.tasksOf(`${ROOT}/hwo_s1_gold`), [11, 12]);
    assert.deepEqual(await c.tasksOf(`${ROOT}/hwo_s1_gold`), [11, 12]);
    await fs.createDir(`${ROOT}/hwo_s1_gold/mon_groups/hwp_s1_pod`);
    assert.deepEqual(await c.monitoringGroups("gold"), ["hwp_s1_pod"]);
    await c.remove("gold");
    assert.equal(fs.groupOf(11), ROOT, "the kernel moved its tasks to the default group");
    await assert.rejects(c.moveTasks("gold", [11]), /RDT class gold .* does not exist/);
    await assert.rejects(c.monitoringGroups("gold"), /does not exist/);
    assert.deepEqual(await c.tasksOf(`${ROOT}/hwo_s1_gold`), []);
  });

  it("holds a process's threads in the class while `run` runs, then puts them (and new ones) back in the root", async () => {
    const { fs, classFs } = kernel();
    fs.addDir("/proc/500/task/500");
    fs.addDir("/proc/500/task/501");
    const c = new HwRdtClasses(ROOT, PREFIX, classFs);
    await c.create("gold");
    const during = await c.withProcessIn("gold", 500, async () => {
      fs.addDir("/proc/500/task/502"); // a thread the shim made meanwhile (the kernel: born in the class)
      await fs.writeStr(`${ROOT}/hwo_s1_gold/tasks`, "502");
      return [fs.groupOf(500), fs.groupOf(501)];
    });
    assert.deepEqual(during, [`${ROOT}/hwo_s1_gold`, `${ROOT}/hwo_s1_gold`]);
    assert.deepEqual(
      [500, 501, 502].map((t) => fs.groupOf(t)),
      [ROOT, ROOT, ROOT],
    );
    await assert.rejects(
      c.withProcessIn("gold", 500, async () => Promise.reject(new Error("kubelet failed"))),
      /kubelet failed/,
    );
    assert.equal(fs.groupOf(500), ROOT, "back in the root also when the start failed");
  });

  it("removes the classes it created that still exist, and nothing else", async () => {
    const { fs, classFs } = kernel();
    const c = new HwRdtClasses(ROOT, PREFIX, classFs);
    await c.create("gold");
    await c.create("silver");
    await c.remove("silver");
    await fs.createDir(`${ROOT}/theirs`);
    assert.deepEqual(await c.removeAll(), []);
    assert.equal(fs.isDir(`${ROOT}/hwo_s1_gold`), false);
    assert.equal(fs.isDir(`${ROOT}/theirs`), true);
  });

  it("reads the sandbox's pid from crictl inspectp and a process's parent from /proc/<pid>/stat", () => {
    assert.equal(parseSandboxPid('{"status":{"state":"SANDBOX_READY"},"info":{"pid":4242}}'), 4242);
    assert.throws(() => parseSandboxPid('{"status":{}}'), /no info.pid/);
    assert.equal(parentPidOf("4242 (pause) S 4100 4242 4242 0 -1 4194560 0 0"), 4100);
    assert.equal(parentPidOf("77 (a) b) (c) S 12 77 77 0"), 12, "a command name with ') ' in it");
    assert.throws(() => parentPidOf("garbage"), /parent pid/);
  });
});
