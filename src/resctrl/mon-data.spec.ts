import { strict as assert } from "node:assert";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { memoryLogger } from "../../support/worlds/shared/log-capture.js";
import { overriding, rejectsWith } from "../../test/support/resctrl-helpers.js";
import { MemFs, type MemFsResctrlOptions } from "../memfs/mem-fs.js";
import {
  InvalidConfigError,
  IoError,
  NoPermissionError,
  NotMountedError,
  OutsideRootError,
} from "./errors.js";
import type { FsProvider } from "./provider.js";
import { RealFs } from "./real-fs.js";
import { Resctrl } from "./resctrl.js";
import type { MonCapabilities } from "./types.js";

const ROOT = "/sys/fs/resctrl";
const MiB = 1_048_576;
const L3 = ["llc_occupancy", "mbm_total_bytes", "mbm_local_bytes"];

async function setup(options: MemFsResctrlOptions = {}) {
  const fs = MemFs.withResctrl({ l3Domains: ["mon_L3_00", "mon_L3_01"], ...options });
  const rc = Resctrl.withProvider(fs);
  const group = await rc.createGroup("u1");
  const caps = await rc.monCapabilities();
  return { fs, rc, group, caps };
}

describe("Resctrl.monCapabilities", () => {
  it("reads info/L3_MON/mon_features and num_rmids", async () => {
    const { caps } = await setup({ rmidCapacity: 32 });
    assert.deepEqual(caps, {
      features: { L3: L3 },
      numRmids: 32,
      domains: { L3: ["mon_L3_00", "mon_L3_01"] },
    });
  });

  it("every info/<RESOURCE>_MON, resources sorted, events in kernel order", async () => {
    const { caps } = await setup({
      monFeatures: { PERF_PKG: ["core_energy", "activity"], L3: ["llc_occupancy"] },
    });
    assert.deepEqual(caps.features, { L3: ["llc_occupancy"], PERF_PKG: ["core_energy", "activity"] });
    assert.deepEqual(Object.keys(caps.features), ["L3", "PERF_PKG"]);
  });

  it("blank lines, duplicates and unsafe names in mon_features are dropped; a _MON dir without it is left out", async () => {
    const fs = MemFs.withResctrl();
    fs.addFile(
      `${ROOT}/info/L3_MON/mon_features`,
      "llc_occupancy\n\n  mbm_total_bytes \nllc_occupancy\n../x\n",
    );
    fs.addDir(`${ROOT}/info/MB_MON`);
    fs.addDir(`${ROOT}/info/MB`);
    const caps = await Resctrl.withProvider(fs).monCapabilities();
    assert.deepEqual(caps.features, { L3: ["llc_occupancy", "mbm_total_bytes"] });
  });

  it("only exact <R>_MON directories with a safe R are resources: nothing else is read", async () => {
    const fs = MemFs.withResctrl();
    for (const d of ["L-3_MON", "L3_MON.old", "old\nL3_MON", "MB"])
      fs.addFile(`${ROOT}/info/${d}/mon_features`, "x\n");
    const before = fs.log.length;
    const caps = await Resctrl.withProvider(fs).monCapabilities();
    assert.deepEqual(caps.features, { L3: L3 });
    assert.deepEqual(
      fs.log
        .slice(before)
        .filter((e) => e.op === "read")
        .map((e) => e.path),
      [`${ROOT}/info/L3_MON/mon_features`, `${ROOT}/info/L3_MON/num_rmids`],
    );
  });

  it("resources and domains are sorted whatever order the provider lists; non-domain names are ignored", async () => {
    const fs = MemFs.withResctrl({
      monFeatures: { L3: ["llc_occupancy"], PERF_PKG: ["core_energy"] },
      monDomains: { L3: ["mon_L3_00", "mon_L3_01"], PERF_PKG: ["mon_PERF_PKG_00"] },
    });
    const shuffled = overriding(fs, {
      readChildDirs: async (p: string) => {
        const names = (await fs.readChildDirs(p)).reverse();
        return p === `${ROOT}/mon_data` ? [...names, "junk", "xmon_L3_02", "mon_L3_03x"] : names;
      },
    });
    const caps = await Resctrl.withProvider(shuffled).monCapabilities();
    assert.deepEqual(Object.keys(caps.features), ["L3", "PERF_PKG"]);
    assert.deepEqual(caps.domains, { L3: ["mon_L3_00", "mon_L3_01"], PERF_PKG: ["mon_PERF_PKG_00"] });
  });

  it("no monitoring at all → { features: {} } (no _MON directory, or no info at all)", async () => {
    const fs = new MemFs();
    fs.addFile(`${ROOT}/tasks`, "");
    assert.deepEqual(await Resctrl.withProvider(fs).monCapabilities(), { features: {} });
    fs.addFile(`${ROOT}/info/L3/cbm_mask`, "fff\n");
    fs.addFile(`${ROOT}/info/last_cmd_status`, "ok\n");
    assert.deepEqual(await Resctrl.withProvider(fs).monCapabilities(), { features: {} });
  });

  it("a MemFs offering nothing: features {}, the RMID count still there", async () => {
    const { caps } = await setup({ monFeatures: {} });
    assert.deepEqual(caps, { features: {}, numRmids: 256, domains: {} });
  });

  it("a num_rmids that is not a number is left out", async () => {
    const fs = MemFs.withResctrl();
    fs.addFile(`${ROOT}/info/L3_MON/num_rmids`, "lots\n");
    const { logger, records } = memoryLogger("debug");
    assert.deepEqual(await Resctrl.withProvider(fs, { logger }).monCapabilities(), {
      features: { L3: L3 },
      domains: { L3: ["mon_L3_00"] },
    });
    assert.deepEqual(
      records.filter((r) => String(r.msg).includes("num_rmids")).map((r) => r.text),
      ["lots"],
    );
  });

  it("no num_rmids: numRmids left out, nothing logged about it", async () => {
    const fs = new MemFs();
    fs.addFile(`${ROOT}/tasks`, "");
    fs.addFile(`${ROOT}/info/L3_MON/mon_features`, "llc_occupancy\n");
    const { logger, records } = memoryLogger("debug");
    assert.deepEqual(await Resctrl.withProvider(fs, { logger }).monCapabilities(), {
      features: { L3: ["llc_occupancy"] },
    });
    assert.deepEqual(
      records.filter((r) => String(r.msg).includes("num_rmids")),
      [],
    );
  });

  it("not mounted → NotMountedError; an unreadable mon_features or info → mapped rejection", async () => {
    const fs = MemFs.withResctrl({ mounted: false });
    await rejectsWith(Resctrl.withProvider(fs).monCapabilities(), NotMountedError, { path: ROOT });
    fs.setMounted(true);
    fs.denyPath(`${ROOT}/info/L3_MON/mon_features`, ["read"]);
    await rejectsWith(Resctrl.withProvider(fs).monCapabilities(), NoPermissionError, {
      path: `${ROOT}/info/L3_MON/mon_features`,
      code: "EACCES",
    });
    fs.clearFaults();
    fs.failNext("list", `${ROOT}/info`, "EIO");
    await rejectsWith(Resctrl.withProvider(fs).monCapabilities(), IoError, {
      code: "EIO",
      path: `${ROOT}/info`,
    });
  });
});

describe("Resctrl.readGroupMonData", () => {
  it("sums every event over all domains of its resource; order follows caps", async () => {
    const { fs, rc, group, caps } = await setup();
    fs.setMonReading(group, "mon_L3_00", "llc_occupancy", 100);
    fs.setMonReading(group, "mon_L3_01", "llc_occupancy", 23);
    fs.setMonReading(group, "mon_L3_00", "mbm_total_bytes", 5);
    fs.setMonReading(group, "mon_L3_01", "mbm_local_bytes", 7);
    assert.deepEqual(await rc.readGroupMonData(group, caps), {
      samples: [
        { resource: "L3", event: "llc_occupancy", value: 123 },
        { resource: "L3", event: "mbm_total_bytes", value: 5 },
        { resource: "L3", event: "mbm_local_bytes", value: 7 },
      ],
      unreadable: [],
    });
  });

  it("only the events caps asks for; domains of other resources are ignored", async () => {
    const { fs, rc, group } = await setup();
    fs.addFile(`${group}/mon_data/mon_MB_00/llc_occupancy`, "9\n");
    fs.addFile(`${group}/mon_data/not_a_domain/llc_occupancy`, "9\n");
    fs.addFile(`${group}/mon_data/xmon_L3_02/llc_occupancy`, "9\n");
    fs.addFile(`${group}/mon_data/mon_L3_03x/llc_occupancy`, "9\n");
    const caps: MonCapabilities = { features: { L3: ["llc_occupancy"] } };
    assert.deepEqual(await rc.readGroupMonData(group, caps), {
      samples: [{ resource: "L3", event: "llc_occupancy", value: 0 }],
      unreadable: [],
    });
  });

  for (const [value, reason] of [
    ["Unavailable", "Unavailable at mon_L3_01"],
    ["Error", "Error at mon_L3_01"],
    ["EIO", "EIO at mon_L3_01"],
  ] as const) {
    it(`one of two domains reading ${value} → unreadable (${reason}), never 0, the others still read`, async () => {
      const { fs, rc, group, caps } = await setup();
      fs.setMonReading(group, "mon_L3_00", "llc_occupancy", 4096);
      fs.setMonReading(group, "mon_L3_01", "llc_occupancy", value);
      const data = await rc.readGroupMonData(group, caps);
      assert.deepEqual(data.unreadable, [{ resource: "L3", event: "llc_occupancy", reason }]);
      assert.deepEqual(
        data.samples.map((s) => s.event),
        ["mbm_total_bytes", "mbm_local_bytes"],
      );
    });
  }

  it("garbage, a negative, a fraction or an empty file is not a number", async () => {
    const { fs, rc, group } = await setup();
    const caps: MonCapabilities = { features: { L3: ["llc_occupancy"] } };
    for (const text of ["12abc\n", "-1\n", "1.5\n", "", "0x10\n"]) {
      fs.addFile(`${group}/mon_data/mon_L3_01/llc_occupancy`, text);
      const data = await rc.readGroupMonData(group, caps);
      assert.deepEqual(data.samples, [], text);
      assert.equal(
        data.unreadable[0]?.reason,
        `not a number ${JSON.stringify(text.trim())} at mon_L3_01`,
        text,
      );
    }
  });

  it("a long garbage reading is quoted up to 40 characters", async () => {
    const { fs, rc, group } = await setup();
    fs.addFile(`${group}/mon_data/mon_L3_01/llc_occupancy`, `${"x".repeat(100)}\n`);
    const data = await rc.readGroupMonData(group, { features: { L3: ["llc_occupancy"] } });
    assert.deepEqual(data.unreadable, [
      { resource: "L3", event: "llc_occupancy", reason: `not a number "${"x".repeat(40)}" at mon_L3_01` },
    ]);
  });

  it("a sum beyond float64 is unreadable (sum out of range) unless a domain already failed", async () => {
    const { fs, rc, group } = await setup();
    const caps: MonCapabilities = { features: { L3: ["llc_occupancy"] } };
    fs.addFile(`${group}/mon_data/mon_L3_00/llc_occupancy`, `${"9".repeat(400)}\n`);
    assert.deepEqual(await rc.readGroupMonData(group, caps), {
      samples: [],
      unreadable: [{ resource: "L3", event: "llc_occupancy", reason: "sum out of range" }],
    });
    fs.setMonReading(group, "mon_L3_01", "llc_occupancy", "Error");
    assert.deepEqual((await rc.readGroupMonData(group, caps)).unreadable, [
      { resource: "L3", event: "llc_occupancy", reason: "Error at mon_L3_01" },
    ]);
  });

  it("only a missing file makes it check whether the group is still there", async () => {
    const { fs, rc, group, caps } = await setup();
    for (const d of ["mon_L3_00", "mon_L3_01"]) fs.setMonReading(group, d, "llc_occupancy", "Unavailable");
    fs.setMonReading(group, "mon_L3_00", "mbm_total_bytes", "EIO");
    const data = await rc.readGroupMonData(group, caps);
    assert.equal(data.unreadable.length, 2);
    assert.equal(fs.calls("exists", `${group}/mon_data`), 0);
    fs.failNext("read", `${group}/mon_data/mon_L3_01/llc_occupancy`, "ENOENT");
    await rc.readGroupMonData(group, caps);
    assert.equal(fs.calls("exists", `${group}/mon_data`), 1);
  });

  it("a provider with sync reads is read synchronously; one without readChildDirsSync is read async", async () => {
    const { fs, group, caps } = await setup();
    fs.setMonReading(group, "mon_L3_00", "llc_occupancy", 100);
    fs.setMonReading(group, "mon_L3_01", "mbm_total_bytes", "Unavailable");
    const expected = await Resctrl.withProvider(fs).readGroupMonData(group, caps);
    const listed = await fs.readChildDirs(`${group}/mon_data`);
    const syncReads: string[] = [];
    const readToStringSync = (p: string) => {
      syncReads.push(p);
      return fs.readFile(p);
    };
    // MemFs has no sync methods: a view of it with some added.
    const withSync = (extra: Pick<FsProvider, "readToStringSync" | "readChildDirsSync">): FsProvider =>
      Object.assign(Object.create(fs) as MemFs, extra);
    const both = withSync({ readToStringSync, readChildDirsSync: () => listed });
    const reads = fs.calls("read");
    assert.deepEqual(
      await Resctrl.withProvider(both).readGroupMonData(group, { features: caps.features }),
      expected,
    );
    assert.equal(fs.calls("read"), reads, "no async read");
    assert.equal(syncReads.length, 3 * 2);
    const readOnly = withSync({ readToStringSync });
    assert.deepEqual(await Resctrl.withProvider(readOnly).readGroupMonData(group, caps), expected);
    assert.equal(fs.calls("read"), reads + 3 * 2);
  });

  it("every failing domain is named; a missing file is ENOENT", async () => {
    const { fs, rc, group } = await setup();
    fs.setMonReading(group, "mon_L3_00", "llc_occupancy", "Error");
    fs.failNext("read", `${group}/mon_data/mon_L3_01/llc_occupancy`, "ENOENT");
    const data = await rc.readGroupMonData(group, { features: { L3: ["llc_occupancy"] } });
    assert.deepEqual(data, {
      samples: [],
      unreadable: [
        { resource: "L3", event: "llc_occupancy", reason: "Error at mon_L3_00; ENOENT at mon_L3_01" },
      ],
    });
  });

  it("an event the group has no file for, or a resource without domains, is unreadable", async () => {
    const { rc, group } = await setup();
    const data = await rc.readGroupMonData(group, { features: { L3: ["nope"], MB: ["x"] } });
    assert.deepEqual(data, {
      samples: [],
      unreadable: [
        { resource: "L3", event: "nope", reason: "ENOENT at mon_L3_00; ENOENT at mon_L3_01" },
        { resource: "MB", event: "x", reason: "no mon_MB_* domain in mon_data" },
      ],
    });
  });

  it("a resource with underscores (PERF_PKG): mon_PERF_PKG_<id> domains are summed under PERF_PKG", async () => {
    const { fs, rc, group, caps } = await setup({
      monFeatures: { L3: ["llc_occupancy"], PERF_PKG: ["core_energy", "activity"] },
      monDomains: { PERF_PKG: ["mon_PERF_PKG_00", "mon_PERF_PKG_01"] },
    });
    fs.setMonReading(group, "mon_PERF_PKG_00", "core_energy", 10);
    fs.setMonReading(group, "mon_PERF_PKG_01", "core_energy", 32);
    fs.setMonReading(group, "mon_PERF_PKG_01", "activity", "Unavailable");
    assert.deepEqual(await rc.readGroupMonData(group, caps), {
      samples: [
        { resource: "L3", event: "llc_occupancy", value: 0 },
        { resource: "PERF_PKG", event: "core_energy", value: 42 },
      ],
      unreadable: [{ resource: "PERF_PKG", event: "activity", reason: "Unavailable at mon_PERF_PKG_01" }],
    });
  });

  it("counters above 2^53 are accepted (float64 precision)", async () => {
    const { fs, rc, group } = await setup();
    fs.addFile(`${group}/mon_data/mon_L3_00/mbm_total_bytes`, "18446744073709551615\n");
    fs.setMonReading(group, "mon_L3_01", "mbm_total_bytes", 2 ** 60);
    const data = await rc.readGroupMonData(group, { features: { L3: ["mbm_total_bytes"] } });
    assert.deepEqual(data.samples, [
      { resource: "L3", event: "mbm_total_bytes", value: Number("18446744073709551615") + 2 ** 60 },
    ]);
  });

  it("with the root's domains in caps: no listing, one read per (event, domain)", async () => {
    const { fs, rc, group, caps } = await setup();
    assert.deepEqual(caps.domains, { L3: ["mon_L3_00", "mon_L3_01"] });
    const lists = fs.calls("list");
    const reads = fs.calls("read");
    await rc.readGroupMonData(group, caps);
    assert.equal(fs.calls("list") - lists, 0);
    assert.equal(fs.calls("read") - reads, 3 * 2);
  });

  it("without domains in caps: one listing of the group's mon_data, then one read per (event, domain)", async () => {
    const { fs, rc, group, caps } = await setup();
    const lists = fs.calls("list");
    const reads = fs.calls("read");
    await rc.readGroupMonData(group, { features: caps.features });
    assert.equal(fs.calls("list") - lists, 1);
    assert.equal(fs.calls("list", `${group}/mon_data`), 1);
    assert.equal(fs.calls("read") - reads, 3 * 2);
  });

  it("the root, a control group and a control group's mon group are groups too", async () => {
    const { fs, rc, caps } = await setup();
    await fs.createDir(`${ROOT}/c1`);
    await fs.createDir(`${ROOT}/c1/mon_groups/m1`);
    fs.setMonReading(`${ROOT}/c1/mon_groups/m1`, "mon_L3_00", "llc_occupancy", 8);
    for (const g of [ROOT, `${ROOT}/c1`, `${ROOT}/c1/mon_groups/m1`]) {
      const data = await rc.readGroupMonData(g, caps);
      assert.equal(data.samples.length, 3, g);
    }
    const m1 = await rc.readGroupMonData(`${ROOT}/c1/mon_groups/m1`, caps);
    assert.equal(m1.samples[0]?.value, 8);
  });

  it("a path outside the root or not a group → OutsideRootError, nothing read", async () => {
    const { fs, rc, caps } = await setup();
    const before = fs.log.length;
    for (const p of [
      "/sys/fs/resctrlx/mon_groups/a",
      `${ROOT}/../resctrl/mon_groups/a`,
      `${ROOT}/mon_groups/a/`,
      "relative/mon_groups/a",
      `${ROOT}/info`,
      `${ROOT}/info/L3_MON`,
      `${ROOT}/mon_data`,
      `${ROOT}/mon_groups`,
      `${ROOT}/mon_groups/a/mon_data`,
      `${ROOT}/c1/mon_groups`,
      `${ROOT}/c1/mon_groups/m1/x`,
      `${ROOT}/c1/mon_data/mon_L3_00`,
      `${ROOT}/info/mon_groups/x`,
    ]) {
      await rejectsWith(rc.readGroupMonData(p, caps), OutsideRootError, { path: p });
    }
    assert.equal(fs.log.length, before);
  });

  it("a caps name that is not [A-Za-z0-9_]+ → InvalidConfigError, nothing read", async () => {
    const { fs, rc, group } = await setup();
    const before = fs.log.length;
    const bad: Record<string, string[]>[] = [
      { L3: ["../../tasks"] },
      { "L3/..": ["llc_occupancy"] },
      { L3: [""] },
    ];
    for (const features of bad) {
      await assert.rejects(rc.readGroupMonData(group, { features }), InvalidConfigError);
    }
    assert.equal(fs.log.length, before);
  });

  it("group gone → IoError ENOENT (also when it goes between the listing and the reads)", async () => {
    const { fs, rc, group, caps } = await setup();
    await rejectsWith(rc.readGroupMonData(`${group}x`, caps), IoError, {
      code: "ENOENT",
      path: `${group}x/mon_data`,
    });
    let removed = false;
    const racing = overriding(fs, {
      readToString: async (p: string) => {
        if (!removed) {
          removed = true;
          await fs.removeDir(group);
        }
        return fs.readToString(p);
      },
    });
    await rejectsWith(Resctrl.withProvider(racing).readGroupMonData(group, caps), IoError, {
      code: "ENOENT",
      path: `${group}/mon_data`,
    });
    assert.equal(removed, true);
  });

  it("listing mon_data denied → NoPermissionError", async () => {
    const { fs, rc, group, caps } = await setup();
    fs.denyPath(`${group}/mon_data`, ["list"]);
    await rejectsWith(rc.readGroupMonData(group, { features: caps.features }), NoPermissionError, {
      code: "EACCES",
      path: `${group}/mon_data`,
    });
  });

  it("no monitoring offered: caps {} reads nothing", async () => {
    const { rc, group } = await setup({ monFeatures: {} });
    assert.deepEqual(await rc.readGroupMonData(group, { features: {} }), { samples: [], unreadable: [] });
  });

  it("over MemFs's synthetic readings: n tasks → n MiB per domain, MBM growing with time", async () => {
    let now = 0;
    const fs = MemFs.withResctrl({
      l3Domains: ["mon_L3_00", "mon_L3_01"],
      syntheticMonData: true,
      now: () => now,
    });
    const rc = Resctrl.withProvider(fs);
    const group = await rc.createGroup("u1");
    await rc.assignTasks(group, [11, 12]);
    now = 1000;
    const data = await rc.readGroupMonData(group, await rc.monCapabilities());
    assert.deepEqual(data.samples, [
      { resource: "L3", event: "llc_occupancy", value: 2 * 2 * MiB },
      { resource: "L3", event: "mbm_total_bytes", value: 2 * 2 * MiB },
      { resource: "L3", event: "mbm_local_bytes", value: 2 * MiB },
    ]);
  });

  it("works over RealFs on a directory laid out like resctrl", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mon-data-"));
    try {
      const root = join(dir, "resctrl");
      const g = `${root}/mon_groups/pod_a`;
      await mkdir(`${root}/info/L3_MON`, { recursive: true });
      await mkdir(`${root}/info/PERF_PKG_MON`, { recursive: true });
      await writeFile(`${root}/tasks`, "");
      await writeFile(`${root}/info/L3_MON/mon_features`, "llc_occupancy\nmbm_total_bytes\n");
      await writeFile(`${root}/info/PERF_PKG_MON/mon_features`, "core_energy\n");
      await writeFile(`${root}/info/L3_MON/num_rmids`, "128\n");
      for (const d of ["mon_L3_00", "mon_L3_01", "mon_PERF_PKG_00"])
        await mkdir(`${g}/mon_data/${d}`, { recursive: true });
      await writeFile(`${g}/mon_data/mon_L3_00/llc_occupancy`, "1000\n");
      await writeFile(`${g}/mon_data/mon_L3_01/llc_occupancy`, "24\n");
      await writeFile(`${g}/mon_data/mon_L3_00/mbm_total_bytes`, "7\n");
      await writeFile(`${g}/mon_data/mon_L3_01/mbm_total_bytes`, "Unavailable\n");
      await writeFile(`${g}/mon_data/mon_PERF_PKG_00/core_energy`, "5\n");
      await mkdir(`${root}/c1/mon_groups/m1`, { recursive: true });
      const rc = Resctrl.withProvider(new RealFs(), { root });
      const caps = await rc.monCapabilities();
      assert.deepEqual(caps, {
        features: { L3: ["llc_occupancy", "mbm_total_bytes"], PERF_PKG: ["core_energy"] },
        numRmids: 128,
      });
      assert.deepEqual(await rc.readGroupMonData(g, caps), {
        samples: [
          { resource: "L3", event: "llc_occupancy", value: 1024 },
          { resource: "PERF_PKG", event: "core_energy", value: 5 },
        ],
        unreadable: [{ resource: "L3", event: "mbm_total_bytes", reason: "Unavailable at mon_L3_01" }],
      });
      // root + c1 + pod_a + c1's m1
      assert.equal(await rc.rmidsInUse(), 4);
      // With the root's mon_data the domains come from caps (no per-group listing): same answer;
      // a group removed since then rejects as gone, not as "no domain".
      for (const d of ["mon_L3_00", "mon_L3_01", "mon_PERF_PKG_00"])
        await mkdir(`${root}/mon_data/${d}`, { recursive: true });
      const withDomains = await rc.monCapabilities();
      assert.deepEqual(withDomains.domains, {
        L3: ["mon_L3_00", "mon_L3_01"],
        PERF_PKG: ["mon_PERF_PKG_00"],
      });
      assert.deepEqual(await rc.readGroupMonData(g, withDomains), await rc.readGroupMonData(g, caps));
      await rm(g, { recursive: true });
      await assert.rejects(
        rc.readGroupMonData(g, withDomains),
        (e: Error & { code?: string }) => e.code === "ENOENT",
      );
      // RealFs reads synchronously: a resource without domains is unreadable there too.
      assert.deepEqual(
        await rc.readGroupMonData(`${root}/c1/mon_groups/m1`, {
          features: { MB: ["x"] },
          domains: withDomains.domains,
        }),
        {
          samples: [],
          unreadable: [{ resource: "MB", event: "x", reason: "no mon_MB_* domain in mon_data" }],
        },
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("Resctrl.rmidsInUse", () => {
  it("1 (root) + control groups + mon groups under the root's and every control group's mon_groups", async () => {
    const { fs, rc } = await setup();
    assert.equal(await rc.rmidsInUse(), 2);
    await rc.createGroup("u2");
    await fs.createDir(`${ROOT}/c1`);
    await fs.createDir(`${ROOT}/c2`);
    await fs.createDir(`${ROOT}/c1/mon_groups/m1`);
    await fs.createDir(`${ROOT}/c1/mon_groups/m2`);
    assert.equal(await rc.rmidsInUse(), 1 + 2 + 2 + 2);
    assert.equal(await rc.rmidsInUse(), fs.rmidsInUse(), "the model agrees while nothing is in limbo");
  });

  it("RMIDs in limbo are not counted (the tree does not show them)", async () => {
    const { fs, rc, group } = await setup({ rmidLimboMs: Infinity });
    await rc.deleteGroup(group);
    assert.equal(await rc.rmidsInUse(), 1);
    assert.equal(fs.rmidsInUse(), 2);
  });

  it("not mounted → NotMountedError; listing errors are mapped; a control group gone meanwhile has no mon groups", async () => {
    const fs = MemFs.withResctrl({ mounted: false });
    const rc = Resctrl.withProvider(fs);
    await rejectsWith(rc.rmidsInUse(), NotMountedError, { path: ROOT });
    fs.setMounted(true);
    await fs.createDir(`${ROOT}/c1`);
    fs.denyPath(`${ROOT}/mon_groups`, ["list"]);
    await rejectsWith(rc.rmidsInUse(), NoPermissionError, { path: `${ROOT}/mon_groups` });
    fs.clearFaults();
    fs.failNext("list", ROOT, "EIO");
    await rejectsWith(rc.rmidsInUse(), IoError, { path: ROOT, code: "EIO" });
    fs.failNext("list", `${ROOT}/c1/mon_groups`, "ENOENT");
    assert.equal(await rc.rmidsInUse(), 2);
  });
});
