/**
 * Does Synchronize keep the daemon responsive at scale? The plugin side wired as `startDaemon`
 * wires it for `--resctrl-provider memory` (MemFs checking /proc, the real `RealCgroupPidSource`
 * over the floor fixture's cgroup tree and live processes, an info logger to /dev/null), in this
 * process; `synchronize()` over `pods` pods × 5 and its background work (group creation, then the
 * reconciles) while a 10 ms interval timer measures the longest stretch the event loop could not
 * run it (so at least 10 ms). While the loop is blocked nothing else is served (the NRI
 * connection, control API, /metrics), and the inline budget (`syncInlineBudgetMs`, a timer)
 * cannot fire. Target: no block longer than {@link MAX_BLOCK_MS}.
 */
import { existsSync } from "node:fs";
import { pino } from "pino";
import { MemFs } from "../src/memfs/index.js";
import { DEFAULT_PLUGIN_CONFIG } from "../src/plugin/config.js";
import { ResctrlPlugin } from "../src/plugin/plugin.js";
import { RealCgroupPidSource } from "../src/plugin/real-pid-source.js";
import { Resctrl } from "../src/resctrl/index.js";
import { FLOOR_PER_POD, floorFixture } from "./floor-bench.js";
import { r3, type BenchRow } from "./harness.js";

/** The longest event-loop block allowed during a Synchronize and its background work (ms). */
export const MAX_BLOCK_MS = 50;

/** `synchronize()` of `pods` × 5 with the default budget: reply time and longest event-loop block. */
export async function benchSyncBudget(pods: number): Promise<BenchRow> {
  const fx = floorFixture(pods, FLOOR_PER_POD, 0);
  try {
    const log = pino({ level: "info" }, pino.destination("/dev/null"));
    const root = "/sys/fs/resctrl";
    const fs = MemFs.withResctrl({
      root,
      rmidCapacity: pods + 64,
      pidExists: (pid) => existsSync(`/proc/${pid}`),
      audit: false,
      syntheticMonData: true,
    });
    const resctrl = Resctrl.withProvider(fs, { root, groupPrefix: "pod_", logger: log });
    const pids = new RealCgroupPidSource({ cgroupRoot: fx.cgroupRoot, procRoot: "/proc", logger: log });
    const plugin = ResctrlPlugin.withPidSource({}, resctrl, pids, { logger: log });
    const budget = DEFAULT_PLUGIN_CONFIG.syncInlineBudgetMs;
    let last = performance.now();
    let longest = 0;
    const tick = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
    }, 10);
    const t0 = performance.now();
    last = t0;
    await plugin.synchronize(fx.pods, fx.synced);
    const replyMs = performance.now() - t0;
    await plugin.idle();
    const idleMs = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 20));
    clearInterval(tick);
    const done = plugin.snapshot().filter((s) => s.reconciledContainers === FLOOR_PER_POD).length;
    await plugin.close();
    if (done !== pods) throw new Error(`failed to reconcile every pod: ${done}/${pods}`);
    return {
      row: `Synchronize ${pods} pods × ${FLOOR_PER_POD}: longest event-loop block (in-process)`,
      n: pods * FLOOR_PER_POD,
      wallMs: r3(longest),
      value: `longest block ${r3(longest)} ms; reply after ${r3(replyMs)} ms; all reconciled after ${r3(idleMs)} ms`,
      target: `block < ${MAX_BLOCK_MS} ms`,
      verdict: longest < MAX_BLOCK_MS ? "PASS" : "FAIL",
      note: `inline budget ${budget} ms (a timer: a longer block cannot be cut short by it); the 10 ms probe interval is included`,
    };
  } finally {
    fx.close();
  }
}
