import { strict as assert } from "node:assert";
import { mkdtemp, mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { errnoCode } from "./errors.js";
import { RealFs, mountFailureCode } from "./real-fs.js";

describe("RealFs", () => {
  let dir = "";
  const fs = new RealFs();
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "realfs-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("exists reports files and dirs and never rejects", async () => {
    await writeFile(join(dir, "f"), "x");
    assert.equal(await fs.exists(join(dir, "f")), true);
    assert.equal(await fs.exists(dir), true);
    assert.equal(await fs.exists(join(dir, "nope", "deeper")), false);
  });

  it("createDir is one level: EEXIST when present, ENOENT when the parent is missing", async () => {
    await fs.createDir(join(dir, "g1"));
    await assert.rejects(fs.createDir(join(dir, "g1")), (e) => errnoCode(e) === "EEXIST");
    await assert.rejects(fs.createDir(join(dir, "a", "b")), (e) => errnoCode(e) === "ENOENT");
  });

  it("removeDir: ENOENT when missing, ENOTEMPTY with children", async () => {
    await mkdir(join(dir, "r1", "child"), { recursive: true });
    await assert.rejects(fs.removeDir(join(dir, "r1")), (e) => errnoCode(e) === "ENOTEMPTY");
    await fs.removeDir(join(dir, "r1", "child"));
    await fs.removeDir(join(dir, "r1"));
    await assert.rejects(fs.removeDir(join(dir, "r1")), (e) => errnoCode(e) === "ENOENT");
  });

  it("writeStr overwrites in place without truncating or creating", async () => {
    const p = join(dir, "tasks");
    await writeFile(p, "abcdef");
    await fs.writeStr(p, "12");
    assert.equal(await readFile(p, "utf8"), "12cdef", "no O_TRUNC, no O_APPEND: bytes written at offset 0");
    await assert.rejects(fs.writeStr(join(dir, "missing"), "1"), (e) => errnoCode(e) === "ENOENT");
    assert.equal(await fs.exists(join(dir, "missing")), false, "no O_CREAT");
  });

  it("readToString and checkCanOpenForWrite", async () => {
    const p = join(dir, "r");
    await writeFile(p, "hello\n");
    assert.equal(await fs.readToString(p), "hello\n");
    await fs.checkCanOpenForWrite(p);
    assert.equal(await fs.readToString(p), "hello\n", "check does not truncate");
    await assert.rejects(fs.checkCanOpenForWrite(join(dir, "nope")), (e) => errnoCode(e) === "ENOENT");
    await assert.rejects(fs.readToString(join(dir, "nope")), (e) => errnoCode(e) === "ENOENT");
  });

  it("readChildDirs lists directories only, not files or symlinks", async () => {
    const base = join(dir, "list");
    await mkdir(join(base, "d1"), { recursive: true });
    await mkdir(join(base, "d2"));
    await writeFile(join(base, "file"), "");
    await symlink(join(base, "d1"), join(base, "link"));
    assert.deepEqual((await fs.readChildDirs(base)).sort(), ["d1", "d2"]);
    await assert.rejects(fs.readChildDirs(join(dir, "nope")), (e) => errnoCode(e) === "ENOENT");
  });

  it("mountResctrl creates the leaf and maps a failing mount (no resctrl here) to ENODEV", async () => {
    const target = join(dir, "mnt");
    await assert.rejects(fs.mountResctrl(target), (e: unknown) => {
      assert.equal(errnoCode(e), "ENODEV", String(e));
      assert.match(String((e as Error).message), /unknown filesystem type/);
      return true;
    });
    assert.equal(await fs.exists(target), true, "leaf directory created");
    await assert.rejects(fs.mountResctrl(join(dir, "no", "parent")), (e) => errnoCode(e) === "ENOENT");
  });

  it("mountResctrl with a missing mount binary rejects with an errno code", async () => {
    const broken = new RealFs({ mountCommand: join(dir, "no-such-mount") });
    await assert.rejects(broken.mountResctrl(join(dir, "mnt2")), (e) => errnoCode(e) === "ENOENT");
  });

  it("mountFailureCode maps mount(8) texts", () => {
    assert.equal(mountFailureCode("mount: /x: permission denied."), "EACCES");
    assert.equal(mountFailureCode('mount: only root can use "--types" option'), "EPERM");
    assert.equal(mountFailureCode("mount: /x: must be superuser to use mount."), "EPERM");
    assert.equal(mountFailureCode("mount: /x: unknown filesystem type 'resctrl'."), "ENODEV");
    assert.equal(mountFailureCode("mount: /x: resctrl already mounted on /sys/fs/resctrl."), "EBUSY");
    assert.equal(mountFailureCode("mount: /x: target is busy."), "EBUSY");
    assert.equal(mountFailureCode("something odd"), "EIO");
    assert.equal(mountFailureCode("", "ENOENT"), "ENOENT");
  });
});
