// Behaviour of the resctrl kernel-filesystem layer that no other spec pinned (written against
// mutation testing survivors; docs/testing.md): which last_cmd_status texts count as a kernel
// explanation, RealFs against a fake mount(8) script (success, stdout/stderr text, ENOTDIR target,
// mkdir error kept, spawn failure), the short-write check (RLIMIT_FSIZE via prlimit(1)), no leaked
// file handle, the errno helpers on odd inputs, /proc parsing tolerance, the exact messages, paths
// and log fields of detectSupport/ensureMounted/createGroup, and config validation of non-strings.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Logger } from "pino";
import * as errors from "../src/resctrl/errors.js";
import { resctrlListedInFilesystems, resctrlMountPointsFromText } from "../src/resctrl/mount.js";
import { RealFs, Resctrl, mountFailureCode } from "../src/resctrl/index.js";
import { MemFs } from "../src/testing/index.js";
import { memoryLogger } from "../support/worlds/mock/memory-logger.js";
import { overriding, rejectsWith } from "./resctrl-helpers.js";

const { IoError, NoPermissionError, NotMountedError, UnsupportedError, InvalidConfigError } = errors;
const ROOT = "/sys/fs/resctrl";
const GROUP = `${ROOT}/mon_groups/pod_u1`;

describe("kernel status after a failed mkdir", () => {
  for (const [status, want] of [
    ["ok\n", undefined],
    ["\n", undefined],
    ["  Out of RMIDs \n", "Out of RMIDs"],
  ] as const) {
    it(`last_cmd_status ${JSON.stringify(status)} → kernelStatus ${String(want)}`, async () => {
      const fs = MemFs.withResctrl();
      fs.addFile(`${ROOT}/info/last_cmd_status`, status);
      fs.denyPath(GROUP, ["mkdir"]);
      await assert.rejects(Resctrl.withProvider(fs).createGroup("u1"), (e: unknown) => {
        assert.ok(e instanceof NoPermissionError);
        assert.equal(e.kernelStatus, want);
        assert.equal(e.message.includes("(kernel:"), want !== undefined);
        return true;
      });
    });
  }
});

describe("RealFs with a fake mount(8)", () => {
  let dir = "";
  let n = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "resctrl-survivors-"));
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
    await assert.rejects(fs.mountResctrl(target), (e) => errors.errnoCode(e) === "ENOTDIR");
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
      assert.equal(errors.errnoCode(e), "EPERM");
      assert.match(e.message, /failed: mount: only root can do that,/);
      return true;
    });
  });

  it("a mount command execa cannot even start (not a string) → EIO 'cannot run'", async () => {
    const fs = new RealFs({ mountCommand: 42 as unknown as string });
    await assert.rejects(fs.mountResctrl(join(dir, "mnt-bad")), (e: Error) => {
      assert.equal(errors.errnoCode(e), "EIO");
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
        assert.equal(errors.errnoCode(e), "EIO");
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

describe("errno helpers on odd inputs", () => {
  it("errnoCode: a function, a non-string code or a non-errno E-code is no errno", () => {
    assert.equal(errors.errnoCode(Object.assign(() => 0, { code: "EIO" })), undefined);
    assert.equal(errors.errnoCode({ code: ["EIO"] }), undefined);
    assert.equal(errors.errnoCode({ code: "ERR_CHILD_PROCESS_STDIO_MAXBUFFER" }), undefined);
  });

  it("errnoNumber never throws and only returns numbers", () => {
    assert.equal(errors.errnoNumber(null), undefined);
    assert.equal(errors.errnoNumber(undefined), undefined);
    assert.equal(errors.errnoNumber({ errno: "5" }), undefined);
    assert.equal(errors.errnoNumber({ errno: -5 }), -5);
  });

  it("errorMessage: an Error's message, String() of anything else", () => {
    assert.equal(errors.errorMessage(new Error("m")), "m");
    assert.equal(errors.errorMessage("s"), "s");
    assert.equal(errors.errorMessage(42), "42");
  });

  it("mapFsError names the errno, or the message of a non-errno error", () => {
    const site = { verb: "create", object: "monitor group", id: "g", path: "/r/g" };
    const busy = errors.mapFsError(errors.errnoError("EBUSY", "x"), site);
    assert.equal(busy.message, "failed to create monitor group g: EBUSY at /r/g");
    assert.equal(
      errors.mapFsError(new Error("weird"), site).message,
      "failed to create monitor group g: weird at /r/g",
    );
  });

  it("errnoError sets errno and path only when known; no cause property without a cause", () => {
    const e = errors.errnoError("EWEIRD", "x");
    assert.equal(Object.hasOwn(e, "errno"), false);
    assert.equal(Object.hasOwn(e, "path"), false);
    assert.equal(Object.hasOwn(new IoError("m"), "cause"), false);
    assert.equal(new IoError("m", { cause: 0 }).cause, 0);
  });
});

describe("/proc parsing tolerance", () => {
  it("mount lines with leading blanks, runs of blanks or only three fields", () => {
    const text = "  resctrl /a resctrl rw 0 0\nresctrl  /b\tresctrl rw 0 0\nresctrl /c resctrl\n";
    assert.deepEqual(resctrlMountPointsFromText(text), ["/a", "/b", "/c"]);
  });

  it("filesystems: trailing blanks and a line without 'nodev'", () => {
    assert.equal(resctrlListedInFilesystems("nodev\tproc\nnodev\tresctrl \n"), true);
    assert.equal(resctrlListedInFilesystems("\text4\n\tresctrl\n"), true);
    assert.equal(resctrlListedInFilesystems("nodev\tresctrl2\n"), false);
  });
});

describe("detectSupport / ensureMounted / createGroup context", () => {
  it("an unreadable /proc file's message names the errno", async () => {
    const fs = MemFs.withResctrl();
    fs.denyPath("/proc/mounts", ["read"]);
    const message = "failed to read mount table /proc/mounts: EACCES";
    await rejectsWith(Resctrl.withProvider(fs).detectSupport(), IoError, { message });
  });

  it("a resctrl-looking root that /proc/mounts does not list is not probed", async () => {
    const fs = new MemFs();
    fs.addFile("/proc/filesystems", "nodev\tresctrl\n");
    fs.addFile("/proc/mounts", "proc /proc proc rw 0 0\n");
    fs.addFile("/r/tasks", "");
    fs.addDir("/r/mon_groups");
    const info = await Resctrl.withProvider(fs, { root: "/r" }).detectSupport();
    assert.equal(info.writable, false);
    assert.equal(info.monitoring, false);
    assert.equal(fs.calls("checkWrite"), 0);
  });

  it("an unwritable root tasks file is logged at debug with root and errno", async () => {
    const { logger, records } = memoryLogger("debug");
    const fs = MemFs.withResctrl();
    fs.denyPath(`${ROOT}/tasks`, ["write"]);
    await Resctrl.withProvider(fs, { logger }).detectSupport();
    const rec = records.find((r) => r.msg === "resctrl root tasks not writable");
    assert.equal(rec?.root, ROOT);
    assert.equal((rec?.err as { code?: string } | undefined)?.code, "EACCES");
  });

  it("unsupported and not-mounted errors carry the root and an exact message", async () => {
    const unsupported = MemFs.withResctrl({ mounted: false, supported: false });
    await rejectsWith(Resctrl.withProvider(unsupported).ensureMounted(true), UnsupportedError, {
      path: ROOT,
    });
    const off = Resctrl.withProvider(MemFs.withResctrl({ mounted: false })).ensureMounted(false);
    await rejectsWith(off, NotMountedError, {
      path: ROOT,
      message: `failed to use resctrl ${ROOT}: not mounted there and auto-mount is off`,
    });
  });

  it("mount failures: errno or the error's text in the message; a no-op mount names the root", async () => {
    const busy = MemFs.withResctrl({ mounted: false });
    busy.setMountError("EBUSY");
    const message = `failed to mount resctrl ${ROOT}: EBUSY`;
    await rejectsWith(Resctrl.withProvider(busy).ensureMounted(true), IoError, { message });
    const boom = overriding(MemFs.withResctrl({ mounted: false }), {
      mountResctrl: async () => {
        throw new Error("boom");
      },
    });
    await rejectsWith(Resctrl.withProvider(boom).ensureMounted(true), IoError, {
      message: `failed to mount resctrl ${ROOT}: Error: boom`,
      code: undefined,
    });
    const noop = overriding(MemFs.withResctrl({ mounted: false }), { mountResctrl: async () => undefined });
    await rejectsWith(Resctrl.withProvider(noop).ensureMounted(true), IoError, { path: ROOT });
  });

  it("a successful mount is logged at info with the root", async () => {
    const { logger, records } = memoryLogger("info");
    await Resctrl.withProvider(MemFs.withResctrl({ mounted: false }), { logger }).ensureMounted(true);
    assert.equal(records.find((r) => r.msg === "mounted resctrl")?.root, ROOT);
  });

  it("createGroup on an unmounted root names the missing leaf", async () => {
    const rc = Resctrl.withProvider(MemFs.withResctrl({ mounted: false }));
    await rejectsWith(rc.createGroup("u1"), NotMountedError, { path: `${ROOT}/tasks` });
  });
});

describe("Resctrl config", () => {
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
