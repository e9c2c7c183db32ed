import { strict as assert } from "node:assert";
import { execFileSync, spawnSync } from "node:child_process";
import { chmod, mkdtemp, mkdir, readFile, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { errnoCode } from "./errors.js";
import { RealFs, mountFailureCode } from "./real-fs.js";
import { newMapsAdding } from "../../test/support/v8-maps.js";

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

  it("readToStringSync closes its file descriptor, also when the read fails (EISDIR)", async () => {
    await writeFile(join(dir, "fd-small"), "7\n");
    await mkdir(join(dir, "fd-dir"), { recursive: true });
    const open = (): number => readdirSync("/proc/self/fd").length;
    const before = open();
    for (let i = 0; i < 20; i++) {
      fs.readToStringSync(join(dir, "fd-small"));
      assert.throws(() => fs.readToStringSync(join(dir, "fd-dir")));
    }
    assert.equal(open(), before);
  });

  it("readToStringSync / readChildDirsSync: the same answers and errno errors as the async pair", async () => {
    const big = "x".repeat(10_000) + "\n";
    await writeFile(join(dir, "small"), "42\n");
    await writeFile(join(dir, "big"), big);
    await writeFile(join(dir, "empty"), "");
    await mkdir(join(dir, "sd", "d1"), { recursive: true });
    await writeFile(join(dir, "sd", "f"), "");
    assert.equal(fs.readToStringSync(join(dir, "small")), "42\n");
    assert.equal(fs.readToStringSync(join(dir, "big")), big, "more than one 4 KiB read");
    assert.equal(fs.readToStringSync(join(dir, "empty")), "");
    assert.throws(
      () => fs.readToStringSync(join(dir, "nope")),
      (e) => errnoCode(e) === "ENOENT",
    );
    assert.throws(
      () => fs.readToStringSync(join(dir, "sd")),
      (e) => errnoCode(e) === "EISDIR",
    );
    assert.deepEqual(fs.readChildDirsSync(join(dir, "sd")), await fs.readChildDirs(join(dir, "sd")));
    assert.deepEqual(fs.readChildDirsSync(join(dir, "sd")), ["d1"]);
    assert.throws(
      () => fs.readChildDirsSync(join(dir, "nope")),
      (e) => errnoCode(e) === "ENOENT",
    );
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

describe("RealFs text reads", () => {
  it("readToString creates no hidden class per read (Node 20 does for a string encoding)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "realfs-maps-"));
    try {
      const file = join(dir, "llc_occupancy");
      await writeFile(file, "4096\n");
      const reads = 400;
      const moduleUrl = new URL("./real-fs.js", import.meta.url).href;
      const maps = newMapsAdding(
        [
          `const { RealFs } = await import(${JSON.stringify(moduleUrl)});`,
          `const fs = new RealFs();`,
          `for (let i = 0; i < ${reads}; i++) await fs.readToString(${JSON.stringify(file)});`,
        ],
        "encoding",
      );
      assert.ok(maps < reads / 4, `${maps} new maps for an encoding option in ${reads} reads`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("RealFs.mountResctrl with a fake mount(8)", () => {
  let dir = "";

  let n = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "fake-mount-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A RealFs whose mount command is a shell script running `body`; `calls()` = its argv lines. */

  async function fakeMount(body: string) {
    const script = join(dir, `mount-${++n}.sh`);
    await writeFile(script, `#!/bin/sh\necho "$@" >> "$0.calls"\n${body}\n`);
    await chmod(script, 0o755);
    const calls = async () =>
      (await readFile(`${script}.calls`, "utf8").catch(() => "")).split("\n").filter(Boolean);
    return { fs: new RealFs({ mountCommand: script }), calls, target: join(dir, `mnt-${n}`) };
  }

  it("a succeeding mount resolves, also on an existing directory target", async () => {
    const { fs, calls, target } = await fakeMount("exit 0");
    await fs.mountResctrl(target);
    await fs.mountResctrl(target);
    assert.deepEqual(await calls(), [`-t resctrl resctrl ${target}`, `-t resctrl resctrl ${target}`]);
  });

  it("a regular file as target → ENOTDIR, mount never run", async () => {
    const { fs, calls, target } = await fakeMount("exit 0");
    await writeFile(target, "");
    await assert.rejects(fs.mountResctrl(target), (e) => errnoCode(e) === "ENOTDIR");
    assert.deepEqual(await calls(), []);
  });

  it("a missing parent → the mkdir's own ENOENT (syscall mkdir), mount never run", async () => {
    const { fs, calls } = await fakeMount("exit 0");
    await assert.rejects(fs.mountResctrl(join(dir, "no", "parent")), (e: NodeJS.ErrnoException) => {
      assert.equal(e.code, "ENOENT");
      assert.equal(e.syscall, "mkdir");
      return true;
    });
    assert.deepEqual(await calls(), []);
  });

  it("failure text: stderr trimmed into the message; stdout alone is mapped too", async () => {
    const a = await fakeMount('echo "mount: boom" >&2; exit 32');
    await assert.rejects(a.fs.mountResctrl(a.target), (e: Error) => {
      assert.equal(e.message, `EIO: mount -t resctrl failed: mount: boom, '${a.target}'`);
      return true;
    });
    const b = await fakeMount('echo "mount: only root can do that"; exit 1');
    await assert.rejects(b.fs.mountResctrl(b.target), (e: Error) => {
      assert.equal(errnoCode(e), "EPERM");
      assert.match(e.message, /failed: mount: only root can do that,/);
      return true;
    });
  });

  it("a mount command execa cannot even start (not a string) → EIO 'cannot run'", async () => {
    const fs = new RealFs({ mountCommand: 42 as unknown as string });
    await assert.rejects(fs.mountResctrl(join(dir, "mnt-bad")), (e: Error) => {
      assert.equal(errnoCode(e), "EIO");
      assert.match(e.message, /cannot run 42: /);
      return true;
    });
  });

  it("writeStr closes its file handle", async () => {
    const p = join(dir, "tasks");
    await writeFile(p, "");
    const before = (await readdir("/proc/self/fd")).length;
    await new RealFs().writeStr(p, "1");
    assert.equal((await readdir("/proc/self/fd")).length, before);
  });

  const noPrlimit = spawnSync("prlimit", ["--version"]).status !== 0 && "prlimit(1) not installed";

  it("a short write (RLIMIT_FSIZE) is an EIO, not a silent success", { skip: noPrlimit }, async () => {
    const p = join(dir, "big");
    await writeFile(p, "");
    const limit = (soft: string) => execFileSync("prlimit", [`--pid=${process.pid}`, `--fsize=${soft}:`]);
    // libuv retries the rest of a partial write; that retry gets EFBIG plus SIGXFSZ, whose default
    // action (restored by execa's signal-exit) kills the process: a listener keeps it harmless.
    const ignore = () => undefined;
    process.on("SIGXFSZ", ignore);
    limit("1024");
    try {
      await assert.rejects(new RealFs().writeStr(p, "x".repeat(3000)), (e: Error) => {
        assert.equal(errnoCode(e), "EIO");
        assert.match(e.message, /short write \(1024 of 3000 bytes\)/);
        return true;
      });
    } finally {
      limit("unlimited");
      process.off("SIGXFSZ", ignore);
    }
  });

  it("mountFailureCode: only a whole errno name is a spawn code; 'invalid argument' → EINVAL", () => {
    assert.equal(mountFailureCode("permission denied", "ERR_CHILD_PROCESS_STDIO_MAXBUFFER"), "EACCES");
    assert.equal(mountFailureCode("mount: /x: wrong fs type: invalid argument"), "EINVAL");
  });
});
