/**
 * `npm run bench`: runs every benchmark in turn, prints the table and writes reports/bench.json
 * (rows + machine). Not part of `npm test`. Optional arguments select rows by substring of their
 * key (start, sync, retry, tick, scrape, cleanup, rss, passes, floor, scale, containerd), e.g.
 * `npm run bench -- sync rss`. `floor` and `scale` spawn the daemon (dist/cli.js, built first) and the
 * floor plugin (bench/floor-plugin.ts) and print daemon / floor / ratio (bench/floor-bench.ts).
 * Exit code 0 even when a target is missed (the table says FAIL); 1 if a benchmark broke.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { benchScrape, benchSweepTick } from "./agent-benches.js";
import { benchContainerdStart } from "./containerd-bench.js";
import { machineInfo, type BenchRow } from "./harness.js";
import { benchFloor, benchFloorScale } from "./floor-bench.js";
import { benchDaemonRss } from "./rss-bench.js";
import { benchSyncBudget } from "./sync-budget-bench.js";
import { benchStartContainer, benchSynchronize } from "./socket-benches.js";
import { benchCleanupAll, benchReconcilePasses, benchRetryAllOnce } from "./state-benches.js";

const BENCHES: Array<[key: string, run: () => Promise<BenchRow | BenchRow[]>]> = [
  ["start", () => benchStartContainer(1000, 10)],
  ["sync", () => benchSynchronize(100)],
  ["sync", () => benchSynchronize(250)],
  ["sync", () => benchSynchronize(1000)],
  ["retry", () => benchRetryAllOnce(1000)],
  ["tick", () => benchSweepTick(1000)],
  ["scrape", () => benchScrape(1000, "memfs")],
  ["scrape", () => benchScrape(1000, "disk")],
  ["cleanup", () => benchCleanupAll(5000)],
  ["rss", () => benchDaemonRss(1000, 5, 2)],
  ["passes", () => benchReconcilePasses(200)],
  ["floor", () => benchFloor(1000)],
  ["scale", () => benchFloorScale([100, 1000, 5000])],
  ["scale", () => benchDaemonRss(1000, 5, 2)],
  ["scale", () => benchDaemonRss(5000, 5, 2)],
  ["scale", () => benchSyncBudget(1000)],
  ["scale", () => benchSyncBudget(5000)],
  ["containerd", () => benchContainerdStart(5, 10)],
];

/** Fixed-width text table of `rows`. Pure. */
export function formatTable(rows: readonly BenchRow[]): string {
  const num = (x: number | undefined): string => (x === undefined ? "" : String(x));
  const cells = rows.map((r) => [
    r.row,
    String(r.n),
    r.p50 === undefined ? "" : `${num(r.p50)} / ${num(r.p99)}`,
    r.cpuP50 === undefined ? "" : `${num(r.cpuP50)} / ${num(r.cpuP99)}`,
    num(r.wallMs),
    num(r.cpuMs),
    r.target,
    r.verdict,
    [r.value, r.note].filter(Boolean).join(" | "),
  ]);
  const head = ["row", "n", "p50/p99 ms", "cpu p50/p99", "wall ms", "cpu ms", "target", "verdict", "details"];
  const widths = head.map((h, i) =>
    Math.max(h.length, ...cells.map((c) => (i === 8 ? 0 : (c[i] ?? "").length))),
  );
  const line = (c: string[]): string => c.map((x, i) => (i === 8 ? x : x.padEnd(widths[i] ?? 0))).join("  ");
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}

async function main(): Promise<number> {
  const only = process.argv.slice(2);
  const rows: BenchRow[] = [];
  let broken = 0;
  for (const [key, run] of BENCHES) {
    if (only.length > 0 && !only.some((o) => key.includes(o))) continue;
    process.stderr.write(`bench: ${key} …\n`);
    try {
      const r = await run();
      rows.push(...(Array.isArray(r) ? r : [r]));
    } catch (err) {
      broken += 1;
      rows.push({ row: key, n: 0, target: "", verdict: "FAIL", note: `broken: ${String(err)}` });
    }
  }
  const machine = machineInfo();
  console.log(formatTable(rows));
  console.log(`\nmachine: ${JSON.stringify(machine)}`);
  const out = join(dirname(fileURLToPath(import.meta.url)), "..", "reports", "bench.json");
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), machine, rows }, null, 2)}\n`);
  console.log(`written: ${out}`);
  return broken > 0 ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  void main().then((code) => process.exit(code));
}
