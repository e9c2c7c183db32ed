// Resctrl, the resctrl layer's facade: its construction (config validation, defaults) and the
// whole layer over RealFs on a temp dir laid out like a mounted resctrl (plain files, no kernel).
import { strict as assert } from "node:assert";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Logger } from "pino";
import { MemFs } from "../memfs/mem-fs.js";
import { InvalidConfigError, IoError, NotMountedError, UnsupportedError } from "./errors.js";
import { RealFs } from "./real-fs.js";
import { Resctrl } from "./resctrl.js";

/** Resctrl over RealFs on a temp dir laid out like a mounted resctrl (plain files, no kernel). */
describe("Resctrl over RealFs (temp-dir fixture)", () => {
  let dir = "";
  let root = "";
  let rc: Resctrl;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "resctrl-real-"));
    root = join(dir, "res ctrl");
    await mkdir(join(root, "info"), { recursive: true });
    await mkdir(join(root, "mon_groups", "pod_old"), { recursive: true });
    await mkdir(join(root, "mon_groups", "foreign"), { recursive: true });
    await mkdir(join(root, "mon_data", "mon_L3_00"), { recursive: true });
    await writeFile(join(root, "tasks"), "");
    await writeFile(join(root, "info", "last_cmd_status"), "ok\n");
    await writeFile(join(root, "mon_data", "mon_L3_00", "llc_occupancy"), "4096\n");
    await writeFile(join(dir, "filesystems"), "nodev\tsysfs\nnodev\tresctrl\n");
    await writeFile(join(dir, "mounts"), `resctrl ${root.replace(/ /g, "\\040")} resctrl rw 0 0\n`);
    rc = Resctrl.real({
      root,
      procMountsPath: join(dir, "mounts"),
      procFilesystemsPath: join(dir, "filesystems"),
    });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("detects the (escaped) mount at root, writable, with monitoring", async () => {
    const info = await rc.detectSupport();
    assert.deepEqual(
      [info.supported, info.mounted, info.writable, info.monitoring],
      [true, true, true, true],
    );
    await rc.ensureMounted(false);
  });

  it("creates and deletes a real directory; assigning to a group without tasks file is IoError ENOENT", async () => {
    const path = await rc.createGroup("u-1");
    assert.equal(path, join(root, "mon_groups", "pod_u-1"));
    await assert.rejects(
      rc.assignTasks(path, [1]),
      (e: unknown) => e instanceof IoError && e.code === "ENOENT",
    );
    await writeFile(join(path, "tasks"), "");
    assert.deepEqual(await rc.assignTasks(path, [42]), {
      assigned: 1,
      missing: 0,
      foreign: 0,
      denied: 0,
      failedPids: [],
    });
    assert.equal(await readFile(join(path, "tasks"), "utf8"), "42");
    assert.deepEqual(await rc.listGroupTasks(path), [42]);
  });

  it("reads occupancy and cleans up only prefixed groups", async () => {
    assert.deepEqual(await rc.llcOccupancy(root), [{ domainId: "mon_L3_00", bytes: 4096 }]);
    const report = await rc.cleanupAll();
    assert.equal(report.nonPrefixGroups, 1);
    assert.equal(report.removed, 1, "pod_old (empty) removed");
    assert.equal(report.removalFailures, 1, "pod_u-1 holds a plain tasks file: ENOTEMPTY on a normal fs");
    assert.match(report.errors[0] ?? "", /ENOTEMPTY/);
  });

  it("unsupported and unmounted states from the /proc fixtures", async () => {
    await writeFile(join(dir, "filesystems"), "nodev\tsysfs\n");
    await writeFile(join(dir, "mounts"), "");
    await assert.rejects(rc.ensureMounted(true), UnsupportedError);
    await writeFile(join(dir, "filesystems"), "nodev\tresctrl\n");
    await assert.rejects(rc.ensureMounted(false), NotMountedError);
  });
});

describe("Resctrl construction", () => {
  it("Resctrl.real builds a RealFs-backed handle with the defaults", () => {
    const rc = Resctrl.real();
    assert.equal(rc.root, "/sys/fs/resctrl");
    assert.ok(rc.provider instanceof RealFs);
  });

  it("non-string /proc paths are an InvalidConfigError, not a TypeError", () => {
    for (const key of ["procMountsPath", "procFilesystemsPath"]) {
      assert.throws(() => Resctrl.withProvider(new MemFs(), { [key]: 42 }), InvalidConfigError);
    }
  });

  it("the default logger is silent (white-box: reads the private context)", () => {
    const ctx = Reflect.get(Resctrl.withProvider(new MemFs()), "ctx") as { logger: Logger };
    assert.equal(ctx.logger.level, "silent");
  });
});
