import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { groupWithLog, overriding, rejectsWith } from "../../test/support/resctrl-helpers.js";
import { MemFs } from "../memfs/mem-fs.js";
import { IoError, NoPermissionError, OutsideRootError } from "./errors.js";
import type { FsProvider } from "./provider.js";
import { Resctrl } from "./resctrl.js";

async function setup() {
  const fs = MemFs.withResctrl({ l3Domains: ["mon_L3_00", "mon_L3_01"] });
  const rc = Resctrl.withProvider(fs);
  const group = await rc.createGroup("u1");
  return { fs, rc, group };
}

describe("Resctrl.llcOccupancy", () => {
  it("reads every mon_L3_* domain, sorted", async () => {
    const { fs, rc, group } = await setup();
    fs.addFile(`${group}/mon_data/mon_L3_00/llc_occupancy`, "123\n");
    fs.addFile(`${group}/mon_data/mon_L3_01/llc_occupancy`, "456\n");
    assert.deepEqual(await rc.llcOccupancy(group), [
      { domainId: "mon_L3_00", bytes: 123 },
      { domainId: "mon_L3_01", bytes: 456 },
    ]);
  });

  it("skips non-L3 directories", async () => {
    const { fs, rc, group } = await setup();
    fs.addFile(`${group}/mon_data/info/llc_occupancy`, "9");
    fs.addFile(`${group}/mon_data/mon_MB_00/llc_occupancy`, "9");
    assert.deepEqual(
      (await rc.llcOccupancy(group)).map((r) => r.domainId),
      ["mon_L3_00", "mon_L3_01"],
    );
  });

  it("Unavailable / Error values are reported per domain without failing the read", async () => {
    const { fs, rc, group } = await setup();
    fs.addFile(`${group}/mon_data/mon_L3_00/llc_occupancy`, "Unavailable\n");
    fs.addFile(`${group}/mon_data/mon_L3_01/llc_occupancy`, "Error\n");
    assert.deepEqual(await rc.llcOccupancy(group), [
      { domainId: "mon_L3_00", bytes: null, status: "Unavailable" },
      { domainId: "mon_L3_01", bytes: null, status: "Error" },
    ]);
  });

  it("a domain vanishing between listing and reading is skipped", async () => {
    const { fs, rc, group } = await setup();
    fs.vanishOnList(`${group}/mon_data`, "mon_L3_01");
    assert.deepEqual(await rc.llcOccupancy(group), [{ domainId: "mon_L3_00", bytes: 0 }]);
  });

  it("listing and read errors are mapped", async () => {
    const { fs, rc, group } = await setup();
    fs.denyPath(`${group}/mon_data/mon_L3_01/llc_occupancy`, ["read"]);
    await assert.rejects(rc.llcOccupancy(group), NoPermissionError);
    await assert.rejects(
      rc.llcOccupancy(`${group}x`),
      (e: unknown) => e instanceof IoError && e.code === "ENOENT",
    );
    await assert.rejects(rc.llcOccupancy("/elsewhere"), OutsideRootError);
  });

  it("llc_occupancy other than a decimal integer is reported as text, not as bytes", async () => {
    for (const text of ["1e3", "0x10", "12 bytes"]) {
      const { fs, rc, group } = await groupWithLog();
      fs.addFile(`${group}/mon_data/mon_L3_00/llc_occupancy`, `${text}\n`);
      fs.addFile(`${group}/mon_data/mon_L3_01/llc_occupancy`, "8\n");
      assert.deepEqual(await rc.llcOccupancy(group), [
        { domainId: "mon_L3_00", bytes: null, status: text },
        { domainId: "mon_L3_01", bytes: 8 },
      ]);
    }
  });

  it("domains come back sorted even when the provider lists them in another order", async () => {
    const fs = MemFs.withResctrl({ l3Domains: ["mon_L3_00", "mon_L3_01"] });
    const reversed: FsProvider = overriding(fs, {
      readChildDirs: async (dir: string) => (await fs.readChildDirs(dir)).reverse(),
    });
    const rc = Resctrl.withProvider(reversed);
    const group = await rc.createGroup("u1");
    fs.addFile(`${group}/mon_data/mon_L3_00/llc_occupancy`, "1\n");
    fs.addFile(`${group}/mon_data/mon_L3_01/llc_occupancy`, "2\n");
    assert.deepEqual(
      (await rc.llcOccupancy(group)).map((r) => r.domainId),
      ["mon_L3_00", "mon_L3_01"],
    );
  });

  it("occupancy listing and read failures name the file", async () => {
    const { fs, rc, group } = await groupWithLog();
    fs.failNext("list", `${group}/mon_data`, "EIO");
    await rejectsWith(rc.llcOccupancy(group), IoError, { path: `${group}/mon_data`, code: "EIO" });
    fs.failNext("read", `${group}/mon_data/mon_L3_01/llc_occupancy`, "EACCES");
    await rejectsWith(rc.llcOccupancy(group), NoPermissionError, {
      path: `${group}/mon_data/mon_L3_01/llc_occupancy`,
    });
  });
});
