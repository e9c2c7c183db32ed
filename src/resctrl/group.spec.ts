import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { groupWithLog, rejectsWith } from "../../test/support/resctrl-helpers.js";
import { MemFs } from "../memfs/mem-fs.js";
import {
  CapacityError,
  IoError,
  NoPermissionError,
  NotMountedError,
  OutsideRootError,
  RmidLimboError,
} from "./errors.js";
import { Resctrl } from "./resctrl.js";

const ROOT = "/sys/fs/resctrl";
const GROUP = `${ROOT}/mon_groups/pod_u1`;

function setup(opts: Parameters<typeof MemFs.withResctrl>[0] = {}) {
  const fs = MemFs.withResctrl(opts);
  return { fs, rc: Resctrl.withProvider(fs) };
}

describe("Resctrl.createGroup", () => {
  it("creates <root>/mon_groups/<prefix><uid> with its tasks file", async () => {
    const { fs, rc } = setup();
    const path = await rc.createGroup("abc-123");
    assert.equal(path, `${ROOT}/mon_groups/pod_abc-123`);
    assert.equal(fs.isDir(path), true);
    assert.equal(fs.readFile(`${path}/tasks`), "");
  });

  it("is idempotent: EEXIST counts as success", async () => {
    const { fs, rc } = setup();
    const a = await rc.createGroup("u1");
    const b = await rc.createGroup("u1");
    assert.equal(a, b);
    assert.equal(fs.calls("mkdir", a), 2);
  });

  it("EBUSY (no free RMID, some in limbo) → RmidLimboError, a CapacityError; ENOSPC once none is in limbo", async () => {
    const fs = MemFs.withResctrl({ rmidCapacity: 3, rmidLimboMs: Infinity });
    const rc = Resctrl.withProvider(fs, { groupPrefix: "pod_" });
    await rc.createGroup("a");
    await rc.createGroup("b");
    await rc.deleteGroup(`${ROOT}/mon_groups/pod_a`);
    const busy = await rc.createGroup("c").then(
      () => assert.fail("created"),
      (e: unknown) => e,
    );
    assert.ok(busy instanceof RmidLimboError && busy instanceof CapacityError);
    assert.equal(busy.code, "EBUSY");
    assert.equal(busy.kernelStatus, "Out of RMIDs");
    assert.match(busy.message, /no free RMID while freed ones are in limbo.*retry later/);
    fs.drainRmidLimbo();
    await rc.createGroup("c");
    await assert.rejects(
      rc.createGroup("d"),
      (e: unknown) => e instanceof CapacityError && !(e instanceof RmidLimboError) && e.code === "ENOSPC",
    );
  });

  it("works with any configured prefix", async () => {
    const fs = MemFs.withResctrl();
    const rc = Resctrl.withProvider(fs, { groupPrefix: "nri-x" });
    const path = await rc.createGroup("u1");
    assert.equal(path, `${ROOT}/mon_groups/nri-xu1`);
    assert.equal(fs.existsSync(`${path}/tasks`), true);
  });

  it("NotMountedError when the root is an unmounted (empty) directory", async () => {
    const { fs, rc } = setup({ mounted: false });
    await assert.rejects(rc.createGroup("u1"), NotMountedError);
    assert.equal(fs.calls("mkdir"), 0);
  });

  it("NotMountedError when mon_groups is missing even if tasks exists", async () => {
    const fs = new MemFs();
    fs.addFile(`${ROOT}/tasks`, "");
    await assert.rejects(Resctrl.withProvider(fs).createGroup("u1"), NotMountedError);
  });

  it("ENOSPC → CapacityError carrying the kernel's last_cmd_status", async () => {
    const { fs, rc } = setup({ rmidCapacity: 2 });
    await rc.createGroup("u1");
    await assert.rejects(rc.createGroup("u2"), (e: unknown) => {
      assert.ok(e instanceof CapacityError);
      assert.equal(e.code, "ENOSPC");
      assert.equal(e.kernelStatus, "Out of RMIDs");
      assert.match(e.message, /^failed to create monitor group .*pod_u2: ENOSPC/);
      return true;
    });
    assert.equal(fs.existsSync(`${ROOT}/mon_groups/pod_u2`), false);
  });

  it("EACCES/EPERM → NoPermissionError, other errnos → IoError with the code", async () => {
    const { fs, rc } = setup();
    fs.denyPath(rc.groupPathFor("u1"), ["mkdir"]);
    await assert.rejects(
      rc.createGroup("u1"),
      (e: unknown) => e instanceof NoPermissionError && e.code === "EACCES",
    );
    fs.failNext("mkdir", rc.groupPathFor("u2"), "EPERM");
    await assert.rejects(rc.createGroup("u2"), NoPermissionError);
    fs.failNext("mkdir", rc.groupPathFor("u3"), "ENAMETOOLONG");
    await assert.rejects(rc.createGroup("u3"), (e: unknown) => {
      return (
        e instanceof IoError &&
        e.code === "ENAMETOOLONG" &&
        e.path === rc.groupPathFor("u3") &&
        e.cause !== undefined
      );
    });
  });

  for (const [status, want] of [
    ["ok\n", undefined],
    ["\n", undefined],
    ["  Out of RMIDs \n", "Out of RMIDs"],
  ] as const) {
    it(`a failed mkdir reads last_cmd_status ${JSON.stringify(status)} as kernelStatus ${String(want)}`, async () => {
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

  it("on an unmounted root the NotMountedError names the missing leaf (tasks)", async () => {
    const rc = Resctrl.withProvider(MemFs.withResctrl({ mounted: false }));
    await rejectsWith(rc.createGroup("u1"), NotMountedError, { path: `${ROOT}/tasks` });
  });
});

describe("Resctrl.deleteGroup", () => {
  it("removes one of our groups; missing is fine (idempotent)", async () => {
    const { fs, rc } = setup();
    const path = await rc.createGroup("u1");
    await rc.deleteGroup(path);
    assert.equal(fs.existsSync(path), false);
    await rc.deleteGroup(path);
    assert.equal(fs.calls("rmdir", path), 2);
  });

  it("refuses anything but <root>/mon_groups/<prefix>* without touching the filesystem", async () => {
    const { fs, rc } = setup();
    const bad = [
      "/etc",
      ROOT,
      `${ROOT}/mon_groups`,
      `${ROOT}/mon_groups/pod_`,
      `${ROOT}/mon_groups/other_u1`,
      `${ROOT}/pod_u1`,
      `${ROOT}/mon_groups/pod_u1/mon_data`,
      `${ROOT}/mon_groups/pod_../../x`,
      `${ROOT}/mon_groups/../pod_u1`,
      `${ROOT}2/mon_groups/pod_u1`,
      "relative/mon_groups/pod_u1",
    ];
    for (const p of bad) await assert.rejects(rc.deleteGroup(p), OutsideRootError, p);
    assert.equal(fs.calls("rmdir"), 0);
  });

  it("EBUSY or EACCES from rmdir are mapped, not swallowed", async () => {
    const { fs, rc } = setup();
    const path = await rc.createGroup("u1");
    fs.failNext("rmdir", path, "EBUSY");
    await assert.rejects(rc.deleteGroup(path), (e: unknown) => e instanceof IoError && e.code === "EBUSY");
    fs.denyPath(path, ["rmdir"]);
    await assert.rejects(rc.deleteGroup(path), NoPermissionError);
    assert.equal(fs.existsSync(path), true);
  });

  it("the refusal names the refused path: an empty name, a foreign prefix, a child, a NUL byte, a same-length other root, null", async () => {
    const { fs, rc, group } = await groupWithLog();
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

  it("its errors and debug logs name the group", async () => {
    const { fs, rc, group, records } = await groupWithLog();
    fs.failNext("rmdir", group, "EBUSY");
    await rejectsWith(rc.deleteGroup(group), IoError, { path: group, code: "EBUSY" });
    await rc.deleteGroup(group);
    assert.ok(records.some((r) => r.msg === "removed monitor group" && r.path === group));
    assert.ok(
      records.some((r) => r.msg === "created monitor group" && r.path === group && r.podUid === "u1"),
    );
  });
});

describe("confinement of caller-given group paths to the root", () => {
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
    const { fs, rc } = await groupWithLog();
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
    const { rc, group } = await groupWithLog("/mnt/resctrl.");
    assert.equal(group, "/mnt/resctrl./mon_groups/pod_u1");
    await rc.assignTasks(group, [7]);
    assert.deepEqual(await rc.listGroupTasks(group), [7]);
  });
});
