import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { errnoCode } from "../resctrl/errors.js";
import { MemFs } from "./mem-fs.js";

const ROOT = "/sys/fs/resctrl";
const MG = `${ROOT}/mon_groups`;

const code = (c: string) => (e: unknown) => errnoCode(e) === c;

describe("MemFs: seeding", () => {
  it("withResctrl seeds /proc and a mounted root", () => {
    const fs = MemFs.withResctrl({ rmidCapacity: 8 });
    assert.match(fs.readFile("/proc/filesystems"), /^nodev\tresctrl$/m);
    assert.match(fs.readFile("/proc/mounts"), /^resctrl \/sys\/fs\/resctrl resctrl rw,relatime 0 0$/m);
    assert.equal(fs.readFile(`${ROOT}/tasks`), "");
    assert.equal(fs.readFile(`${ROOT}/info/last_cmd_status`), "ok\n");
    assert.equal(fs.readFile(`${ROOT}/info/L3_MON/num_rmids`), "8\n");
    assert.equal(fs.isDir(MG), true);
    assert.equal(fs.readFile(`${ROOT}/mon_data/mon_L3_00/llc_occupancy`), "0\n");
    assert.deepEqual(fs.groupPaths(), [ROOT]);
  });

  it("unmounted / unsupported variants", () => {
    const fs = MemFs.withResctrl({ mounted: false, supported: false });
    assert.doesNotMatch(fs.readFile("/proc/filesystems"), /resctrl/);
    assert.doesNotMatch(fs.readFile("/proc/mounts"), /resctrl/);
    assert.equal(fs.isDir(ROOT), true, "the empty sysfs directory exists");
    assert.equal(fs.existsSync(`${ROOT}/tasks`), false);
  });

  it("new MemFs() is an empty tree; addDir/addFile create parents", async () => {
    const fs = new MemFs();
    assert.equal(fs.existsSync("/proc"), false);
    fs.addFile("/a/b/c", "x");
    assert.equal(fs.isDir("/a/b"), true);
    assert.equal(await fs.readToString("/a/b/c"), "x");
    assert.deepEqual(await fs.readChildDirs("/a"), ["b"]);
    assert.equal(await fs.exists("/a/b/c"), true);
    assert.equal(await fs.exists("relative"), false, "exists never rejects");
  });
});

describe("MemFs: plain files and directories", () => {
  it("mkdir checks the parent and existing entries", async () => {
    const fs = new MemFs();
    await fs.createDir("/x");
    await assert.rejects(fs.createDir("/x"), code("EEXIST"));
    await assert.rejects(fs.createDir("/y/z"), code("ENOENT"));
    fs.addFile("/f", "");
    await assert.rejects(fs.createDir("/f/z"), code("ENOTDIR"));
  });

  it("rmdir: ENOENT when missing, ENOTEMPTY with children, ENOTDIR on files", async () => {
    const fs = new MemFs();
    fs.addFile("/d/f", "");
    await assert.rejects(fs.removeDir("/d"), code("ENOTEMPTY"));
    await assert.rejects(fs.removeDir("/d/f"), code("ENOTDIR"));
    await assert.rejects(fs.removeDir("/nope"), code("ENOENT"));
    fs.addDir("/e");
    await fs.removeDir("/e");
    assert.equal(fs.existsSync("/e"), false);
  });

  it("writeStr replaces an existing file, never creates; EISDIR on directories", async () => {
    const fs = new MemFs();
    fs.addFile("/f", "old");
    await fs.writeStr("/f", "new");
    assert.equal(fs.readFile("/f"), "new");
    await assert.rejects(fs.writeStr("/g", "x"), code("ENOENT"));
    assert.equal(fs.existsSync("/g"), false);
    fs.addDir("/d");
    await assert.rejects(fs.writeStr("/d", "x"), code("EISDIR"));
  });

  it("regular files inside a mounted resctrl are read-only (EACCES), like kernfs files without a write handler", async () => {
    const fs = MemFs.withResctrl();
    const occ = `${ROOT}/mon_data/mon_L3_00/llc_occupancy`;
    await assert.rejects(fs.writeStr(occ, "1"), code("EACCES"));
    await assert.rejects(fs.checkCanOpenForWrite(`${ROOT}/info/last_cmd_status`), code("EACCES"));
    assert.equal(fs.readFile(occ), "0\n");
    await fs.checkCanOpenForWrite(`${ROOT}/tasks`);
    fs.setMounted(false);
    fs.addFile(`${ROOT}/plain`, "x");
    await fs.writeStr(`${ROOT}/plain`, "y");
    assert.equal(fs.readFile(`${ROOT}/plain`), "y", "an unmounted root is a plain directory");
  });

  it("checkCanOpenForWrite needs the file itself (not just its parent)", async () => {
    const fs = new MemFs();
    fs.addDir("/d");
    await assert.rejects(fs.checkCanOpenForWrite("/d/f"), code("ENOENT"));
    fs.addFile("/d/f", "");
    await fs.checkCanOpenForWrite("/d/f");
    await assert.rejects(fs.checkCanOpenForWrite("/d"), code("EISDIR"));
  });

  it("readChildDirs lists directories only; ENOENT / ENOTDIR", async () => {
    const fs = new MemFs();
    fs.addDir("/p/b");
    fs.addDir("/p/a/deep");
    fs.addFile("/p/file", "");
    assert.deepEqual(await fs.readChildDirs("/p"), ["a", "b"]);
    await assert.rejects(fs.readChildDirs("/q"), code("ENOENT"));
    await assert.rejects(fs.readChildDirs("/p/file"), code("ENOTDIR"));
  });

  it("relative paths are rejected with EINVAL", async () => {
    const fs = new MemFs();
    await assert.rejects(fs.createDir("rel"), code("EINVAL"));
  });
});

describe("MemFs: resctrl groups", () => {
  it("mkdir of a mon group (any name) creates tasks and mon_data", async () => {
    const fs = MemFs.withResctrl();
    await fs.createDir(`${MG}/anything`);
    assert.equal(fs.readFile(`${MG}/anything/tasks`), "");
    assert.equal(fs.readFile(`${MG}/anything/mon_data/mon_L3_00/llc_occupancy`), "0\n");
    assert.equal(fs.existsSync(`${MG}/anything/mon_groups`), false);
  });

  it("mkdir of a ctrl group creates tasks, mon_data and mon_groups; its mon groups work too", async () => {
    const fs = MemFs.withResctrl();
    await fs.createDir(`${ROOT}/c1`);
    assert.equal(fs.isDir(`${ROOT}/c1/mon_groups`), true);
    await fs.createDir(`${ROOT}/c1/mon_groups/m1`);
    assert.equal(fs.existsSync(`${ROOT}/c1/mon_groups/m1/tasks`), true);
    assert.deepEqual(fs.groupPaths(), [ROOT, `${ROOT}/c1`, `${ROOT}/c1/mon_groups/m1`]);
  });

  it("mkdir elsewhere inside the root → EPERM (like the kernel); EEXIST and ENOENT still first", async () => {
    const fs = MemFs.withResctrl();
    await fs.createDir(`${MG}/m1`);
    for (const p of [`${ROOT}/info/x`, `${MG}/m1/x`, `${ROOT}/mon_data/x`, `${MG}/m1/mon_data/y`]) {
      await assert.rejects(fs.createDir(p), code("EPERM"), p);
    }
    await assert.rejects(fs.createDir(`${ROOT}/info`), code("EEXIST"));
    await assert.rejects(fs.createDir(`${ROOT}/nope/mon_groups/x`), code("ENOENT"));
  });

  it("mkdir under an unmounted root → EPERM (sysfs)", async () => {
    const fs = MemFs.withResctrl({ mounted: false });
    await assert.rejects(fs.createDir(`${ROOT}/mon_groups`), code("EPERM"));
  });

  it("rmdir of root → EBUSY; of info, mon_data, mon_groups, files inside → EPERM / ENOTDIR", async () => {
    const fs = MemFs.withResctrl();
    await assert.rejects(fs.removeDir(ROOT), code("EBUSY"));
    for (const p of [`${ROOT}/info`, `${ROOT}/info/L3_MON`, `${ROOT}/mon_data`, MG]) {
      await assert.rejects(fs.removeDir(p), code("EPERM"), p);
    }
    await assert.rejects(fs.removeDir(`${ROOT}/tasks`), code("ENOTDIR"));
    await assert.rejects(fs.removeDir(`${MG}/nope`), code("ENOENT"));
  });

  it("rmdir of a mon group moves its tasks back to the parent ctrl group", async () => {
    const fs = MemFs.withResctrl();
    await fs.createDir(`${ROOT}/c1`);
    await fs.createDir(`${ROOT}/c1/mon_groups/m1`);
    await fs.writeStr(`${ROOT}/c1/tasks`, "5");
    await fs.writeStr(`${ROOT}/c1/mon_groups/m1/tasks`, "5");
    assert.equal(fs.groupOf(5), `${ROOT}/c1/mon_groups/m1`);
    await fs.removeDir(`${ROOT}/c1/mon_groups/m1`);
    assert.equal(fs.groupOf(5), `${ROOT}/c1`);
    assert.equal(fs.existsSync(`${ROOT}/c1/mon_groups/m1/tasks`), false);
  });

  it("rmdir of a ctrl group removes its mon groups and moves every task to the root", async () => {
    const fs = MemFs.withResctrl();
    await fs.createDir(`${ROOT}/c1`);
    await fs.createDir(`${ROOT}/c1/mon_groups/m1`);
    await fs.writeStr(`${ROOT}/c1/tasks`, "5");
    await fs.writeStr(`${ROOT}/c1/tasks`, "6");
    await fs.writeStr(`${ROOT}/c1/mon_groups/m1/tasks`, "6");
    await fs.removeDir(`${ROOT}/c1`);
    assert.deepEqual(fs.groupPaths(), [ROOT]);
    assert.deepEqual(fs.tasksOf(ROOT), [5, 6]);
    assert.equal(fs.existsSync(`${ROOT}/c1`), false);
  });
});

describe("MemFs: tasks", () => {
  it("a task is in exactly one mon group; writing it elsewhere moves it", async () => {
    const fs = MemFs.withResctrl();
    await fs.createDir(`${MG}/a`);
    await fs.createDir(`${MG}/b`);
    await fs.writeStr(`${MG}/a/tasks`, "7");
    await fs.writeStr(`${MG}/b/tasks`, "7");
    assert.equal(fs.readFile(`${MG}/a/tasks`), "");
    assert.equal(fs.readFile(`${MG}/b/tasks`), "7\n");
    assert.equal(fs.readFile(`${ROOT}/tasks`), "7\n", "a ctrl group lists its mon groups' tasks (kernel)");
  });

  it("root tasks lists known tasks moved back; unknown tasks are not listed", async () => {
    const fs = MemFs.withResctrl();
    await fs.createDir(`${ROOT}/c1`);
    await fs.writeStr(`${ROOT}/c1/tasks`, "3");
    assert.equal(fs.readFile(`${ROOT}/tasks`), "");
    await fs.writeStr(`${ROOT}/tasks`, "3");
    assert.equal(fs.readFile(`${ROOT}/tasks`), "3\n");
    assert.equal(fs.readFile(`${ROOT}/c1/tasks`), "");
  });

  it("moving into a mon group of another ctrl group → EINVAL with the kernel's status text", async () => {
    const fs = MemFs.withResctrl();
    await fs.createDir(`${ROOT}/c1`);
    await fs.createDir(`${MG}/m`);
    await fs.writeStr(`${ROOT}/c1/tasks`, "9");
    await assert.rejects(fs.writeStr(`${MG}/m/tasks`, "9"), code("EINVAL"));
    assert.equal(fs.readFile(`${ROOT}/info/last_cmd_status`), "Can't move task to different control group\n");
    assert.equal(fs.groupOf(9), `${ROOT}/c1`);
  });

  it("PID 0 is refused loudly and counted; garbage and empty writes → EINVAL", async () => {
    const fs = MemFs.withResctrl();
    await assert.rejects(fs.writeStr(`${ROOT}/tasks`, "0"), (e: unknown) => {
      return errnoCode(e) === "EINVAL" && /PID 0/.test(String((e as Error).message));
    });
    assert.equal(fs.zeroPidWrites, 1);
    await assert.rejects(fs.writeStr(`${ROOT}/tasks`, "abc"), code("EINVAL"));
    await assert.rejects(fs.writeStr(`${ROOT}/tasks`, " "), code("EINVAL"));
  });

  it("a write is a comma-separated list like the kernel's; a space inside a token is a parse error", async () => {
    const fs = MemFs.withResctrl();
    await fs.writeStr(`${ROOT}/tasks`, "1, 2,3\n");
    assert.deepEqual(fs.tasksOf(ROOT), [1, 2, 3]);
    await fs.writeStr(`${ROOT}/tasks`, "4\n");
    assert.deepEqual(fs.tasksOf(ROOT), [1, 2, 3, 4]);
    await assert.rejects(fs.writeStr(`${ROOT}/tasks`, "5 6"), code("EINVAL"));
    assert.equal(fs.readFile(`${ROOT}/info/last_cmd_status`), "Task list parsing error pid 5 6\n");
    await assert.rejects(fs.writeStr(`${ROOT}/tasks`, "7,x,8"), code("EINVAL"));
    assert.deepEqual(fs.tasksOf(ROOT), [1, 2, 3, 4, 7], "tasks before the failing token stay moved");
  });

  it("pidExists option → ESRCH for tasks it rejects", async () => {
    const fs = MemFs.withResctrl({ pidExists: (p) => p < 100 });
    await fs.writeStr(`${ROOT}/tasks`, "99");
    await assert.rejects(fs.writeStr(`${ROOT}/tasks`, "100"), code("ESRCH"));
    assert.equal(fs.readFile(`${ROOT}/info/last_cmd_status`), "No task 100\n");
  });

  it("rmdir forgets tasks that pidExists says exited; live ones go back to the parent", async () => {
    const live = new Set([1, 2]);
    const fs = MemFs.withResctrl({ pidExists: (p) => live.has(p) });
    await fs.createDir(`${MG}/g`);
    await fs.writeStr(`${MG}/g/tasks`, "1");
    await fs.writeStr(`${MG}/g/tasks`, "2");
    live.delete(2);
    await fs.removeDir(`${MG}/g`);
    assert.deepEqual(fs.tasksOf(ROOT), [1]);
    assert.equal(fs.groupOf(1), ROOT);
    assert.equal(fs.groupOf(2), undefined);
    await fs.createDir(`${MG}/g`);
    assert.deepEqual(fs.tasksOf(`${MG}/g`), [], "a group re-created at the same path starts empty");
  });

  it("a tasks write to a removed group → ENOENT", async () => {
    const fs = MemFs.withResctrl();
    await fs.createDir(`${MG}/g`);
    await fs.removeDir(`${MG}/g`);
    await assert.rejects(fs.writeStr(`${MG}/g/tasks`, "1"), code("ENOENT"));
  });
});

describe("MemFs: RMIDs", () => {
  it("rmidCapacity counts root and every group; ENOSPC at the limit, reusable after rmdir", async () => {
    const fs = MemFs.withResctrl({ rmidCapacity: 3 });
    await fs.createDir(`${MG}/a`);
    await fs.createDir(`${ROOT}/c`);
    assert.equal(fs.rmidsInUse(), 3);
    await assert.rejects(fs.createDir(`${MG}/b`), code("ENOSPC"));
    assert.equal(fs.readFile(`${ROOT}/info/last_cmd_status`), "Out of RMIDs\n");
    await fs.removeDir(`${MG}/a`);
    await fs.createDir(`${MG}/b`);
  });

  it("freed RMIDs stay in limbo for rmidLimboMs on the injected clock; no free RMID → EBUSY while any is in limbo", async () => {
    let now = 1000;
    const fs = MemFs.withResctrl({ rmidCapacity: 2, rmidLimboMs: 500, now: () => now });
    await fs.createDir(`${MG}/a`);
    await fs.removeDir(`${MG}/a`);
    assert.equal(fs.rmidsInUse(), 2);
    assert.equal(fs.rmidsInLimbo(), 1);
    await assert.rejects(fs.createDir(`${MG}/b`), code("EBUSY"));
    assert.equal(fs.readFile(`${ROOT}/info/last_cmd_status`), "Out of RMIDs\n");
    now += 499;
    await assert.rejects(fs.createDir(`${MG}/b`), code("EBUSY"));
    now += 1;
    await fs.createDir(`${MG}/b`);
    await assert.rejects(fs.createDir(`${MG}/c`), code("ENOSPC"), "nothing in limbo: exhausted");
  });

  it("limbo of Infinity lasts until the cache drains (drainRmidLimbo)", async () => {
    const fs = MemFs.withResctrl({ rmidCapacity: 3, rmidLimboMs: Infinity });
    await fs.createDir(`${MG}/a`);
    await fs.createDir(`${MG}/b`);
    await fs.removeDir(`${MG}/a`);
    await assert.rejects(fs.createDir(`${MG}/c`), code("EBUSY"));
    fs.drainRmidLimbo();
    assert.equal(fs.rmidsInLimbo(), 0);
    await fs.createDir(`${MG}/c`);
    await assert.rejects(fs.createDir(`${MG}/d`), code("ENOSPC"));
  });

  it("info/L3_MON has num_rmids and max_threshold_occupancy", () => {
    const fs = MemFs.withResctrl({ rmidCapacity: 8 });
    assert.equal(fs.readFile(`${ROOT}/info/L3_MON/max_threshold_occupancy`), "1441792\n");
  });

  it("failMkdirWithEnospc toggles ENOSPC on group mkdir", async () => {
    const fs = MemFs.withResctrl();
    fs.failMkdirWithEnospc(true);
    await assert.rejects(fs.createDir(`${MG}/a`), code("ENOSPC"));
    await assert.rejects(fs.createDir(`${MG}/a`), code("ENOSPC"));
    fs.failMkdirWithEnospc(false);
    await fs.createDir(`${MG}/a`);
  });
});

describe("MemFs: mount", () => {
  it("mountResctrl seeds the root and the /proc/mounts line, creating the leaf", async () => {
    const fs = MemFs.withResctrl({ root: "/mnt/r", mounted: false });
    await fs.removeDir("/mnt/r");
    await fs.mountResctrl("/mnt/r");
    assert.equal(fs.isDir("/mnt/r/mon_groups"), true);
    assert.match(fs.readFile("/proc/mounts"), /^resctrl \/mnt\/r resctrl/m);
    await assert.rejects(fs.mountResctrl("/mnt/r"), code("EBUSY"));
    await assert.rejects(MemFs.withResctrl({ mounted: false }).mountResctrl("/no/parent/x"), code("ENOENT"));
  });

  it("ENODEV when unsupported; setSupported flips it and /proc/filesystems", async () => {
    const fs = MemFs.withResctrl({ mounted: false, supported: false });
    await assert.rejects(fs.mountResctrl(ROOT), code("ENODEV"));
    fs.setSupported(true);
    assert.match(fs.readFile("/proc/filesystems"), /resctrl/);
    await fs.mountResctrl(ROOT);
  });

  it("setMountError: persistent until cleared, or for N calls", async () => {
    const fs = MemFs.withResctrl({ mounted: false });
    fs.setMountError("EPERM");
    await assert.rejects(fs.mountResctrl(ROOT), code("EPERM"));
    await assert.rejects(fs.mountResctrl(ROOT), code("EPERM"));
    fs.setMountError(undefined);
    fs.setMountError("EIO", 1);
    await assert.rejects(fs.mountResctrl(ROOT), code("EIO"));
    await fs.mountResctrl(ROOT);
    assert.equal(fs.calls("mount"), 4);
  });

  it("setMounted(false) drops groups, tasks and the mount line; setMounted(true) reseeds", async () => {
    const fs = MemFs.withResctrl();
    await fs.createDir(`${MG}/a`);
    await fs.writeStr(`${MG}/a/tasks`, "4");
    fs.setMounted(false);
    assert.equal(fs.isDir(ROOT), true);
    assert.equal(fs.existsSync(MG), false);
    assert.doesNotMatch(fs.readFile("/proc/mounts"), /resctrl/);
    assert.equal(fs.groupOf(4), undefined);
    fs.setMounted(true);
    assert.deepEqual(fs.groupPaths(), [ROOT]);
    assert.match(fs.readFile("/proc/mounts"), /resctrl/);
  });
});

describe("MemFs: fault switches and inspection", () => {
  it("denyPath refuses only the listed ops on exactly that path; allowPath lifts it", async () => {
    const fs = MemFs.withResctrl();
    fs.denyPath(`${ROOT}/tasks`, ["write"]);
    await assert.rejects(fs.writeStr(`${ROOT}/tasks`, "1"), code("EACCES"));
    await assert.rejects(fs.checkCanOpenForWrite(`${ROOT}/tasks`), code("EACCES"));
    await fs.readToString(`${ROOT}/tasks`);
    fs.denyPath(MG);
    await assert.rejects(fs.readChildDirs(MG), code("EACCES"));
    await assert.rejects(fs.createDir(MG), code("EACCES"));
    await fs.createDir(`${MG}/ok`);
    fs.allowPath(MG);
    assert.deepEqual(await fs.readChildDirs(MG), ["ok"]);
  });

  it("pidGone / pidForeign / pidDenied and their clear counterparts", async () => {
    const fs = MemFs.withResctrl();
    const t = `${ROOT}/tasks`;
    fs.pidGone(1);
    fs.pidForeign(2);
    fs.pidDenied(3);
    await assert.rejects(fs.writeStr(t, "1"), code("ESRCH"));
    await assert.rejects(fs.writeStr(t, "2"), code("EINVAL"));
    await assert.rejects(fs.writeStr(t, "3"), code("EPERM"));
    await fs.checkCanOpenForWrite(t);
    fs.clearPidGone(1);
    fs.clearPidForeign(2);
    fs.clearPidDenied(3);
    for (const p of ["1", "2", "3"]) await fs.writeStr(t, p);
    assert.deepEqual(fs.tasksOf(ROOT), [1, 2, 3]);
  });

  it("failNext is a queued one-shot per op and path", async () => {
    const fs = new MemFs();
    fs.addFile("/f", "x");
    fs.failNext("read", "/f", "EIO");
    fs.failNext("read", "/f", "EBUSY");
    await assert.rejects(fs.readToString("/f"), code("EIO"));
    await assert.rejects(fs.readToString("/f"), code("EBUSY"));
    assert.equal(await fs.readToString("/f"), "x");
  });

  it("vanishOnList lists the entry once, then it is gone", async () => {
    const fs = MemFs.withResctrl();
    await fs.createDir(`${MG}/a`);
    await fs.createDir(`${MG}/b`);
    fs.vanishOnList(MG, "a");
    assert.deepEqual(await fs.readChildDirs(MG), ["a", "b"]);
    await assert.rejects(fs.removeDir(`${MG}/a`), code("ENOENT"));
    assert.deepEqual(await fs.readChildDirs(MG), ["b"]);
  });

  it("clearFaults resets every switch", async () => {
    const fs = MemFs.withResctrl({ mounted: false });
    fs.failMkdirWithEnospc(true);
    fs.denyPath("/proc/mounts");
    fs.pidGone(1);
    fs.setMountError("EPERM");
    fs.failNext("read", "/proc/filesystems", "EIO");
    fs.clearFaults();
    await fs.readToString("/proc/mounts");
    await fs.readToString("/proc/filesystems");
    await fs.mountResctrl(ROOT);
    await fs.createDir(`${MG}/a`);
    await fs.writeStr(`${MG}/a/tasks`, "1");
  });

  it("calls() counts per op and per path; log records data and errors", async () => {
    const fs = MemFs.withResctrl();
    await fs.createDir(`${MG}/a`);
    await fs.createDir(`${MG}/a`).catch(() => undefined);
    await fs.writeStr(`${MG}/a/tasks`, "12");
    assert.equal(fs.calls("mkdir"), 2);
    assert.equal(fs.calls("mkdir", `${MG}/a`), 2);
    assert.equal(fs.calls("mkdir", `${MG}/b`), 0);
    assert.deepEqual(fs.log.slice(-3), [
      { op: "mkdir", path: `${MG}/a` },
      { op: "mkdir", path: `${MG}/a`, error: "EEXIST" },
      { op: "write", path: `${MG}/a/tasks`, data: "12" },
    ]);
  });
});
