// A real Prometheus scraping the real daemon. The daemon (`node --import tsx src/cli.ts`) runs with
// the memory resctrl provider (synthetic, deterministic mon_data: llc_occupancy = tasks × 1 MiB,
// mbm_total grows by tasks × 1 MiB per second), `--http-listen 127.0.0.1:0` and NODE_NAME, driven by
// FakeRuntime over a temp NRI socket; one pod's container has a fixture cgroup listing a live
// `sleep` (one thread, so one task). Debian's `/usr/bin/prometheus` scrapes it every second from a
// temp config and TSDB; the test reads the series back through Prometheus's query API, and runs
// `promtool check metrics` on a raw scrape.
// Without prometheus/promtool the suite is skipped with the reason, unless
// NRI_RESCTRL_REQUIRE_PROMETHEUS=1 (CI sets it), which turns the missing tools into a failure.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { execa, type ResultPromise } from "execa";
import type { NriContainer } from "../src/nri/types.js";
import { FakeRuntime } from "../support/fakes/fake-runtime.js";
import { fakeContainer, fakePod } from "../support/fakes/fake-runtime-fixtures.js";
import {
  PROMETHEUS_TMPDIR_ENV,
  REQUIRE_PROMETHEUS_ENV,
  poll,
  prometheusTools,
  promtoolCheckMetrics,
  startPrometheus,
  stopProcess,
  type PrometheusServer,
} from "./support/prometheus.js";

const repo = new URL("..", import.meta.url).pathname;
const MIB = 1_048_576;
const NODE = "scrape-node-1";
const LLC = "nri_resctrl_pod_llc_occupancy_bytes";
const MBM_TOTAL = "nri_resctrl_pod_mbm_total_bytes_total";
const MBM_LOCAL = "nri_resctrl_pod_mbm_local_bytes_total";

const tools = prometheusTools();
const required = process.env[REQUIRE_PROMETHEUS_ENV] === "1";

if (!tools.ok) {
  describe("a real Prometheus scrapes the daemon's /metrics", () => {
    it("needs Debian's prometheus and promtool", (t) => {
      if (required) assert.fail(`${REQUIRE_PROMETHEUS_ENV}=1, but ${tools.reason}`);
      t.skip(`${tools.reason}; set ${REQUIRE_PROMETHEUS_ENV}=1 to fail instead of skipping`);
    });
  });
} else {
  describe("a real Prometheus scrapes the daemon's /metrics", () => {
    const dir = mkdtempSync(join(process.env[PROMETHEUS_TMPDIR_ENV] || tmpdir(), "prometheus-scrape-"));
    const nriSock = join(dir, "nri", "nri.sock");
    const cgroupRoot = join(dir, "cgroup");
    const pod = fakePod(7, { name: "web-0", namespace: "shop" });
    const other = fakePod(8, { name: "idle-0", namespace: "shop" });
    let container: NriContainer;
    let sleeper: ResultPromise<{ reject: false }> | undefined;
    let runtime: FakeRuntime | undefined;
    let daemon: ResultPromise<{ reject: false; all: true }> | undefined;
    let daemonOut = "";
    let metricsPort = 0;
    let prom: PrometheusServer | undefined;

    /** What to print when an assertion fails: both processes' output and the target health. */
    const diagnostics = async (): Promise<string> => {
      const targets = await prom?.targets().catch((e: Error) => e.message);
      return `\n--- targets:\n${targets ?? "(no prometheus)"}\n--- daemon output:\n${daemonOut.slice(-4000)}\n--- prometheus log:\n${prom?.log().slice(-4000) ?? ""}`;
    };

    before(async () => {
      if (!tools.ok) return; // narrowed above; keeps tsc happy inside the closure
      mkdirSync(cgroupRoot, { recursive: true });
      writeFileSync(join(cgroupRoot, "cgroup.controllers"), "cpu pids\n");
      sleeper = execa("sleep", ["600"], { reject: false });
      assert.ok(sleeper.pid, "sleep started");
      container = fakeContainer(pod, 7, { pid: sleeper.pid });
      const cg = join(cgroupRoot, container.cgroupsPath);
      mkdirSync(cg, { recursive: true });
      writeFileSync(join(cg, "cgroup.procs"), `${sleeper.pid}\n`);

      runtime = await FakeRuntime.listen({ socketPath: nriSock });
      runtime.addPod(pod);
      runtime.addContainer(container);
      runtime.addPod(other); // a pod without containers: a group with no tasks, reads 0

      // The daemon's own environment: no NRI_RESCTRL_* from the caller's (they would override defaults).
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(process.env))
        if (v !== undefined && !k.startsWith("NRI_RESCTRL_")) env[k] = v;
      env.NODE_NAME = NODE;
      daemon = execa(
        process.execPath,
        [
          "--import",
          "tsx",
          "src/cli.ts",
          "--resctrl-provider",
          "memory",
          "--nri-socket",
          nriSock,
          "--cgroup-root",
          cgroupRoot,
          "--http-listen",
          "127.0.0.1:0",
          "--log-level",
          "info",
        ],
        { cwd: repo, reject: false, all: true, env, extendEnv: false },
      );
      daemon.all?.on("data", (b: Buffer) => (daemonOut += b.toString()));
      metricsPort = await poll(
        "the daemon's 'serving /metrics' log line",
        () => {
          if (daemon?.exitCode !== null) throw new Error(`daemon exited: ${daemonOut}`);
          for (const l of daemonOut.split("\n")) {
            if (!l.startsWith("{")) continue;
            const j = JSON.parse(l) as { msg?: string; port?: number; host?: string };
            if (j.msg === "serving /metrics, /healthz and /readyz" && j.port) {
              assert.equal(j.host, "127.0.0.1");
              return j.port;
            }
          }
          return undefined;
        },
        30_000,
        50,
      );
      await runtime.waitForPlugin(30_000);
      prom = await startPrometheus({
        bin: tools.prometheus,
        dir: join(dir, "prometheus"),
        target: `127.0.0.1:${metricsPort}`,
        scrapeIntervalS: 1,
      });
    });

    after(async () => {
      // Every process started here, then the temp dir (prometheus's TSDB included), also after a failure.
      await prom?.stop().catch(() => undefined);
      await stopProcess(daemon).catch(() => undefined);
      sleeper?.kill("SIGKILL");
      await sleeper;
      await runtime?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it("the daemon is healthy and, once synchronized, ready", async () => {
      const h = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
      assert.equal(h.status, 200);
      await poll(
        "/readyz 200",
        async () => (await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status === 200,
        20_000,
        100,
      );
    });

    it("Prometheus stores the pod's llc_occupancy with pod_uid, pod_name, pod_namespace and node", async () => {
      const sel = `${LLC}{pod_uid="${pod.uid}"}`;
      const found = await poll(
        `${sel} > 0 in Prometheus`,
        async () => {
          const r = await prom!.instant(sel);
          return r.length === 1 && Number(r[0]!.value[1]) > 0 && r[0]!;
        },
        30_000,
      ).catch(async (e: Error) => assert.fail(`${e.message}${await diagnostics()}`));
      const m = found.metric;
      assert.equal(m.__name__, LLC);
      assert.equal(m.pod_uid, pod.uid);
      assert.equal(m.pod_name, "web-0");
      assert.equal(m.pod_namespace, "shop");
      assert.equal(m.node, NODE);
      assert.equal(m.job, "nri-resctrl-plugin", "scraped by our job");
      assert.equal(m.instance, `127.0.0.1:${metricsPort}`);
      // One task (sleep is single-threaded) → exactly 1 MiB.
      assert.equal(Number(found.value[1]), MIB);
      const up = await prom!.instant(`up{instance="127.0.0.1:${metricsPort}"}`);
      assert.equal(up[0]?.value[1], "1", "the target is up");
    });

    it("the pod without tasks is exported too, with 0 bytes", async () => {
      const r = await poll(
        `${LLC}{pod_uid="${other.uid}"}`,
        async () => {
          const v = await prom!.instant(`${LLC}{pod_uid="${other.uid}"}`);
          return v.length === 1 && v;
        },
        15_000,
      ).catch(async (e: Error) => assert.fail(`${e.message}${await diagnostics()}`));
      assert.equal(r[0]!.metric.pod_name, "idle-0");
      assert.equal(Number(r[0]!.value[1]), 0);
    });

    it("mbm_total_bytes grows: rate() near 1 MiB/s per task, successive samples increase; mbm_local is half", async () => {
      const sel = `${MBM_TOTAL}{pod_uid="${pod.uid}"}`;
      // rate() over a window the series does not fill yet extrapolates only half an interval past
      // its first sample and so reads low: wait for 6 samples in the last 6 s first.
      await poll(
        `count_over_time(${sel}[6s]) >= 6`,
        async () => {
          const r = await prom!.instant(`count_over_time(${sel}[6s])`);
          return r.length === 1 && Number(r[0]!.value[1]) >= 6;
        },
        30_000,
      ).catch(async (e: Error) => assert.fail(`${e.message}${await diagnostics()}`));
      const r = await prom!.instant(`rate(${sel}[5s])`);
      assert.equal(r.length, 1, `one rate series: ${JSON.stringify(r)}`);
      const rate = Number(r[0]!.value[1]);
      // The daemon caches readings for up to 1 s, so a window's samples lag their timestamps a bit.
      assert.ok(rate > 0.5 * MIB && rate < 2 * MIB, `rate ${rate} B/s ≈ 1 MiB/s`);
      const range = await prom!.query(`${sel}[10s]`);
      assert.equal(range.resultType, "matrix");
      const values = (range.result as Array<{ values: Array<[number, string]> }>)[0]!.values.map((v) =>
        Number(v[1]),
      );
      assert.ok(values.length >= 2, `several samples: ${values.join(", ")}`);
      for (let i = 1; i < values.length; i++)
        assert.ok(values[i]! >= values[i - 1]!, `a counter never decreases: ${values.join(", ")}`);
      assert.ok(values.at(-1)! > values[0]!, `the counter grew: ${values.join(", ")}`);
      const local = await prom!.instant(`${MBM_LOCAL}{pod_uid="${pod.uid}"}`);
      assert.equal(local.length, 1);
      assert.equal(local[0]!.metric.node, NODE);
      assert.ok(Number(local[0]!.value[1]) > 0);
      // Same scrape, same labels: the division matches the two series one to one.
      const ratio = await prom!.instant(`${MBM_LOCAL}{pod_uid="${pod.uid}"} / ${sel}`);
      assert.equal(ratio.length, 1, `local and total match on every label: ${JSON.stringify(ratio)}`);
      assert.ok(Math.abs(Number(ratio[0]!.value[1]) - 0.5) < 0.01, `local/total = ${ratio[0]!.value[1]}`);
    });

    it("a raw scrape of /metrics passes `promtool check metrics` with no lint problem", async () => {
      if (!tools.ok) return;
      const r = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      assert.equal(r.status, 200);
      assert.match(r.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
      const text = await r.text();
      assert.match(text, new RegExp(`^${LLC}\\{[^}]*pod_uid="${pod.uid}"[^}]*\\} ${MIB}$`, "m"));
      const check = promtoolCheckMetrics(tools.promtool, text);
      assert.equal(check.status, 0, `promtool check metrics exit ${check.status}:\n${check.output}`);
      assert.equal(check.output.trim(), "", `promtool printed lint problems:\n${check.output}`);
    });
  });
}
