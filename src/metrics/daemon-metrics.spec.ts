// DaemonMetrics: metric names, labels and types (parsed from the text format), per-pod series that
// follow the pods, left-out unreadable samples, the generic naming rule, the node label, the cached
// single-flight readings pass, mirrored counters, the histogram and a failing resctrl.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { pino } from "pino";
import { register as globalRegister } from "prom-client";
import { DaemonMetrics, NRI_REQUEST_BUCKETS } from "./daemon-metrics.js";
import { podMetricSpec, sanitizeMetricPart } from "./metric-names.js";
import type {
  GroupMonData,
  MetricsPluginView,
  MetricsPodSnapshot,
  MonCapabilities,
  MonDataReader,
  RuntimeStatusView,
} from "./types.js";

// ---- a minimal parser of the Prometheus text format -------------------------------------------

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Scrape {
  samples: Sample[];
  types: Map<string, string>;
  helps: Map<string, string>;
}

function parseLabels(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/y;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    assert.ok(m, `bad labels at ${pos}: ${s}`);
    out[m[1] as string] = (m[2] as string).replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    pos = re.lastIndex;
  }
  return out;
}

function parseText(text: string): Scrape {
  const scrape: Scrape = { samples: [], types: new Map(), helps: new Map() };
  for (const line of text.split("\n")) {
    if (line === "") continue;
    let m = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (m) {
      scrape.types.set(m[1] as string, m[2] as string);
      continue;
    }
    m = /^# HELP (\S+) (.*)$/.exec(line);
    if (m) {
      scrape.helps.set(m[1] as string, m[2] as string);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `unparseable line: ${line}`);
    scrape.samples.push({ name: m[1] as string, labels: parseLabels(m[2] ?? ""), value: Number(m[3]) });
  }
  return scrape;
}

const series = (s: Scrape, name: string): Sample[] => s.samples.filter((x) => x.name === name);
function value(s: Scrape, name: string, labels: Record<string, string> = {}): number | undefined {
  const hit = series(s, name).filter((x) => Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  assert.ok(hit.length <= 1, `${name} ${JSON.stringify(labels)} matches ${hit.length} series`);
  return hit[0]?.value;
}

// ---- fakes of the three views -------------------------------------------------------------------

function pod(uid: string, extra: Partial<MetricsPodSnapshot> = {}): MetricsPodSnapshot {
  return {
    podUid: uid,
    podName: `name-${uid}`,
    podNamespace: "ns",
    groupState: { kind: "Exists", path: `/sys/fs/resctrl/mon_groups/p_${uid}` },
    containers: [{ state: "Reconciled" }],
    ...extra,
  };
}

class FakePlugin implements MetricsPluginView {
  pods: MetricsPodSnapshot[] = [];
  unassigned: Array<{ state: string }> = [];
  unmonitored: Array<{ podUid: string; podName: string; podNamespace: string }> = [];
  stats = {
    groupCreateFailures: { capacity: 0, other: 0 },
    retrySweeps: 0,
    podsPruned: 0,
    containersVanished: 0,
  };
  droppedEvents = 0;
  snapshot(): MetricsPodSnapshot[] {
    return this.pods.map((p) => ({ ...p }));
  }
  unassignedContainers(): Array<{ state: string }> {
    return this.unassigned;
  }
  unmonitoredPods(): Array<{ podUid: string; podName: string; podNamespace: string }> {
    return this.unmonitored;
  }
  health(): { resctrl: "usable" } {
    return { resctrl: "usable" };
  }
}

const L3: MonCapabilities = {
  features: { L3: ["llc_occupancy", "mbm_total_bytes", "mbm_local_bytes"] },
  numRmids: 16,
};

class FakeResctrl implements MonDataReader {
  caps: MonCapabilities = L3;
  capsError: Error | undefined;
  rmidsError: Error | undefined;
  used = 3;
  /** Per group path; default: all three L3 readings derived from the path length. */
  data = new Map<string, GroupMonData | Error>();
  reads: string[] = [];
  active = 0;
  maxActive = 0;
  /** When set, every read waits for it. */
  gate: Promise<void> | undefined;
  async monCapabilities(): Promise<MonCapabilities> {
    if (this.capsError) throw this.capsError;
    return this.caps;
  }
  async readGroupMonData(path: string): Promise<GroupMonData> {
    this.reads.push(path);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      await (this.gate ?? Promise.resolve());
      await new Promise((r) => setImmediate(r));
      const d = this.data.get(path);
      if (d instanceof Error) throw d;
      return (
        d ?? {
          samples: [
            { resource: "L3", event: "llc_occupancy", value: 1000 },
            { resource: "L3", event: "mbm_total_bytes", value: 2000 },
            { resource: "L3", event: "mbm_local_bytes", value: 1500 },
          ],
          unreadable: [],
        }
      );
    } finally {
      this.active--;
    }
  }
  async rmidsInUse(): Promise<number> {
    if (this.rmidsError) throw this.rmidsError;
    return this.used;
  }
}

class FakeRuntime implements RuntimeStatusView {
  isConnected = true;
  isSynchronized = true;
  reconnectCount = 0;
  connected(): boolean {
    return this.isConnected;
  }
  synchronized(): boolean {
    return this.isSynchronized;
  }
  reconnects(): number {
    return this.reconnectCount;
  }
}

function captureLogger(): {
  logger: pino.Logger;
  lines: Array<{ level: number; msg: string; err?: string }>;
} {
  const lines: Array<{ level: number; msg: string; err?: string }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(JSON.parse(chunk.toString()));
      cb();
    },
  });
  return { logger: pino({ level: "debug" }, stream), lines };
}

function setup(opts: { nodeName?: string; cacheMs?: number } = {}) {
  const plugin = new FakePlugin();
  const resctrl = new FakeResctrl();
  const runtime = new FakeRuntime();
  let clock = 1_000_000;
  const log = captureLogger();
  const m = new DaemonMetrics({
    plugin,
    resctrl,
    runtime,
    nodeName: opts.nodeName,
    cacheMs: opts.cacheMs ?? 1000,
    logger: log.logger,
    now: () => clock,
  });
  const scrape = async (): Promise<Scrape> => parseText(await m.metrics());
  const advance = (ms: number): void => {
    clock += ms;
  };
  return { plugin, resctrl, runtime, m, scrape, advance, log };
}

const POD_LABEL_KEYS = ["pod_name", "pod_namespace", "pod_uid"];

// ---- tests ---------------------------------------------------------------------------------------

describe("DaemonMetrics", () => {
  it("exports exactly the documented names, types and labels", async () => {
    const { plugin, m, scrape } = setup();
    plugin.pods = [pod("a")];
    m.observeNriRequest("StartContainer", 0.001);
    const s = await scrape();
    const ours = new Map([...s.types].filter(([n]) => n.startsWith("nri_resctrl_")));
    assert.deepEqual(
      Object.fromEntries([...ours].sort()),
      Object.fromEntries(
        [
          ["nri_resctrl_pod_llc_occupancy_bytes", "gauge"],
          ["nri_resctrl_pod_mbm_total_bytes_total", "counter"],
          ["nri_resctrl_pod_mbm_local_bytes_total", "counter"],
          ["nri_resctrl_pods", "gauge"],
          ["nri_resctrl_unmonitored_pods", "gauge"],
          ["nri_resctrl_containers", "gauge"],
          ["nri_resctrl_rmids", "gauge"],
          ["nri_resctrl_group_create_failures_total", "counter"],
          ["nri_resctrl_retry_sweeps_total", "counter"],
          ["nri_resctrl_pods_pruned_total", "counter"],
          ["nri_resctrl_containers_vanished_total", "counter"],
          ["nri_resctrl_events_dropped_total", "counter"],
          ["nri_resctrl_runtime_connected", "gauge"],
          ["nri_resctrl_runtime_reconnects_total", "counter"],
          ["nri_resctrl_nri_request_duration_seconds", "histogram"],
          ["nri_resctrl_scrape_readings_duration_seconds", "gauge"],
          ["nri_resctrl_mon_read_errors_total", "counter"],
          ["nri_resctrl_readings_errors_total", "counter"],
        ].sort(),
      ),
    );
    for (const name of [
      "nri_resctrl_pod_llc_occupancy_bytes",
      "nri_resctrl_pod_mbm_total_bytes_total",
      "nri_resctrl_pod_mbm_local_bytes_total",
    ]) {
      const [x, ...rest] = series(s, name);
      assert.equal(rest.length, 0, name);
      assert.deepEqual(x?.labels, { pod_uid: "a", pod_namespace: "ns", pod_name: "name-a" }, name);
    }
    assert.equal(value(s, "nri_resctrl_pod_llc_occupancy_bytes"), 1000);
    assert.equal(value(s, "nri_resctrl_pod_mbm_total_bytes_total"), 2000);
    assert.equal(value(s, "nri_resctrl_pod_mbm_local_bytes_total"), 1500);
    assert.deepEqual(
      series(s, "nri_resctrl_pods")
        .map((x) => x.labels.group_state)
        .sort(),
      ["exists", "failed"],
    );
    assert.deepEqual(
      series(s, "nri_resctrl_containers")
        .map((x) => x.labels.state)
        .sort(),
      ["no_pod", "partial", "pending", "reconciled", "stopped"],
    );
    // default process metrics are on this registry, and nothing on prom-client's global one
    assert.ok(s.types.has("process_cpu_user_seconds_total"));
    assert.ok(s.types.has("nodejs_eventloop_lag_seconds"));
    assert.ok(s.types.has("nodejs_active_handles"));
    // prom-client's gauges named *_total (promtool lint problems; sums of the by-type gauges) are left out
    for (const n of [
      "nodejs_active_handles_total",
      "nodejs_active_requests_total",
      "nodejs_active_resources_total",
    ]) {
      assert.equal(s.types.has(n), false, n);
    }
    assert.equal(
      globalRegister.getMetricsAsArray().filter((x) => x.name.startsWith("nri_resctrl_")).length,
      0,
    );
  });

  it("a pod's series appear and disappear with it (immediately, even within the cache window)", async () => {
    const { plugin, scrape, advance } = setup();
    plugin.pods = [pod("a")];
    let s = await scrape();
    assert.deepEqual(
      series(s, "nri_resctrl_pod_llc_occupancy_bytes").map((x) => x.labels.pod_uid),
      ["a"],
    );
    advance(2000);
    plugin.pods = [pod("a"), pod("b", { podName: "web-0", podNamespace: "shop" })];
    s = await scrape();
    assert.deepEqual(
      series(s, "nri_resctrl_pod_mbm_total_bytes_total").map((x) => [
        x.labels.pod_uid,
        x.labels.pod_name,
        x.labels.pod_namespace,
      ]),
      [
        ["a", "name-a", "ns"],
        ["b", "web-0", "shop"],
      ],
    );
    plugin.pods = [pod("b", { podName: "web-0", podNamespace: "shop" })]; // a removed; cache still fresh
    s = await scrape();
    for (const name of ["nri_resctrl_pod_llc_occupancy_bytes", "nri_resctrl_pod_mbm_local_bytes_total"]) {
      assert.deepEqual(
        series(s, name).map((x) => x.labels.pod_uid),
        ["b"],
        name,
      );
    }
    advance(2000);
    plugin.pods = [];
    s = await scrape();
    assert.deepEqual(series(s, "nri_resctrl_pod_llc_occupancy_bytes"), []);
    assert.ok(s.types.has("nri_resctrl_pod_llc_occupancy_bytes"), "HELP/TYPE stay for an offered feature");
  });

  it("shows no stale readings for a pod whose group changed since the cached pass", async () => {
    const { plugin, resctrl, scrape, advance } = setup();
    plugin.pods = [pod("a")];
    await scrape();
    plugin.pods = [pod("a", { groupState: { kind: "Exists", path: "/sys/fs/resctrl/mon_groups/other" } })];
    let s = await scrape(); // within cacheMs: the cached readings are of the old path
    assert.deepEqual(series(s, "nri_resctrl_pod_llc_occupancy_bytes"), []);
    plugin.pods = [pod("a", { groupState: { kind: "Failed" } })];
    s = await scrape();
    assert.deepEqual(series(s, "nri_resctrl_pod_llc_occupancy_bytes"), []);
    advance(1000);
    plugin.pods = [pod("a", { groupState: { kind: "Exists", path: "/sys/fs/resctrl/mon_groups/other" } })];
    s = await scrape();
    assert.deepEqual(resctrl.reads.at(-1), "/sys/fs/resctrl/mon_groups/other");
    assert.equal(value(s, "nri_resctrl_pod_llc_occupancy_bytes", { pod_uid: "a" }), 1000);
  });

  it("exports no readings for a pod whose group Failed, and counts pods by group state", async () => {
    const { plugin, resctrl, scrape } = setup();
    plugin.pods = [
      pod("a"),
      pod("f", { groupState: { kind: "Failed" }, containers: [{ state: "Partial" }] }),
    ];
    const s = await scrape();
    assert.deepEqual(resctrl.reads, ["/sys/fs/resctrl/mon_groups/p_a"]);
    assert.deepEqual(
      series(s, "nri_resctrl_pod_llc_occupancy_bytes").map((x) => x.labels.pod_uid),
      ["a"],
    );
    assert.equal(value(s, "nri_resctrl_pods", { group_state: "exists" }), 1);
    assert.equal(value(s, "nri_resctrl_pods", { group_state: "failed" }), 1);
  });

  it("a pod with groups in several RDT classes: readings summed over its groups; unreadable in one → left out", async () => {
    const { plugin, resctrl, scrape } = setup();
    const gold = "/sys/fs/resctrl/gold/mon_groups/p_u1";
    const root = "/sys/fs/resctrl/mon_groups/p_u1";
    plugin.pods = [
      pod("u1", {
        groupState: { kind: "Exists", path: gold },
        groups: [
          { path: root, state: "Exists" },
          { path: gold, state: "Exists" },
          { path: "/sys/fs/resctrl/silver/mon_groups/p_u1", state: "Failed" },
        ],
      }),
    ];
    resctrl.data.set(gold, {
      samples: [
        { resource: "L3", event: "llc_occupancy", value: 24 },
        { resource: "L3", event: "mbm_total_bytes", value: 100 },
      ],
      unreadable: [{ resource: "L3", event: "mbm_local_bytes", reason: "Unavailable at mon_L3_00" }],
    });
    const s = await scrape();
    const labels = { pod_uid: "u1" };
    assert.equal(value(s, "nri_resctrl_pod_llc_occupancy_bytes", labels), 1024);
    assert.equal(value(s, "nri_resctrl_pod_mbm_total_bytes_total", labels), 2100);
    assert.equal(value(s, "nri_resctrl_pod_mbm_local_bytes_total", labels), undefined);
    assert.deepEqual(resctrl.reads.sort(), [gold, root].sort(), "the Failed group is not read");
  });

  it("leaves an unreadable sample out (never 0) and counts it", async () => {
    const { plugin, resctrl, scrape, advance } = setup();
    plugin.pods = [pod("a")];
    resctrl.data.set("/sys/fs/resctrl/mon_groups/p_a", {
      samples: [{ resource: "L3", event: "mbm_total_bytes", value: 42 }],
      unreadable: [
        { resource: "L3", event: "llc_occupancy", reason: "Unavailable" },
        { resource: "L3", event: "mbm_local_bytes", reason: "Error" },
      ],
    });
    let s = await scrape();
    assert.deepEqual(series(s, "nri_resctrl_pod_llc_occupancy_bytes"), []);
    assert.deepEqual(series(s, "nri_resctrl_pod_mbm_local_bytes_total"), []);
    assert.equal(value(s, "nri_resctrl_pod_mbm_total_bytes_total"), 42);
    assert.equal(
      value(s, "nri_resctrl_mon_read_errors_total", { resource: "L3", event: "llc_occupancy" }),
      1,
    );
    advance(1000);
    s = await scrape();
    assert.equal(
      value(s, "nri_resctrl_mon_read_errors_total", { resource: "L3", event: "llc_occupancy" }),
      2,
    );
    assert.equal(
      value(s, "nri_resctrl_mon_read_errors_total", { resource: "L3", event: "mbm_local_bytes" }),
      2,
    );
  });

  it("names any other (resource, event) nri_resctrl_pod_mon_<r>_<e>, created when the feature appears", async () => {
    assert.equal(sanitizeMetricPart("PERF_PKG"), "perf_pkg");
    assert.equal(sanitizeMetricPart("Mb-M.x/9 é"), "mb_m_x_9__");
    assert.deepEqual(podMetricSpec("L3", "llc_occupancy").name, "nri_resctrl_pod_llc_occupancy_bytes");
    assert.deepEqual(podMetricSpec("MB", "mbm_total_bytes").name, "nri_resctrl_pod_mon_mb_mbm_total_bytes");

    const { plugin, resctrl, scrape, advance } = setup();
    plugin.pods = [pod("a")];
    let s = await scrape();
    assert.ok(![...s.types.keys()].some((n) => n.startsWith("nri_resctrl_pod_mon_")));
    resctrl.caps = { features: { ...L3.features, PERF_PKG: ["core_energy", "activity"] }, numRmids: 16 };
    resctrl.data.set("/sys/fs/resctrl/mon_groups/p_a", {
      samples: [
        { resource: "L3", event: "llc_occupancy", value: 7 },
        { resource: "PERF_PKG", event: "core_energy", value: 12.5 },
      ],
      unreadable: [],
    });
    advance(1000);
    s = await scrape();
    assert.equal(s.types.get("nri_resctrl_pod_mon_perf_pkg_core_energy"), "gauge");
    assert.equal(s.types.get("nri_resctrl_pod_mon_perf_pkg_activity"), "gauge");
    assert.equal(value(s, "nri_resctrl_pod_mon_perf_pkg_core_energy", { pod_uid: "a" }), 12.5);
    assert.deepEqual(series(s, "nri_resctrl_pod_mon_perf_pkg_activity"), []);
    assert.deepEqual(
      Object.keys(series(s, "nri_resctrl_pod_mon_perf_pkg_core_energy")[0]?.labels ?? {}).sort(),
      POD_LABEL_KEYS,
    );
  });

  it("puts a node label on every series when nodeName is given, and none otherwise", async () => {
    const withNode = setup({ nodeName: "worker-1" });
    withNode.plugin.pods = [pod("a")];
    withNode.m.observeNriRequest("Synchronize", 0.5);
    const s = await withNode.scrape();
    assert.ok(s.samples.length > 50);
    for (const x of s.samples)
      assert.equal(x.labels.node, "worker-1", `${x.name} ${JSON.stringify(x.labels)}`);

    const without = setup();
    without.plugin.pods = [pod("a")];
    const t = await without.scrape();
    for (const x of t.samples) assert.equal(x.labels.node, undefined, x.name);
  });

  it("takes one readings pass for concurrent scrapes and at most one per cacheMs", async () => {
    const { plugin, resctrl, scrape, advance } = setup({ cacheMs: 1000 });
    plugin.pods = [pod("a"), pod("b")];
    let release!: () => void;
    resctrl.gate = new Promise<void>((r) => (release = r));
    const scrapes = Array.from({ length: 5 }, () => scrape());
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(resctrl.reads.length, 2, "one pass in flight, shared");
    release();
    const results = await Promise.all(scrapes);
    for (const s of results) assert.equal(series(s, "nri_resctrl_pod_llc_occupancy_bytes").length, 2);
    assert.equal(resctrl.reads.length, 2);

    advance(999);
    await scrape();
    assert.equal(resctrl.reads.length, 2, "cached within cacheMs");
    advance(1);
    await scrape();
    assert.equal(resctrl.reads.length, 4, "a new pass once cacheMs has passed");
  });

  it("reads groups with bounded concurrency (32)", async () => {
    const { plugin, resctrl, scrape } = setup();
    plugin.pods = Array.from({ length: 100 }, (_, i) => pod(`p${i}`));
    const s = await scrape();
    assert.equal(resctrl.reads.length, 100);
    assert.equal(resctrl.maxActive, 32);
    assert.equal(series(s, "nri_resctrl_pod_llc_occupancy_bytes").length, 100);
  });

  it("a group that cannot be read is left out; the other pods are exported", async () => {
    const { plugin, resctrl, scrape } = setup();
    plugin.pods = [pod("a"), pod("gone")];
    resctrl.data.set("/sys/fs/resctrl/mon_groups/p_gone", new Error("ENOENT"));
    const s = await scrape();
    assert.deepEqual(
      series(s, "nri_resctrl_pod_llc_occupancy_bytes").map((x) => x.labels.pod_uid),
      ["a"],
    );
    assert.equal(value(s, "nri_resctrl_readings_errors_total", { stage: "group" }), 1);
  });

  it("a pass that fails entirely exports no per-pod samples, logs once per distinct error, and the rest still answers", async () => {
    const { plugin, resctrl, runtime, scrape, advance, log } = setup();
    plugin.pods = [pod("a")];
    runtime.reconnectCount = 2;
    await scrape();
    resctrl.capsError = new Error("resctrl is not mounted at /sys/fs/resctrl");
    advance(1000);
    let s = await scrape();
    assert.deepEqual(series(s, "nri_resctrl_pod_llc_occupancy_bytes"), []);
    assert.deepEqual(series(s, "nri_resctrl_rmids"), []);
    assert.equal(value(s, "nri_resctrl_pods", { group_state: "exists" }), 1);
    assert.equal(value(s, "nri_resctrl_runtime_reconnects_total"), 2);
    assert.equal(value(s, "nri_resctrl_readings_errors_total", { stage: "capabilities" }), 1);
    advance(1000);
    await scrape();
    const warns = () => log.lines.filter((l) => l.level === 40);
    assert.equal(warns().length, 1, JSON.stringify(log.lines));
    assert.match(warns()[0]?.err ?? "", /not mounted/);
    resctrl.capsError = new Error("EACCES");
    advance(1000);
    await scrape();
    assert.equal(warns().length, 2);
    resctrl.capsError = undefined;
    advance(1000);
    s = await scrape();
    assert.equal(value(s, "nri_resctrl_pod_llc_occupancy_bytes", { pod_uid: "a" }), 1000);
    assert.ok(log.lines.some((l) => l.msg === "resctrl monitoring readings recovered"));
    assert.equal(value(s, "nri_resctrl_readings_errors_total", { stage: "capabilities" }), 3);
  });

  it("counts containers by state, unmonitored pods and RMIDs", async () => {
    const { plugin, resctrl, scrape, advance } = setup();
    plugin.pods = [
      pod("a", { containers: [{ state: "Reconciled" }, { state: "Reconciled" }, { state: "Partial" }] }),
      pod("b", { containers: [{ state: "Pending" }, { state: "Stopped" }] }),
    ];
    plugin.unassigned = [{ state: "NoPod" }, { state: "NoPod" }, { state: "Stopped" }];
    plugin.unmonitored = [{ podUid: "k", podName: "kube-proxy", podNamespace: "kube-system" }];
    resctrl.used = 5;
    let s = await scrape();
    const containers = Object.fromEntries(
      series(s, "nri_resctrl_containers").map((x) => [x.labels.state, x.value]),
    );
    assert.deepEqual(containers, { reconciled: 2, partial: 1, pending: 1, no_pod: 2, stopped: 2 });
    assert.equal(value(s, "nri_resctrl_unmonitored_pods"), 1);
    assert.equal(value(s, "nri_resctrl_rmids", { state: "used" }), 5);
    assert.equal(value(s, "nri_resctrl_rmids", { state: "free" }), 11);

    resctrl.used = 20; // more than the kernel's count (e.g. groups of other tools): free clamps at 0
    advance(1000);
    s = await scrape();
    assert.equal(value(s, "nri_resctrl_rmids", { state: "free" }), 0);

    resctrl.caps = { features: L3.features }; // numRmids unknown: no free
    advance(1000);
    s = await scrape();
    assert.equal(value(s, "nri_resctrl_rmids", { state: "used" }), 20);
    assert.equal(value(s, "nri_resctrl_rmids", { state: "free" }), undefined);

    resctrl.rmidsError = new Error("EIO");
    advance(1000);
    s = await scrape();
    assert.deepEqual(series(s, "nri_resctrl_rmids"), []);
    assert.equal(value(s, "nri_resctrl_readings_errors_total", { stage: "rmids" }), 1);
  });

  it("mirrors the plugin's and the runtime's counters at collect time", async () => {
    const { plugin, runtime, scrape } = setup();
    plugin.stats = {
      groupCreateFailures: { capacity: 3, other: 1 },
      retrySweeps: 7,
      podsPruned: 2,
      containersVanished: 3,
    };
    plugin.droppedEvents = 4;
    runtime.reconnectCount = 1;
    let s = await scrape();
    assert.equal(value(s, "nri_resctrl_group_create_failures_total", { reason: "capacity" }), 3);
    assert.equal(value(s, "nri_resctrl_group_create_failures_total", { reason: "other" }), 1);
    assert.equal(value(s, "nri_resctrl_retry_sweeps_total"), 7);
    assert.equal(value(s, "nri_resctrl_pods_pruned_total"), 2);
    assert.equal(value(s, "nri_resctrl_containers_vanished_total"), 3);
    assert.equal(value(s, "nri_resctrl_events_dropped_total"), 4);
    assert.equal(value(s, "nri_resctrl_runtime_connected"), 1);
    assert.equal(value(s, "nri_resctrl_runtime_reconnects_total"), 1);
    plugin.stats = {
      groupCreateFailures: { capacity: 5, other: 1 },
      retrySweeps: 8,
      podsPruned: 2,
      containersVanished: 3,
    };
    runtime.isConnected = false;
    runtime.reconnectCount = 2;
    s = await scrape(); // within cacheMs: plugin state is still read fresh
    assert.equal(value(s, "nri_resctrl_group_create_failures_total", { reason: "capacity" }), 5);
    assert.equal(value(s, "nri_resctrl_group_create_failures_total", { reason: "other" }), 1);
    assert.equal(value(s, "nri_resctrl_retry_sweeps_total"), 8);
    assert.equal(value(s, "nri_resctrl_runtime_connected"), 0);
    assert.equal(value(s, "nri_resctrl_runtime_reconnects_total"), 2);
  });

  it("observeNriRequest feeds the per-method histogram (0.1 ms … 2 s buckets)", async () => {
    const { m, scrape } = setup();
    assert.equal(NRI_REQUEST_BUCKETS[0], 0.0001);
    assert.equal(NRI_REQUEST_BUCKETS.at(-1), 2);
    m.observeNriRequest("StartContainer", 0.00005);
    m.observeNriRequest("StartContainer", 0.003);
    m.observeNriRequest("StartContainer", 3);
    m.observeNriRequest("Synchronize", 0.4);
    const s = await scrape();
    const b = (method: string, le: string) =>
      value(s, "nri_resctrl_nri_request_duration_seconds_bucket", { method, le });
    assert.equal(b("StartContainer", "0.0001"), 1);
    assert.equal(b("StartContainer", "0.0025"), 1);
    assert.equal(b("StartContainer", "0.005"), 2);
    assert.equal(b("StartContainer", "2"), 2);
    assert.equal(b("StartContainer", "+Inf"), 3);
    assert.equal(b("Synchronize", "0.25"), 0);
    assert.equal(b("Synchronize", "0.5"), 1);
    assert.equal(value(s, "nri_resctrl_nri_request_duration_seconds_count", { method: "StartContainer" }), 3);
    assert.equal(value(s, "nri_resctrl_nri_request_duration_seconds_sum", { method: "Synchronize" }), 0.4);
  });

  it("reports how long the last readings pass took", async () => {
    const { plugin, resctrl, scrape } = setup();
    plugin.pods = [pod("a")];
    resctrl.gate = new Promise((r) => setTimeout(r, 60));
    const s = await scrape();
    const d = value(s, "nri_resctrl_scrape_readings_duration_seconds") ?? 0;
    assert.ok(d >= 0.05 && d < 5, String(d));
  });
});
