import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { memoryLogger } from "../../support/worlds/shared/log-capture.js";
import { overriding, rejectsWith } from "../../test/support/resctrl-helpers.js";
import { MemFs } from "../memfs/mem-fs.js";
import { IoError, NoPermissionError, NotMountedError, UnsupportedError } from "./errors.js";
import { decodeMountField, resctrlListedInFilesystems, resctrlMountPointsFromText } from "./mount.js";
import { Resctrl } from "./resctrl.js";

const ROOT = "/sys/fs/resctrl";

describe("Resctrl.detectSupport", () => {
  it("mounted, writable, monitoring at the configured root", async () => {
    const rc = Resctrl.withProvider(MemFs.withResctrl());
    assert.deepEqual(await rc.detectSupport(), {
      supported: true,
      mounted: true,
      mountPoint: "/sys/fs/resctrl",
      otherMountPoints: [],
      writable: true,
      monitoring: true,
    });
  });

  it("not mounted: everything false except supported", async () => {
    const info = await Resctrl.withProvider(MemFs.withResctrl({ mounted: false })).detectSupport();
    assert.deepEqual(info, {
      supported: true,
      mounted: false,
      otherMountPoints: [],
      writable: false,
      monitoring: false,
    });
  });

  it("kernel without resctrl: supported false", async () => {
    const info = await Resctrl.withProvider(
      MemFs.withResctrl({ mounted: false, supported: false }),
    ).detectSupport();
    assert.equal(info.supported, false);
    assert.equal(info.mounted, false);
  });

  it("resctrl mounted elsewhere does not count as mounted at root", async () => {
    const fs = MemFs.withResctrl({ root: "/mnt/other" });
    const rc = Resctrl.withProvider(fs, { root: "/sys/fs/resctrl" });
    const info = await rc.detectSupport();
    assert.equal(info.mounted, false);
    assert.equal(info.writable, false);
    assert.deepEqual(info.otherMountPoints, ["/mnt/other"]);
    await assert.rejects(
      rc.ensureMounted(false),
      (e: unknown) => e instanceof NotMountedError && /\/mnt\/other/.test(e.message),
    );
  });

  it("decodes octal escapes of /proc/mounts (root with a space)", async () => {
    const fs = MemFs.withResctrl({ root: "/mnt/res ctrl" });
    assert.match(fs.readFile("/proc/mounts"), /resctrl \/mnt\/res\\040ctrl resctrl/);
    const info = await Resctrl.withProvider(fs, { root: "/mnt/res ctrl" }).detectSupport();
    assert.equal(info.mounted, true);
    assert.equal(decodeMountField("a\\040b\\011c\\134d"), "a b\tc\\d");
    assert.deepEqual(resctrlMountPointsFromText("x /a\\040b resctrl rw 0 0\nshort line\n"), ["/a b"]);
  });

  it("tasks not writable: mounted but writable false", async () => {
    const fs = MemFs.withResctrl();
    fs.denyPath("/sys/fs/resctrl/tasks", ["write"]);
    const info = await Resctrl.withProvider(fs).detectSupport();
    assert.equal(info.mounted, true);
    assert.equal(info.writable, false);
  });

  it("no mon_groups: monitoring false", async () => {
    const fs = new MemFs();
    fs.addFile("/proc/filesystems", "nodev\tresctrl\n");
    fs.addFile("/proc/mounts", "resctrl /r resctrl rw 0 0\n");
    fs.addFile("/r/tasks", "");
    const info = await Resctrl.withProvider(fs, { root: "/r" }).detectSupport();
    assert.equal(info.mounted, true);
    assert.equal(info.writable, true);
    assert.equal(info.monitoring, false);
  });

  it("unreadable /proc/mounts or missing /proc/filesystems → IoError with the errno", async () => {
    const fs = MemFs.withResctrl();
    fs.denyPath("/proc/mounts", ["read"]);
    await assert.rejects(Resctrl.withProvider(fs).detectSupport(), (e: unknown) => {
      return e instanceof IoError && e.code === "EACCES" && e.path === "/proc/mounts";
    });
    await assert.rejects(Resctrl.withProvider(new MemFs()).detectSupport(), (e: unknown) => {
      return e instanceof IoError && e.code === "ENOENT" && e.path === "/proc/filesystems";
    });
  });

  it("honours custom /proc paths", async () => {
    const fs = new MemFs();
    fs.addFile("/fake/fs", "nodev\tresctrl\n");
    fs.addFile("/fake/mounts", "resctrl /r resctrl rw 0 0\n");
    fs.addFile("/r/tasks", "");
    const rc = Resctrl.withProvider(fs, {
      root: "/r",
      procMountsPath: "/fake/mounts",
      procFilesystemsPath: "/fake/fs",
    });
    assert.equal((await rc.detectSupport()).mounted, true);
  });

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
});

describe("Resctrl.ensureMounted", () => {
  it("already mounted: no-op, idempotent, never mounts", async () => {
    const fs = MemFs.withResctrl();
    const rc = Resctrl.withProvider(fs);
    await rc.ensureMounted(true);
    await rc.ensureMounted(false);
    assert.equal(fs.calls("mount"), 0);
  });

  it("not mounted and autoMount off → NotMountedError, no mount attempt", async () => {
    const fs = MemFs.withResctrl({ mounted: false });
    await assert.rejects(Resctrl.withProvider(fs).ensureMounted(false), NotMountedError);
    assert.equal(fs.calls("mount"), 0);
  });

  it("autoMount mounts at root; detection then reports mounted", async () => {
    const fs = MemFs.withResctrl({ mounted: false });
    const rc = Resctrl.withProvider(fs);
    await rc.ensureMounted(true);
    assert.equal(fs.calls("mount", "/sys/fs/resctrl"), 1);
    assert.equal((await rc.detectSupport()).mounted, true);
    await rc.ensureMounted(true);
    assert.equal(fs.calls("mount"), 1, "second call is a no-op");
  });

  it("kernel without resctrl → UnsupportedError before any mount attempt", async () => {
    const fs = MemFs.withResctrl({ mounted: false, supported: false });
    await assert.rejects(Resctrl.withProvider(fs).ensureMounted(true), UnsupportedError);
    assert.equal(fs.calls("mount"), 0);
  });

  it("maps mount errnos: EPERM/EACCES → NoPermission, ENODEV/EINVAL/ENOSYS/ENOTSUP → Unsupported, else Io", async () => {
    const cases: [string, new (...a: never[]) => Error][] = [
      ["EPERM", NoPermissionError],
      ["EACCES", NoPermissionError],
      ["ENODEV", UnsupportedError],
      ["EINVAL", UnsupportedError],
      ["ENOSYS", UnsupportedError],
      ["ENOTSUP", UnsupportedError],
      ["EBUSY", IoError],
      ["EIO", IoError],
    ];
    for (const [code, cls] of cases) {
      const fs = MemFs.withResctrl({ mounted: false });
      fs.setMountError(code);
      await assert.rejects(Resctrl.withProvider(fs).ensureMounted(true), (e: unknown) => {
        assert.ok(e instanceof cls, `${code} → ${String(e)}`);
        assert.equal((e as IoError).code, code);
        assert.equal((e as IoError).path, "/sys/fs/resctrl");
        return true;
      });
    }
  });

  it("a mount that succeeds without taking effect → IoError 'mount did not take effect'", async () => {
    const fs = MemFs.withResctrl({ mounted: false });
    const noop = overriding(fs, { mountResctrl: async () => undefined });
    await assert.rejects(
      Resctrl.withProvider(noop).ensureMounted(true),
      (e: unknown) => e instanceof IoError && /mount did not take effect/.test(e.message),
    );
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
});

describe("/proc/mounts and /proc/filesystems parsing", () => {
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
