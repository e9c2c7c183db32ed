/**
 * Daemon-equivalent RSS at 10,000 tasks: the parent holds the fake runtime (1,000 pods × 5
 * containers, 2 threads each), `rss-child.ts` runs the plugin side in its own process. RSS is
 * read after a forced GC once every container is Reconciled; peak RSS (VmHWM) is reported too.
 */
import { fork } from "node:child_process";
import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { FakeRuntime } from "../support/fakes/fake-runtime.js";
import { tempSocket } from "../support/fakes/fake-runtime-fixtures.js";
import { benchContainer, benchPod, r3, type BenchRow } from "./harness.js";

/** RSS target of the daemon at 10,000 tasks (MB). */
export const RSS_TARGET_MB = 100;

interface ChildReport {
  tasks: number;
  baselineRss: number;
  heapTotal: number;
  rss: number;
  heapUsed: number;
  external: number;
  peakRssKb: number;
}

/** Spawns the child, serves it the state, waits for its report (rejects after 300 s), stops it. */
export async function benchDaemonRss(pods = 1000, perPod = 5, threads = 2): Promise<BenchRow> {
  const sock = tempSocket("nri-bench-rss-");
  const runtime = await FakeRuntime.listen({ socketPath: sock.path, requestTimeoutMs: 10_000 });
  for (let p = 0; p < pods; p++) {
    const pod = benchPod(p);
    runtime.addPod(pod);
    for (let c = 0; c < perPod; c++) runtime.addContainer(benchContainer(pod, p, c));
  }
  const here = dirname(fileURLToPath(import.meta.url));
  // Bundled to plain JS so the child's RSS holds no TypeScript loader (tsx runs its hooks in a
  // worker thread with its own heap); packages stay external and resolve from node_modules.
  const outfile = join(here, "..", "reports", "bench-build", "rss-child.mjs");
  await build({
    entryPoints: [join(here, "rss-child.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    outfile,
    logLevel: "error",
  });
  const child = fork(
    outfile,
    [sock.path, join(dirname(sock.path), "control.sock"), String(pods), String(perPod), String(threads)],
    {
      execArgv: ["--expose-gc", ...(process.env.BENCH_CHILD_NODE_ARGS ?? "").split(" ").filter(Boolean)],
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    },
  );
  try {
    const report = await new Promise<ChildReport>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error("failed to measure RSS: child silent for 120 s")),
        120_000,
      );
      child.once("message", (m) => {
        clearTimeout(timer);
        resolve(m as ChildReport);
      });
      child.once("exit", (code) => reject(new Error(`failed to measure RSS: child exited with ${code}`)));
    });
    const expected = pods * perPod * threads;
    if (report.tasks !== expected) throw new Error(`failed to place every task: ${report.tasks}/${expected}`);
    const mb = report.rss / 2 ** 20;
    return {
      row: `daemon-equivalent RSS at ${expected} tasks (child process)`,
      n: expected,
      value:
        `${r3(mb)} MB after GC (before connecting ${r3(report.baselineRss / 2 ** 20)} MB; peak ` +
        `${r3(report.peakRssKb / 1024)} MB; heap used/total ${r3(report.heapUsed / 2 ** 20)}/` +
        `${r3(report.heapTotal / 2 ** 20)} MB; external ${r3(report.external / 2 ** 20)} MB)`,
      target: `< ${RSS_TARGET_MB} MB`,
      verdict: mb < RSS_TARGET_MB ? "PASS" : "FAIL",
      note: "plugin side + control API in a child (bundled JS, plain node); MockPidSource instead of /proc",
    };
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => (child.exitCode === null ? child.once("exit", r) : r(undefined)));
    await runtime.close();
    sock.cleanup();
  }
}
