// RealCgroupPidSource and containerCgroupPath against temp-dir fixture trees (v2, v1, hybrid).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { containerCgroupPath, expandSlice } from "../src/plugin/cgroup-path.js";
import { CgroupGoneError, CgroupPathError, CgroupReadError } from "../src/plugin/errors.js";
import { RealCgroupPidSource } from "../src/plugin/real-pid-source.js";
import { ctr, pod } from "./plugin-harness.js";

const tmp = mkdtempSync(join(tmpdir(), "pidsrc-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;

/** A fixture: files relative to <tmp>/<case>/{cgroup,proc}. */
function fixture(files: Record<string, string>, procs: Record<number, number[]>): RealCgroupPidSource {
  const base = join(tmp, `case${n++}`);
  for (const [rel, content] of Object.entries(files)) {
    const p = join(base, "cgroup", rel);
    mkdirSync(join(p, ".."), { recursive: true });
    writeFileSync(p, content);
  }
  mkdirSync(join(base, "proc"), { recursive: true });
  for (const [pid, tids] of Object.entries(procs)) {
    for (const t of tids) mkdirSync(join(base, "proc", pid, "task", String(t)), { recursive: true });
  }
  return new RealCgroupPidSource({ cgroupRoot: join(base, "cgroup"), procRoot: join(base, "proc") });
}

const cgroupfs = (id: string) => ({ ...ctr(id, "sb"), cgroupsPath: `/kubepods/burstable/podU/${id}` });
const systemd = (id: string) => ({
  ...ctr(id, "sb"),
  cgroupsPath: `kubepods-burstable-podU.slice:cri-containerd:${id}`,
});
const SYSTEMD_DIR = "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podU.slice";

describe("containerCgroupPath", () => {
  it("cgroupfs path is used as is; a /sys/fs/cgroup prefix is stripped", () => {
    assert.equal(containerCgroupPath(cgroupfs("c1")), "/kubepods/burstable/podU/c1");
    assert.equal(
      containerCgroupPath({ ...ctr("c", "s"), cgroupsPath: "/sys/fs/cgroup/kubepods/podU/c" }),
      "/kubepods/podU/c",
    );
  });

  it("systemd triple expands the slice (with or without the pod); custom roots come from cgroup_parent", () => {
    assert.equal(containerCgroupPath(systemd("c1")), `/${SYSTEMD_DIR}/cri-containerd-c1.scope`);
    const p = {
      ...pod("U"),
      cgroupParent: "/kubelet.slice/kubelet-kubepods.slice/kubepods-burstable-podU.slice",
    };
    assert.equal(
      containerCgroupPath(systemd("c1"), p),
      "/kubelet.slice/kubelet-kubepods.slice/kubepods-burstable-podU.slice/cri-containerd-c1.scope",
    );
    assert.equal(expandSlice("-.slice"), "/");
  });

  for (const [name, path] of [
    ["empty (would be the root cgroup)", ""],
    ["dot-dot escape", "/kubepods/../../etc"],
    ["only slashes", "///"],
    ["two-part systemd", "a.slice:b"],
    ["bad slice", "a--b.slice:cri:x"],
    ["NUL", "/kubepods/\0x"],
  ] as const) {
    it(`rejects ${name} with CgroupPathError`, () => {
      assert.throws(() => containerCgroupPath({ ...ctr("c", "s"), cgroupsPath: path }), CgroupPathError);
    });
  }
});

describe("RealCgroupPidSource", () => {
  it("cgroup v2 + systemd: returns every thread of every process, sorted", async () => {
    const src = fixture(
      {
        "cgroup.controllers": "cpu pids\n",
        [`${SYSTEMD_DIR}/cri-containerd-c1.scope/cgroup.procs`]: "10\n20\n",
      },
      { 10: [10, 11, 12], 20: [20] },
    );
    assert.deepEqual(await src.tasksOf(systemd("c1"), undefined), [10, 11, 12, 20]);
  });

  it("cgroup v1 hybrid + cgroupfs: reads the pids hierarchy", async () => {
    const src = fixture(
      {
        "pids/kubepods/burstable/podU/c1/cgroup.procs": "30\n",
        "unified/kubepods/burstable/podU/c1/cgroup.procs": "",
        "memory/kubepods/burstable/podU/c1/cgroup.procs": "30\n",
      },
      { 30: [30, 31] },
    );
    assert.deepEqual(await src.tasksOf(cgroupfs("c1"), undefined), [30, 31]);
  });

  it("cgroup v1 without pids: falls back to another mounted controller", async () => {
    const src = fixture({ "cpu,cpuacct/kubepods/burstable/podU/c1/cgroup.procs": "40\n" }, { 40: [40] });
    assert.deepEqual(await src.tasksOf(cgroupfs("c1"), undefined), [40]);
  });

  it("drops PIDs ≤ 0 (never returns 0); skips processes that exited before their task dir was read", async () => {
    const src = fixture(
      { "cgroup.controllers": "", "kubepods/burstable/podU/c1/cgroup.procs": "0\n-1\n50\n51\n" },
      { 50: [50] },
    );
    assert.deepEqual(await src.tasksOf(cgroupfs("c1"), undefined), [50]);
  });

  it("an existing empty cgroup gives []", async () => {
    const src = fixture({ "cgroup.controllers": "", "kubepods/burstable/podU/c1/cgroup.procs": "\n" }, {});
    assert.deepEqual(await src.tasksOf(cgroupfs("c1"), undefined), []);
  });

  it("garbage in cgroup.procs → CgroupReadError naming the line", async () => {
    const src = fixture(
      { "cgroup.controllers": "", "kubepods/burstable/podU/c1/cgroup.procs": "60\nabc\n" },
      { 60: [60] },
    );
    await assert.rejects(src.tasksOf(cgroupfs("c1"), undefined), (e: unknown) => {
      return e instanceof CgroupReadError && /line 2/.test(e.message);
    });
  });

  it("a vanished cgroup → CgroupGoneError (v2 and v1)", async () => {
    const v2 = fixture({ "cgroup.controllers": "" }, {});
    await assert.rejects(v2.tasksOf(cgroupfs("gone"), undefined), CgroupGoneError);
    const v1 = fixture({ "pids/other/cgroup.procs": "" }, {});
    await assert.rejects(v1.tasksOf(cgroupfs("gone"), undefined), CgroupGoneError);
  });

  it("on this host's real /sys/fs/cgroup and /proc: finds this process and all its threads", async (t) => {
    // "<id>:<controllers>:<path>" per hierarchy; take the first one that is not the root cgroup.
    const paths = readFileSync("/proc/self/cgroup", "utf8")
      .split("\n")
      .map((l) => l.split(":").slice(2).join(":"));
    const path = paths.find((p) => p !== "/" && p !== "") ?? "/";
    if (path === "/" || path === "") {
      t.skip("this process runs in the root cgroup, which the source refuses by design");
      return;
    }
    const src = new RealCgroupPidSource();
    const tasks = await src.tasksOf({ ...ctr("self", "sb"), cgroupsPath: path }, undefined);
    assert.ok(tasks.includes(process.pid), `own pid ${process.pid} in ${path}`);
    const threads = readdirSync(`/proc/${process.pid}/task`).map(Number);
    for (const tid of threads) assert.ok(tasks.includes(tid), `thread ${tid}`);
  });
});
