/**
 * Child process of the RSS benchmark: the daemon's plugin side as `startDaemon` wires it for
 * `--resctrl-provider memory` (Resctrl over MemFs, ResctrlPlugin, NriStub, the control API server,
 * an info-level pino logger writing to /dev/null), except that PIDs come from a MockPidSource
 * scripted with the same grid the parent's fake runtime holds (the real daemon's /proc check would
 * need 10,000 live threads on this host). Usage: rss-child.ts <nri-socket> <control-socket> <pods>
 * <containers-per-pod> <threads>. Reports memory over IPC once every container is Reconciled.
 */
import { pino } from "pino";
import { ControlApiServer } from "../src/control/index.js";
import { NriStub } from "../src/nri/index.js";
import { ResctrlPlugin } from "../src/plugin/plugin.js";
import { Resctrl } from "../src/resctrl/index.js";
import { MemFs, MockPidSource } from "../src/testing/index.js";
import { readFileSync } from "node:fs";
import { BENCH_ROOT, benchContainer, benchPod, benchTids, until } from "./harness.js";

const [nriSocket, controlSocket, podsArg, perPodArg, threadsArg] = process.argv.slice(2);
const pods = Number(podsArg);
const perPod = Number(perPodArg);
const threads = Number(threadsArg);
const log = pino({ level: "info" }, pino.destination("/dev/null"));
const fs = MemFs.withResctrl({ root: BENCH_ROOT, rmidCapacity: pods + 64, audit: false }); // as the daemon
const resctrl = Resctrl.withProvider(fs, { root: BENCH_ROOT, groupPrefix: "pod_", logger: log });
const pids = new MockPidSource();
for (let p = 0; p < pods; p++) {
  const pod = benchPod(p);
  for (let c = 0; c < perPod; c++) pids.setPids(benchContainer(pod, p, c).id, benchTids(p, c, threads));
}
const plugin = ResctrlPlugin.withPidSource({}, resctrl, pids, { logger: log });
(globalThis as { gc?: () => void }).gc?.();
const baselineRss = process.memoryUsage().rss;
const control = await ControlApiServer.listen({ socketPath: controlSocket ?? "", plugin, logger: log });
const stub = new NriStub(plugin, { name: "resctrl", idx: "10", socketPath: nriSocket, logger: log });
await stub.start();
await stub.waitSynchronized(60_000);
await until(
  () => plugin.snapshot().filter((s) => s.reconciledContainers === perPod).length === pods,
  120_000,
  "all reconciled",
  20,
);
await plugin.idle();
const tasks = fs.groupPaths().reduce((n, g) => n + (g === BENCH_ROOT ? 0 : fs.tasksOf(g).length), 0);
(globalThis as { gc?: () => void }).gc?.();
const m = process.memoryUsage();
const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
process.send?.({
  tasks,
  baselineRss,
  rss: m.rss,
  heapUsed: m.heapUsed,
  heapTotal: m.heapTotal,
  external: m.external,
  peakRssKb: Number(hwm ?? 0),
});
process.once("SIGTERM", () => {
  void stub
    .stop()
    .then(() => control.close())
    .then(() => process.exit(0));
});
