import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { errnoCode } from "../resctrl/errors.js";
import { MemFs, type MemFsResctrlOptions } from "./mem-fs.js";

const ROOT = "/sys/fs/resctrl";
const MG = `${ROOT}/mon_groups`;
const MiB = 1_048_576;
const L3 = ["llc_occupancy", "mbm_total_bytes", "mbm_local_bytes"];

const code = (c: string) => (e: unknown) => errnoCode(e) === c;

/** A MemFs with a settable clock and group `g1` created at time 0. */
async function clocked(options: MemFsResctrlOptions = {}) {
  const clock = { now: 0 };
  const fs = MemFs.withResctrl({ syntheticMonData: true, now: () => clock.now, ...options });
  await fs.createDir(`${MG}/g1`);
  const read = (group: string, event: string, domain = "mon_L3_00") =>
    fs.readToString(`${group}/mon_data/${domain}/${event}`).then(Number);
  return { fs, clock, g1: `${MG}/g1`, read };
}

describe("MemFs: monitoring files", () => {
  it("info/L3_MON/mon_features lists the three L3 events; every group has a file per event and domain", async () => {
    const fs = MemFs.withResctrl({ l3Domains: ["mon_L3_00", "mon_L3_01"] });
    assert.equal(
      fs.readFile(`${ROOT}/info/L3_MON/mon_features`),
      "llc_occupancy\nmbm_total_bytes\nmbm_local_bytes\n",
    );
    await fs.createDir(`${MG}/m`);
    await fs.createDir(`${ROOT}/c`);
    await fs.createDir(`${ROOT}/c/mon_groups/m`);
    for (const g of [ROOT, `${MG}/m`, `${ROOT}/c`, `${ROOT}/c/mon_groups/m`]) {
      assert.deepEqual(await fs.readChildDirs(`${g}/mon_data`), ["mon_L3_00", "mon_L3_01"], g);
      for (const d of ["mon_L3_00", "mon_L3_01"]) {
        for (const e of L3)
          assert.equal(await fs.readToString(`${g}/mon_data/${d}/${e}`), "0\n", `${g} ${d} ${e}`);
      }
    }
  });

  it("mon_data is computed: present exactly while its group is, nothing else under it exists", async () => {
    const fs = MemFs.withResctrl({ l3Domains: ["mon_L3_00", "mon_L3_01"] });
    await fs.createDir(`${ROOT}/c`);
    await fs.createDir(`${ROOT}/c/mon_groups/m`);
    assert.deepEqual(await fs.readChildDirs(`${ROOT}/c`), ["mon_data", "mon_groups"]);
    assert.deepEqual(await fs.readChildDirs(`${ROOT}/c/mon_groups/m`), ["mon_data"]);
    assert.deepEqual(await fs.readChildDirs(`${ROOT}/c/mon_groups/m/mon_data/mon_L3_01`), []);
    for (const p of [
      `${ROOT}/c/mon_data`,
      `${ROOT}/c/mon_data/mon_L3_01/mbm_local_bytes`,
      `${ROOT}/c/mon_groups/m/mon_data/mon_L3_00/llc_occupancy`,
    ])
      assert.equal(fs.existsSync(p), true, p);
    for (const p of [
      `${ROOT}/c/mon_data/mon_L3_02`,
      `${ROOT}/c/mon_data/mon_L3_00/mbm_nope`,
      `${ROOT}/c/mon_data/mon_L3_00/llc_occupancy/x`,
      `${ROOT}/c/mon_datax`,
      `${ROOT}/nope/mon_data`,
      `${ROOT}/c/mon_groups/nope/mon_data/mon_L3_00`,
    ])
      assert.equal(fs.existsSync(p), false, p);
    await assert.rejects(fs.readToString(`${ROOT}/c/mon_data/mon_L3_00/mbm_nope`), code("ENOENT"));
    await fs.removeDir(`${ROOT}/c/mon_groups/m`);
    assert.equal(fs.existsSync(`${ROOT}/c/mon_groups/m/mon_data/mon_L3_00/llc_occupancy`), false);
    assert.equal(fs.existsSync(`${ROOT}/c/mon_data/mon_L3_00/llc_occupancy`), true);
    fs.setMounted(false);
    assert.equal(fs.existsSync(`${ROOT}/mon_data`), false);
    fs.setMounted(true);
    assert.deepEqual(await fs.readChildDirs(`${ROOT}/mon_data`), ["mon_L3_00", "mon_L3_01"]);
  });

  it("monFeatures: an extra resource with its own domains, occupancy only, or nothing", async () => {
    const perf = MemFs.withResctrl({ monFeatures: { L3: L3, PERF_PKG: ["core_energy", "activity"] } });
    assert.equal(perf.readFile(`${ROOT}/info/PERF_PKG_MON/mon_features`), "core_energy\nactivity\n");
    await perf.createDir(`${MG}/m`);
    assert.deepEqual((await perf.readChildDirs(`${MG}/m/mon_data`)).sort(), ["mon_L3_00", "mon_PERF_PKG_00"]);
    assert.equal(perf.readFile(`${MG}/m/mon_data/mon_PERF_PKG_00/activity`), "0\n");

    const occ = MemFs.withResctrl({ monFeatures: { L3: ["llc_occupancy"] } });
    assert.equal(occ.readFile(`${ROOT}/info/L3_MON/mon_features`), "llc_occupancy\n");
    assert.equal(occ.existsSync(`${ROOT}/mon_data/mon_L3_00/mbm_total_bytes`), false);
    assert.equal(occ.existsSync(`${ROOT}/mon_data/mon_L3_00/llc_occupancy`), true);

    const none = MemFs.withResctrl({ monFeatures: {} });
    await none.createDir(`${MG}/m`);
    assert.equal(none.existsSync(`${ROOT}/info/L3_MON/mon_features`), false);
    assert.equal(none.readFile(`${ROOT}/info/L3_MON/num_rmids`), "256\n");
    assert.deepEqual(await none.readChildDirs(`${MG}/m/mon_data`), []);

    const two = MemFs.withResctrl({
      monFeatures: { PERF_PKG: ["core_energy"] },
      monDomains: { PERF_PKG: ["mon_PERF_PKG_00", "mon_PERF_PKG_01"] },
    });
    assert.deepEqual(await two.readChildDirs(`${ROOT}/mon_data`), ["mon_PERF_PKG_00", "mon_PERF_PKG_01"]);
    assert.throws(() => MemFs.withResctrl({ monFeatures: { L3: ["../tasks"] } }), /not \[A-Za-z0-9_\]\+/);
    assert.throws(() => MemFs.withResctrl({ monDomains: { L3: ["a/b"] } }), /not a plain name/);
  });

  it("mon_data files are read-only (EACCES on open for write)", async () => {
    const fs = MemFs.withResctrl();
    await assert.rejects(fs.writeStr(`${ROOT}/mon_data/mon_L3_00/mbm_total_bytes`, "1"), code("EACCES"));
    await assert.rejects(fs.checkCanOpenForWrite(`${ROOT}/mon_data/mon_L3_00/llc_occupancy`), code("EACCES"));
  });

  it("setMonReading: a counter, Unavailable, Error (file content), EIO (read rejects like the kernel), undefined clears", async () => {
    const fs = MemFs.withResctrl();
    await fs.createDir(`${MG}/m`);
    const f = `${MG}/m/mon_data/mon_L3_00/mbm_total_bytes`;
    fs.setMonReading(`${MG}/m`, "mon_L3_00", "mbm_total_bytes", 42);
    assert.equal(await fs.readToString(f), "42\n");
    fs.setMonReading(`${MG}/m`, "mon_L3_00", "mbm_total_bytes", 2 ** 70);
    assert.equal(await fs.readToString(f), "1180591620717411303424\n");
    fs.setMonReading(`${MG}/m`, "mon_L3_00", "mbm_total_bytes", "Unavailable");
    assert.equal(await fs.readToString(f), "Unavailable\n");
    fs.setMonReading(`${MG}/m`, "mon_L3_00", "mbm_total_bytes", "Error");
    assert.equal(await fs.readToString(f), "Error\n");
    fs.setMonReading(`${MG}/m`, "mon_L3_00", "mbm_total_bytes", "EIO");
    await assert.rejects(
      fs.readToString(f),
      (e: unknown) => errnoCode(e) === "EIO" && (e as { errno?: number }).errno === -5,
    );
    assert.equal(fs.log.at(-1)?.error, "EIO");
    assert.equal(
      await fs.readToString(`${MG}/m/mon_data/mon_L3_00/llc_occupancy`),
      "0\n",
      "other files unaffected",
    );
    assert.equal(
      await fs.readToString(`${ROOT}/mon_data/mon_L3_00/mbm_total_bytes`),
      "0\n",
      "other groups unaffected",
    );
    fs.setMonReading(`${MG}/m`, "mon_L3_00", "mbm_total_bytes", undefined);
    assert.equal(await fs.readToString(f), "0\n");
  });

  it("setMonReading throws on an unknown group, domain or event, and on a value that is not a reading", async () => {
    const fs = MemFs.withResctrl();
    assert.throws(() => fs.setMonReading(`${MG}/nope`, "mon_L3_00", "llc_occupancy", 1), code("ENOENT"));
    assert.throws(() => fs.setMonReading(ROOT, "mon_L3_01", "llc_occupancy", 1), code("ENOENT"));
    assert.throws(() => fs.setMonReading(ROOT, "mon_L3_00", "nope", 1), code("ENOENT"));
    for (const bad of [-1, 1.5, NaN, "Garbage"]) {
      assert.throws(
        () => fs.setMonReading(ROOT, "mon_L3_00", "llc_occupancy", bad as never),
        /not a counter/,
      );
    }
  });

  it("rmdir of a group takes its mon_data along; a new group of the same name starts from scratch", async () => {
    const fs = MemFs.withResctrl({ rmidCapacity: 4 });
    await fs.createDir(`${MG}/m`);
    fs.setMonReading(`${MG}/m`, "mon_L3_00", "llc_occupancy", 7);
    await fs.removeDir(`${MG}/m`);
    assert.equal(fs.existsSync(`${MG}/m/mon_data`), false);
    assert.deepEqual(fs.groupPaths(), [ROOT]);
    assert.equal(fs.rmidsInUse(), 1);
    await fs.createDir(`${MG}/m`);
    assert.equal(fs.readFile(`${MG}/m/mon_data/mon_L3_00/llc_occupancy`), "0\n");
    await assert.rejects(fs.removeDir(`${MG}/m/mon_data`), code("EPERM"));
    await assert.rejects(fs.removeDir(`${MG}/m/mon_data/mon_L3_00`), code("EPERM"));
  });
});

describe("MemFs: syntheticMonData", () => {
  it("off by default: files read 0 whatever the tasks", async () => {
    const fs = MemFs.withResctrl({ now: () => 5000 });
    await fs.createDir(`${MG}/m`);
    await fs.writeStr(`${MG}/m/tasks`, "7");
    for (const e of L3) assert.equal(fs.readFile(`${MG}/m/mon_data/mon_L3_00/${e}`), "0\n");
  });

  it("llc_occupancy = n × 1 MiB per domain; mbm_total_bytes = ∫ n × 1 MiB/s; mbm_local_bytes = half", async () => {
    const { fs, clock, g1, read } = await clocked({ l3Domains: ["mon_L3_00", "mon_L3_01"] });
    clock.now = 1000; // no task for 1 s: nothing accumulated
    assert.equal(await read(g1, "mbm_total_bytes"), 0);
    await fs.writeStr(`${g1}/tasks`, "11");
    await fs.writeStr(`${g1}/tasks`, "12");
    clock.now = 3000; // 2 tasks × 2 s
    for (const d of ["mon_L3_00", "mon_L3_01"]) {
      assert.equal(await read(g1, "llc_occupancy", d), 2 * MiB);
      assert.equal(await read(g1, "mbm_total_bytes", d), 4 * MiB);
      assert.equal(await read(g1, "mbm_local_bytes", d), 2 * MiB);
    }
    await fs.writeStr(`${ROOT}/tasks`, "12"); // one task leaves at 3 s
    clock.now = 5500; // + 1 task × 2.5 s
    assert.equal(await read(g1, "llc_occupancy"), MiB);
    assert.equal(await read(g1, "mbm_total_bytes"), 6.5 * MiB);
    assert.equal(await read(g1, "mbm_local_bytes"), 3.25 * MiB);
    await fs.writeStr(`${ROOT}/tasks`, "11"); // empty at 5.5 s: stays put, never goes back
    clock.now = 9000;
    assert.equal(await read(g1, "llc_occupancy"), 0);
    assert.equal(await read(g1, "mbm_total_bytes"), 6.5 * MiB);
    clock.now = 9001; // fractions of a byte are floored
    await fs.writeStr(`${g1}/tasks`, "11");
    clock.now = 9002;
    assert.equal(await read(g1, "mbm_total_bytes"), 6.5 * MiB + Math.floor(MiB / 1000));
  });

  it("the root and a control group count their mon groups' tasks; other events read 0; scripts override", async () => {
    const { fs, clock, g1, read } = await clocked({
      monFeatures: { L3: L3, PERF_PKG: ["core_energy"] },
    });
    await fs.createDir(`${ROOT}/c`);
    await fs.createDir(`${ROOT}/c/mon_groups/m`);
    await fs.writeStr(`${ROOT}/c/tasks`, "21");
    await fs.writeStr(`${ROOT}/c/tasks`, "22"); // into c first: a mon group takes only its control group's tasks
    await fs.writeStr(`${ROOT}/c/mon_groups/m/tasks`, "22");
    await fs.writeStr(`${g1}/tasks`, "23");
    clock.now = 1000;
    assert.equal(await read(`${ROOT}/c`, "llc_occupancy"), 2 * MiB);
    assert.equal(await read(`${ROOT}/c/mon_groups/m`, "mbm_total_bytes"), MiB);
    assert.equal(await read(ROOT, "llc_occupancy"), MiB, "root: g1's task (c's are in c)");
    assert.equal(await read(g1, "core_energy", "mon_PERF_PKG_00"), 0);
    fs.setMonReading(g1, "mon_L3_00", "mbm_total_bytes", "Unavailable");
    assert.equal(await fs.readToString(`${g1}/mon_data/mon_L3_00/mbm_total_bytes`), "Unavailable\n");
    assert.equal(await read(g1, "mbm_local_bytes"), MiB / 2, "only the scripted file is overridden");
    await fs.removeDir(`${ROOT}/c`); // its tasks go back to the root
    clock.now = 2000;
    assert.equal(await read(ROOT, "llc_occupancy"), 3 * MiB);
    assert.equal(await read(ROOT, "mbm_total_bytes"), 1 * MiB + 3 * MiB);
  });

  it("withResctrl passes syntheticMonData (the daemon's memory provider)", async () => {
    const fs = MemFs.withResctrl({ root: "/tmp/r", syntheticMonData: true, now: () => 0, audit: false });
    await fs.writeStr("/tmp/r/tasks", "1");
    assert.equal(fs.readFile("/tmp/r/mon_data/mon_L3_00/llc_occupancy"), `${MiB}\n`);
  });
});
