/**
 * Benchmarks of the unattended node agent: one sweep tick (`ResctrlPlugin.sweep`, what
 * `--retry-interval` runs) over many healthy pods, and one `/metrics` collection (a readings pass
 * over every pod's group) over many pods. Each rejects when the operation did not do its job.
 *
 * The tick runs with the real `RealCgroupPidSource` over a cgroup v2 + /proc fixture in a temp dir
 * (every container's cgroup exists, so each one costs the real existence check); the scrape reads
 * every group's `mon_data` through the real `Resctrl` layer, once from MemFs (synthetic readings)
 * and once from a resctrl-shaped tree on disk (`RealFs`: one open/read/close per file).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { pino } from "pino";
import { DaemonMetrics } from "../src/metrics/index.js";
import { containerCgroupPath } from "../src/plugin/cgroup-path.js";
import { ResctrlPlugin } from "../src/plugin/plugin.js";
import { RealCgroupPidSource } from "../src/plugin/real-pid-source.js";
import { Resctrl } from "../src/resctrl/index.js";
import { MemFs, MockPidSource } from "../src/testing/index.js";
import {
  BENCH_RMIDS,
  BENCH_ROOT,
  benchContainer,
  benchPod,
  cpuSince,
  msSince,
  percentile,
  r3,
  type BenchRow,
} from "./harness.js";

/** Target CPU of one sweep tick over 1,000 healthy pods (ms). */
export const TICK_TARGET_CPU_MS = 20;
/** Target wall clock of one /metrics answer over 1,000 pods, readings included (ms). */
export const SCRAPE_TARGET_MS = 100;

const connected = { connected: () => true, synchronized: () => true, reconnects: () => 0 };

/** `pods` healthy pods (one running container each, every cgroup present): CPU and wall of `sweep()`. */
export async function benchSweepTick(pods = 1000, ticks = 7): Promise<BenchRow> {
  const dir = mkdtempSync(join(tmpdir(), "bench-sweep-"));
  try {
    const cgroupRoot = join(dir, "cgroup");
    const procRoot = join(dir, "proc");
    mkdirSync(cgroupRoot, { recursive: true });
    writeFileSync(join(cgroupRoot, "cgroup.controllers"), "cpu memory pids\n");
    const all = Array.from({ length: pods }, (_, p) => benchPod(p));
    const ctrs = all.map((pod, p) => {
      const c = { ...benchContainer(pod, p, 0), pid: 100_000 + p };
      const rel = containerCgroupPath(c, pod);
      mkdirSync(posix.join(cgroupRoot, rel), { recursive: true });
      writeFileSync(posix.join(cgroupRoot, rel, "cgroup.procs"), `${c.pid}\n`);
      mkdirSync(join(procRoot, String(c.pid), "task", String(c.pid)), { recursive: true });
      writeFileSync(join(procRoot, String(c.pid), "cgroup"), `0::${rel}\n`);
      return c;
    });
    const fs = MemFs.withResctrl({ root: BENCH_ROOT, rmidCapacity: BENCH_RMIDS, audit: false });
    const resctrl = Resctrl.withProvider(fs, { root: BENCH_ROOT, groupPrefix: "pod_" });
    const pids = new RealCgroupPidSource({ cgroupRoot, procRoot });
    const plugin = ResctrlPlugin.withPidSource({}, resctrl, pids);
    await plugin.synchronize(all, ctrs);
    await plugin.idle();
    const healthy = plugin.snapshot().filter((s) => s.reconciledContainers === 1).length;
    if (healthy !== pods) throw new Error(`failed to set up ${pods} healthy pods: ${healthy}`);
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < ticks; i++) {
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      const r = await plugin.sweep();
      wall.push(msSince(t0));
      cpu.push(cpuSince(c0));
      if (r.podsPruned + r.containersVanished !== 0 || r.retry === undefined)
        throw new Error(`failed: a tick over healthy pods changed something: ${JSON.stringify(r)}`);
    }
    if (plugin.snapshot().length !== pods) throw new Error("failed: pods lost during the ticks");
    await plugin.close();
    const cpuP50 = percentile(cpu, 50);
    return {
      row: `sweep tick over ${pods} healthy pods (real cgroup checks)`,
      n: ticks,
      p50: r3(percentile(wall, 50)),
      p99: r3(percentile(wall, 99)),
      cpuP50: r3(cpuP50),
      cpuP99: r3(percentile(cpu, 99)),
      value: `${r3((cpuP50 * 1000) / pods)} µs CPU/pod`,
      target: `CPU < ${TICK_TARGET_CPU_MS} ms`,
      verdict: cpuP50 < TICK_TARGET_CPU_MS ? "PASS" : "FAIL",
      note: "CPU p50 (the issue's measure)",
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * One `/metrics` collection over `pods` pods with groups (3 L3 events, 2 domains each), cache
 * expired every time, so each answer includes the readings pass. `source` "memfs" reads MemFs's
 * synthetic readings; "disk" reads a resctrl-shaped tree of real files.
 */
export async function benchScrape(pods = 1000, source: "memfs" | "disk" = "memfs", n = 9): Promise<BenchRow> {
  const dir = source === "disk" ? mkdtempSync(join(tmpdir(), "bench-scrape-")) : undefined;
  try {
    const domains = ["mon_L3_00", "mon_L3_01"];
    let resctrl: Resctrl;
    if (dir) {
      const root = join(dir, "resctrl");
      mkdirSync(join(root, "info", "L3_MON"), { recursive: true });
      mkdirSync(join(root, "mon_groups"), { recursive: true });
      writeFileSync(join(root, "tasks"), ""); // what the group layer checks for a mounted resctrl
      for (const d of domains) mkdirSync(join(root, "mon_data", d), { recursive: true });
      writeFileSync(
        join(root, "info", "L3_MON", "mon_features"),
        "llc_occupancy\nmbm_total_bytes\nmbm_local_bytes\n",
      );
      writeFileSync(join(root, "info", "L3_MON", "num_rmids"), `${pods + 64}\n`);
      resctrl = Resctrl.real({ root, groupPrefix: "pod_" });
    } else {
      const fs = MemFs.withResctrl({
        root: BENCH_ROOT,
        rmidCapacity: BENCH_RMIDS,
        audit: false,
        syntheticMonData: true,
        l3Domains: domains,
      });
      resctrl = Resctrl.withProvider(fs, { root: BENCH_ROOT, groupPrefix: "pod_" });
    }
    const pids = new MockPidSource();
    const plugin = ResctrlPlugin.withPidSource({ cleanupOnStart: false, autoMount: false }, resctrl, pids);
    if (dir) await plugin.synchronize([], []); // startup (the tree is not a mount: only logged) before groups exist
    const all = Array.from({ length: pods }, (_, p) => benchPod(p));
    const ctrs = all.map((pod, p) => {
      const c = benchContainer(pod, p, 0);
      pids.setPids(c.id, [100_000 + p]);
      return c;
    });
    if (dir) {
      for (const pod of all) {
        const g = resctrl.groupPathFor(pod.uid);
        for (const d of domains) {
          mkdirSync(join(g, "mon_data", d), { recursive: true });
          for (const [e, v] of [
            ["llc_occupancy", 1 << 20],
            ["mbm_total_bytes", 123456789],
            ["mbm_local_bytes", 6789],
          ] as const)
            writeFileSync(join(g, "mon_data", d, e), `${v}\n`);
        }
        writeFileSync(join(g, "tasks"), "");
      }
    }
    await plugin.synchronize(all, ctrs);
    await plugin.idle();
    const exists = plugin.snapshot().filter((s) => s.groupState.kind === "Exists").length;
    if (exists !== pods) throw new Error(`failed to set up ${pods} pods with groups: ${exists}`);
    let clock = 0;
    const metrics = new DaemonMetrics({
      plugin,
      resctrl,
      runtime: connected,
      nodeName: "bench",
      logger: pino({ level: "silent" }),
      now: () => clock,
    });
    const wall: number[] = [];
    const cpu: number[] = [];
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      clock += 10_000; // cache expired: every answer runs a readings pass
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      const text = await metrics.metrics();
      wall.push(msSince(t0));
      cpu.push(cpuSince(c0));
      bytes = text.length;
      const series = text
        .split("\n")
        .filter((l) => l.startsWith("nri_resctrl_pod_llc_occupancy_bytes{")).length;
      if (series !== pods) throw new Error(`failed: ${series} occupancy series for ${pods} pods`);
    }
    await plugin.close();
    const p50 = percentile(wall, 50);
    return {
      row: `/metrics over ${pods} pods, readings from ${source === "disk" ? "files on disk (RealFs)" : "MemFs"}`,
      n,
      p50: r3(p50),
      p99: r3(percentile(wall, 99)),
      cpuP50: r3(percentile(cpu, 50)),
      cpuP99: r3(percentile(cpu, 99)),
      value: `${Math.round(bytes / 1024)} KiB text, ${pods * domains.length * 3} files read`,
      target: `< ${SCRAPE_TARGET_MS} ms`,
      verdict: p50 < SCRAPE_TARGET_MS ? "PASS" : "FAIL",
      note: "wall p50, cache expired",
    };
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
