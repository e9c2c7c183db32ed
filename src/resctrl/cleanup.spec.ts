import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { memoryLogger } from "../../support/worlds/shared/log-capture.js";
import { MemFs } from "../memfs/mem-fs.js";
import { IoError, NoPermissionError, NotMountedError } from "./errors.js";
import { Resctrl } from "./resctrl.js";

const ROOT = "/sys/fs/resctrl";
const MG = `${ROOT}/mon_groups`;

async function seeded() {
  const fs = MemFs.withResctrl();
  for (const d of ["pod_u1", "pod_u2", "custom_root", `pod_u1/mon_groups/pod_nested`])
    await fs.createDir(`${ROOT}/${d}`);
  for (const d of ["pod_u1", "pod_u3", "custom"]) await fs.createDir(`${MG}/${d}`);
  return { fs, rc: Resctrl.withProvider(fs) };
}

describe("Resctrl.cleanupAll", () => {
  it("removes prefix groups at root and root mon_groups, counts others, skips info/mon_data/mon_groups", async () => {
    const { fs, rc } = await seeded();
    const report = await rc.cleanupAll();
    assert.deepEqual(report, {
      removed: 4,
      removalFailures: 0,
      removalRace: 0,
      nonPrefixGroups: 2,
      errors: [],
    });
    assert.equal(fs.existsSync(`${ROOT}/custom_root`), true);
    assert.equal(fs.existsSync(`${MG}/custom`), true);
    for (const gone of [`${ROOT}/pod_u1`, `${ROOT}/pod_u2`, `${MG}/pod_u1`, `${MG}/pod_u3`]) {
      assert.equal(fs.existsSync(gone), false, gone);
    }
    for (const kept of ["info", "mon_data", "mon_groups"]) assert.equal(fs.isDir(`${ROOT}/${kept}`), true);
    assert.equal(fs.calls("rmdir", `${ROOT}/pod_u1/mon_groups/pod_nested`), 0, "never goes deeper");
  });

  it("counts failures and races, continues the sweep and records the failures", async () => {
    const { fs, rc } = await seeded();
    fs.denyPath(`${ROOT}/pod_u2`, ["rmdir"]);
    fs.vanishOnList(ROOT, "pod_u1");
    const report = await rc.cleanupAll();
    assert.equal(report.removed, 2);
    assert.equal(report.removalFailures, 1);
    assert.equal(report.removalRace, 1);
    assert.equal(report.nonPrefixGroups, 2);
    assert.equal(report.errors.length, 1);
    assert.match(report.errors[0] ?? "", /pod_u2: EACCES/);
  });

  it("a mon_groups listing failure after the root sweep keeps the root counts", async () => {
    const { fs, rc } = await seeded();
    fs.denyPath(MG, ["list"]);
    const report = await rc.cleanupAll();
    assert.equal(report.removed, 2);
    assert.equal(report.nonPrefixGroups, 1);
    assert.equal(report.errors.length, 1);
    assert.match(report.errors[0] ?? "", /mon_groups: EACCES/);
  });

  it("a root listing failure throws (nothing removed)", async () => {
    const { fs, rc } = await seeded();
    fs.denyPath(ROOT, ["list"]);
    await assert.rejects(rc.cleanupAll(), (e: unknown) => e instanceof NoPermissionError && e.path === ROOT);
    fs.allowPath(ROOT);
    fs.failNext("list", ROOT, "EIO");
    await assert.rejects(rc.cleanupAll(), IoError);
    assert.equal(fs.calls("rmdir"), 0);
  });

  it("not mounted → NotMountedError", async () => {
    const fs = MemFs.withResctrl({ mounted: false });
    await assert.rejects(Resctrl.withProvider(fs).cleanupAll(), NotMountedError);
  });

  it("without mon_groups (no monitoring) the root sweep still works", async () => {
    const fs = new MemFs();
    fs.addFile(`${ROOT}/tasks`, "");
    fs.addDir(`${ROOT}/pod_a`);
    fs.addDir(`${ROOT}/keep`);
    fs.addFile(`${ROOT}/pod_file`, "");
    const report = await Resctrl.withProvider(fs).cleanupAll();
    assert.deepEqual(report, {
      removed: 1,
      removalFailures: 0,
      removalRace: 0,
      nonPrefixGroups: 1,
      errors: [],
    });
    assert.equal(fs.existsSync(`${ROOT}/pod_file`), true, "files are ignored");
  });

  it("only the configured prefix is touched", async () => {
    const { fs } = await seeded();
    const report = await Resctrl.withProvider(fs, { groupPrefix: "custom" }).cleanupAll();
    assert.equal(report.removed, 2);
    assert.equal(fs.existsSync(`${MG}/pod_u1`), true);
  });

  it("failure entries carry the errno name; the sweep logs its counts", async () => {
    const { logger, records: lines } = memoryLogger("info");
    const fs = MemFs.withResctrl({ root: ROOT });
    const rc = Resctrl.withProvider(fs, { root: ROOT, logger });
    await rc.createGroup("a");
    await rc.createGroup("b");
    fs.failNext("rmdir", `${ROOT}/mon_groups/pod_a`, "EBUSY");
    const r = await rc.cleanupAll();
    assert.deepEqual(r.errors, [`failed to remove group ${ROOT}/mon_groups/pod_a: EBUSY`]);
    assert.equal(r.removed, 1);
    const log = lines.find((l) => l["msg"] === "cleaned up stale groups");
    assert.equal(log?.["removed"], 1);
    assert.equal(log?.["removalFailures"], 1);
    assert.equal(log?.["errors"], 1);
  });

  it("a mon_groups listing failure is recorded with its errno name", async () => {
    const fs = MemFs.withResctrl({ root: ROOT });
    const rc = Resctrl.withProvider(fs, { root: ROOT });
    fs.failNext("list", `${ROOT}/mon_groups`, "EIO");
    const r = await rc.cleanupAll();
    assert.deepEqual(r.errors, [`failed to list groups in ${ROOT}/mon_groups: EIO`]);
  });

  it("not mounted: the error names the root as its path", async () => {
    const fs = MemFs.withResctrl({ root: ROOT, mounted: false });
    const rc = Resctrl.withProvider(fs, { root: ROOT });
    await assert.rejects(rc.cleanupAll(), (e: unknown) => {
      assert.ok(e instanceof NotMountedError);
      assert.equal(e.path, ROOT);
      return true;
    });
  });
});
