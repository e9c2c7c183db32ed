// Fault: a container's cgroup (or one of its processes) disappears between the PID source listing
// it and the plugin reading or moving it. The container must end Partial (never a crash, never a
// rejected handler), the tasks that were moved stay moved, and a retry once the cgroup is back works.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { pino } from "pino";
import { CgroupGoneError } from "../src/plugin/errors.js";
import { ResctrlPlugin } from "../src/plugin/plugin.js";
import { RealCgroupPidSource } from "../src/plugin/real-pid-source.js";
import { Resctrl } from "../src/resctrl/index.js";
import { MemFs } from "../src/testing/index.js";
import { MON, ROOT, ctr, harness, pod } from "./support/plugin-harness.js";

const tmp = mkdtempSync(join(tmpdir(), "fault-cgroup-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A cgroup v2 fixture: container `id` of pod U with `cgroup.procs`, and /proc task dirs. */
function tree(
  id: string,
  procs: number[],
  tasks: Record<number, number[]>,
): { cgroup: string; proc: string; dir: string } {
  const base = mkdtempSync(join(tmp, "case-"));
  const cgroup = join(base, "cgroup");
  const dir = join(cgroup, "kubepods", "podU", id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(cgroup, "cgroup.controllers"), "cpu memory pids\n");
  writeFileSync(join(dir, "cgroup.procs"), procs.map((p) => `${p}\n`).join(""));
  const proc = join(base, "proc");
  for (const [pid, tids] of Object.entries(tasks))
    for (const t of tids) mkdirSync(join(proc, pid, "task", String(t)), { recursive: true });
  mkdirSync(proc, { recursive: true });
  return { cgroup, proc, dir };
}

function realWorld(t: { cgroup: string; proc: string }, live: (pid: number) => boolean) {
  const fs = MemFs.withResctrl({ root: ROOT, pidExists: live });
  const resctrl = Resctrl.withProvider(fs, { root: ROOT, groupPrefix: "pod_" });
  const pids = new RealCgroupPidSource({ cgroupRoot: t.cgroup, procRoot: t.proc });
  const plugin = ResctrlPlugin.withPidSource({}, resctrl, pids, { logger: pino({ level: "silent" }) });
  return { fs, plugin };
}

const cgroupfsCtr = (id: string) => ({ ...ctr(id, "sb-U"), cgroupsPath: `/kubepods/podU/${id}` });

describe("fault: cgroup vanishes between listing and reading", () => {
  it("real PID source: cgroup directory gone before START → Partial; back again → retry Reconciled", async () => {
    const t = tree("c1", [500], { 500: [500, 501] });
    // Its init process 500 still lives in that cgroup, so a missing directory is doubt, not an exit.
    writeFileSync(join(t.proc, "500", "cgroup"), "0::/kubepods/podU/c1\n");
    const { fs, plugin } = realWorld(t, () => true);
    rmSync(t.dir, { recursive: true });
    await plugin.runPodSandbox(pod("U"));
    await plugin.startContainer(pod("U"), { ...cgroupfsCtr("c1"), pid: 500 });
    assert.equal(plugin.snapshot()[0]?.containers[0]?.state, "Partial");
    await assert.rejects(plugin.retryContainerReconcile("c1"), (e: Error) => e.message.includes("c1"));
    mkdirSync(t.dir, { recursive: true });
    writeFileSync(join(t.dir, "cgroup.procs"), "500\n");
    assert.equal(await plugin.retryContainerReconcile("c1"), "Reconciled");
    assert.deepEqual(fs.tasksOf(`${MON}/pod_U`), [500, 501]);
  });

  it("real PID source: a process listed in cgroup.procs exits before its threads are read → no crash, others moved", async () => {
    // 600 is listed but its /proc entry is gone (exited); the kernel would answer ESRCH.
    const t = tree("c2", [500, 600], { 500: [500, 502] });
    const { fs, plugin } = realWorld(t, (p) => p !== 600);
    await plugin.runPodSandbox(pod("U"));
    await plugin.startContainer(pod("U"), cgroupfsCtr("c2"));
    assert.deepEqual(fs.tasksOf(`${MON}/pod_U`), [500, 502]);
    // A task that no longer exists cannot be outside the group: the container counts as Reconciled.
    assert.equal(plugin.snapshot()[0]?.containers[0]?.state, "Reconciled");
    assert.equal(fs.groupOf(600), undefined, "the dead process was never written anywhere");
  });

  it("mock PID source: listed on pass 1, cgroup gone on pass 2 → Partial, pass-1 tasks stay in the group", async () => {
    const h = harness();
    h.pids.setFn("c1", (call) => {
      if (call === 1) return [11, 12];
      throw new CgroupGoneError("c1", ["/kubepods/podU/c1"]);
    });
    await h.plugin.runPodSandbox(pod("u1"));
    await h.plugin.startContainer(pod("u1"), ctr("c1", "sb-u1"));
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_u1`), [11, 12]);
    assert.equal(h.plugin.snapshot()[0]?.containers[0]?.state, "Partial");
    assert.ok(
      h.logs.some((l) => l.level === 40 && l["containerId"] === "c1"),
      "warned with the container id",
    );
    h.pids.setPids("c1", [11, 12, 13]);
    const r = await h.plugin.retryAllOnce();
    assert.equal(r.containersReconciled, 1);
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_u1`), [11, 12, 13]);
  });
});
