import { pino, type Logger } from "pino";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { podMetricSpec } from "./metric-names.js";
import type {
  MetricsPluginView,
  MetricsPodSnapshot,
  MonCapabilities,
  MonDataReader,
  MonSample,
  RuntimeStatusView,
} from "./types.js";

/** Options of {@link DaemonMetrics}. */
export interface DaemonMetricsOptions {
  plugin: MetricsPluginView;
  resctrl: MonDataReader;
  runtime: RuntimeStatusView;
  /** Added as a `node` label to every series when given (non-empty). */
  nodeName?: string;
  /** A readings pass is reused by scrapes for this long after it started; default 1000 ms. */
  cacheMs?: number;
  /** Groups read at once during a readings pass; default 32. */
  readConcurrency?: number;
  /** Default silent. */
  logger?: Logger;
  /** Clock in ms (tests); default `Date.now`. */
  now?: () => number;
}

/** Buckets of `nri_resctrl_nri_request_duration_seconds`: 0.1 ms … 2 s (the runtime's request timeout). */
export const NRI_REQUEST_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2,
];

/** prom-client default metrics left out (see the constructor). */
const PROM_CLIENT_TOTAL_GAUGES = [
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
];

const CONTAINER_STATES = {
  Reconciled: "reconciled",
  Partial: "partial",
  Pending: "pending",
  NoPod: "no_pod",
  Stopped: "stopped",
} as const;

const POD_LABELS = ["pod_uid", "pod_namespace", "pod_name"] as const;
type PodLabel = (typeof POD_LABELS)[number];

/** The result of one readings pass (the expensive part of a scrape: resctrl file reads). */
interface Readings {
  /** podUid → the group path read and its samples (only groups that could be read). */
  groups: Map<string, { path: string; samples: MonSample[] }>;
  caps?: MonCapabilities;
  rmidsUsed?: number;
}

/** A bounded-concurrency map that never rejects (`fn` must not reject either). */
async function forEachLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/**
 * The daemon's Prometheus metrics, on a registry of their own (never prom-client's global one).
 *
 * Plugin and runtime state (pods, containers, counters, connection) are read on every scrape;
 * the resctrl readings (per-pod `mon_data`, RMIDs in use) are taken by a readings pass at scrape
 * time, cached for `cacheMs` and single-flight: concurrent scrapes share one pass, and at most one
 * pass starts per `cacheMs`. A pass never rejects: a group that cannot be read is left out, a pass
 * that cannot even list the monitoring features (resctrl unmounted) exports no per-pod samples and
 * logs once per distinct error. Nothing here runs on the NRI path except `observeNriRequest`.
 */
export class DaemonMetrics {
  readonly registry: Registry;
  readonly #plugin: MetricsPluginView;
  readonly #resctrl: MonDataReader;
  readonly #runtime: RuntimeStatusView;
  readonly #cacheMs: number;
  readonly #concurrency: number;
  readonly #log: Logger;
  readonly #now: () => number;

  #inFlight: Promise<Readings> | undefined;
  #cached: { startedAt: number; readings: Readings } | undefined;
  /** Errors already logged while they persist (cleared when a pass succeeds again). */
  readonly #loggedErrors = new Set<string>();
  /** Generic metric name → the `resource/event` it was first created for (collision guard). */
  readonly #genericOwner = new Map<string, string>();
  /** Name collisions already logged. */
  readonly #collisionsLogged = new Set<string>();

  readonly #podMetrics = new Map<string, Gauge<PodLabel> | Counter<PodLabel>>();
  readonly #pods: Gauge<"group_state">;
  readonly #unmonitored: Gauge;
  readonly #containers: Gauge<"state">;
  readonly #rmids: Gauge<"state">;
  readonly #groupCreateFailures: Counter<"reason">;
  readonly #retrySweeps: Counter;
  readonly #podsPruned: Counter;
  readonly #containersVanished: Counter;
  readonly #eventsDropped: Counter;
  readonly #runtimeConnected: Gauge;
  readonly #runtimeReconnects: Counter;
  readonly #nriRequest: Histogram<"method">;
  readonly #readingsDuration: Gauge;
  readonly #monReadErrors: Counter<"resource" | "event">;
  readonly #readingsErrors: Counter<"stage">;

  constructor(opts: DaemonMetricsOptions) {
    this.#plugin = opts.plugin;
    this.#resctrl = opts.resctrl;
    this.#runtime = opts.runtime;
    this.#cacheMs = opts.cacheMs ?? 1000;
    this.#concurrency = opts.readConcurrency ?? 32;
    this.#log = opts.logger ?? pino({ level: "silent" });
    this.#now = opts.now ?? Date.now;

    const registers = [(this.registry = new Registry())];
    if (opts.nodeName) this.registry.setDefaultLabels({ node: opts.nodeName });
    collectDefaultMetrics({ register: this.registry });
    // prom-client's gauges named *_total fail `promtool check metrics` ("non-counter metrics should
    // not have _total suffix"); each is only the sum over `type` of nodejs_active_{handles,requests,resources}.
    for (const name of PROM_CLIENT_TOTAL_GAUGES) this.registry.removeSingleMetric(name);

    this.#pods = new Gauge({
      name: "nri_resctrl_pods",
      help: "Pods the plugin monitors, by the state of their resctrl monitoring group",
      labelNames: ["group_state"],
      registers,
    });
    this.#unmonitored = new Gauge({
      name: "nri_resctrl_unmonitored_pods",
      help: "Pods the namespace/label filters leave out (no monitoring group)",
      registers,
    });
    this.#containers = new Gauge({
      name: "nri_resctrl_containers",
      help: "Containers known to the plugin, by sync state (no_pod: seen before their pod)",
      labelNames: ["state"],
      registers,
    });
    this.#rmids = new Gauge({
      name: "nri_resctrl_rmids",
      help: "RMIDs (monitoring IDs) in use and free; free only when the kernel's RMID count is known",
      labelNames: ["state"],
      registers,
    });
    this.#groupCreateFailures = new Counter({
      name: "nri_resctrl_group_create_failures_total",
      help: "Monitoring group creations that failed, by reason (capacity: RMIDs exhausted)",
      labelNames: ["reason"],
      registers,
    });
    this.#retrySweeps = new Counter({
      name: "nri_resctrl_retry_sweeps_total",
      help: "Sweeps run (--retry-interval: vanished containers, orphan pods, retryAllOnce)",
      registers,
    });
    this.#containersVanished = new Counter({
      name: "nri_resctrl_containers_vanished_total",
      help: "Containers counted stopped because their cgroup and process vanished without a STOP_CONTAINER",
      registers,
    });
    this.#podsPruned = new Counter({
      name: "nri_resctrl_pods_pruned_total",
      help: "Pods removed because all their sandboxes vanished without a REMOVE_POD_SANDBOX",
      registers,
    });
    this.#eventsDropped = new Counter({
      name: "nri_resctrl_events_dropped_total",
      help: "Plugin events dropped because a subscriber's queue was full",
      registers,
    });
    this.#runtimeConnected = new Gauge({
      name: "nri_resctrl_runtime_connected",
      help: "1 while connected to the runtime's NRI socket, else 0",
      registers,
    });
    this.#runtimeReconnects = new Counter({
      name: "nri_resctrl_runtime_reconnects_total",
      help: "Reconnections to the runtime's NRI socket",
      registers,
    });
    this.#nriRequest = new Histogram({
      name: "nri_resctrl_nri_request_duration_seconds",
      help: "Time to answer an NRI request from the runtime, by method",
      labelNames: ["method"],
      buckets: NRI_REQUEST_BUCKETS,
      registers,
    });
    this.#readingsDuration = new Gauge({
      name: "nri_resctrl_scrape_readings_duration_seconds",
      help: "Duration of the last resctrl readings pass (all pods' mon_data and the RMID count)",
      registers,
    });
    this.#monReadErrors = new Counter({
      name: "nri_resctrl_mon_read_errors_total",
      help: "Monitoring readings of a group that could not be read (left out of the pod metrics), by resource and event",
      labelNames: ["resource", "event"],
      registers,
    });
    this.#readingsErrors = new Counter({
      name: "nri_resctrl_readings_errors_total",
      help: "Failures during readings passes, by stage (capabilities: the whole pass; group: one pod's group; rmids: the RMID count)",
      labelNames: ["stage"],
      registers,
    });
    for (const stage of ["capabilities", "group", "rmids"]) this.#readingsErrors.inc({ stage }, 0);
  }

  /** Records how long an NRI request took to answer. */
  observeNriRequest(method: string, seconds: number): void {
    this.#nriRequest.observe({ method }, seconds);
  }

  /** Every metric in the Prometheus text format, with fresh (or cached ≤ `cacheMs`) readings. */
  async metrics(): Promise<string> {
    const readings = await this.#readings();
    this.#apply(readings);
    return this.registry.metrics();
  }

  // ---- readings pass (cached, single-flight) --------------------------------------------------

  #readings(): Promise<Readings> {
    if (this.#inFlight) return this.#inFlight;
    const now = this.#now();
    if (this.#cached && now - this.#cached.startedAt < this.#cacheMs) {
      return Promise.resolve(this.#cached.readings);
    }
    const p = this.#pass().then((readings) => {
      this.#cached = { startedAt: now, readings };
      return readings;
    });
    this.#inFlight = p.finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #pass(): Promise<Readings> {
    const started = performance.now();
    const readings: Readings = { groups: new Map() };
    try {
      let caps: MonCapabilities;
      try {
        caps = await this.#resctrl.monCapabilities();
      } catch (e) {
        this.#readingsErrors.inc({ stage: "capabilities" });
        this.#logOnce(e, "failed to read resctrl monitoring capabilities; no per-pod readings exported");
        return readings;
      }
      readings.caps = caps;
      const pods = this.#plugin
        .snapshot()
        .flatMap((p) =>
          p.groupState.kind === "Exists" ? [{ uid: p.podUid, path: groupsKey(p), paths: groupPaths(p) }] : [],
        );
      let rmidsFailed = false;
      const rmids = this.#resctrl.rmidsInUse().then(
        (n) => {
          readings.rmidsUsed = n;
        },
        (e: unknown) => {
          rmidsFailed = true;
          this.#readingsErrors.inc({ stage: "rmids" });
          this.#logOnce(e, "failed to count the RMIDs in use");
        },
      );
      await forEachLimit(pods, this.#concurrency, async ({ uid, path, paths }) => {
        try {
          // A pod with groups in several RDT classes: one sample per (resource, event), summed over
          // its groups; a sample unreadable in any group is left out.
          const sums = new Map<string, MonSample>();
          const unreadable = new Set<string>();
          for (const g of paths) {
            const data = await this.#resctrl.readGroupMonData(g, caps);
            for (const s of data.samples) {
              const k = `${s.resource}/${s.event}`;
              const prev = sums.get(k);
              sums.set(k, prev ? { ...prev, value: prev.value + s.value } : { ...s });
            }
            for (const u of data.unreadable) {
              unreadable.add(`${u.resource}/${u.event}`);
              this.#monReadErrors.inc({ resource: u.resource, event: u.event });
            }
          }
          for (const k of unreadable) sums.delete(k);
          readings.groups.set(uid, { path, samples: [...sums.values()] });
        } catch (e) {
          // Typically the pod (and its group) went away between the snapshot and the read.
          this.#readingsErrors.inc({ stage: "group" });
          this.#log.debug(
            { podUid: uid, path, err: errorMessage(e) },
            "failed to read a pod's monitoring data",
          );
        }
      });
      await rmids;
      if (!rmidsFailed && this.#loggedErrors.size > 0) {
        this.#loggedErrors.clear();
        this.#log.info("resctrl monitoring readings recovered");
      }
      return readings;
    } catch (e) {
      // Only a throwing plugin view gets here; keep the pass non-rejecting.
      this.#readingsErrors.inc({ stage: "capabilities" });
      this.#logOnce(e, "readings pass failed");
      return { groups: new Map() };
    } finally {
      this.#readingsDuration.set((performance.now() - started) / 1000);
    }
  }

  #logOnce(e: unknown, msg: string): void {
    const key = `${msg}\n${errorMessage(e)}`;
    if (this.#loggedErrors.has(key)) return;
    if (this.#loggedErrors.size >= 100) this.#loggedErrors.clear();
    this.#loggedErrors.add(key);
    this.#log.warn({ err: errorMessage(e) }, msg);
  }

  // ---- applying state to the metrics (synchronous: a concurrent scrape sees all or nothing) ------

  #apply(readings: Readings): void {
    const pods = this.#plugin.snapshot();
    this.#applyPlugin(pods);
    this.#applyPods(pods, readings);
    this.#rmids.reset();
    if (readings.rmidsUsed !== undefined) {
      this.#rmids.set({ state: "used" }, readings.rmidsUsed);
      const total = readings.caps?.numRmids;
      if (total !== undefined) this.#rmids.set({ state: "free" }, Math.max(0, total - readings.rmidsUsed));
    }
  }

  #applyPlugin(pods: MetricsPodSnapshot[]): void {
    let exists = 0;
    const containers: Record<string, number> = {
      reconciled: 0,
      partial: 0,
      pending: 0,
      no_pod: 0,
      stopped: 0,
    };
    const count = (state: string): void => {
      const label = CONTAINER_STATES[state as keyof typeof CONTAINER_STATES];
      if (label) containers[label] = (containers[label] ?? 0) + 1;
    };
    for (const p of pods) {
      if (p.groupState.kind === "Exists") exists++;
      for (const c of p.containers) count(c.state);
    }
    for (const c of this.#plugin.unassignedContainers()) count(c.state);
    this.#pods.set({ group_state: "exists" }, exists);
    this.#pods.set({ group_state: "failed" }, pods.length - exists);
    for (const [state, n] of Object.entries(containers)) this.#containers.set({ state }, n);
    this.#unmonitored.set(this.#plugin.unmonitoredPods().length);

    const stats = this.#plugin.stats;
    mirror(this.#groupCreateFailures, stats.groupCreateFailures.capacity, { reason: "capacity" }, true);
    mirror(this.#groupCreateFailures, stats.groupCreateFailures.other, { reason: "other" });
    mirror(this.#retrySweeps, stats.retrySweeps);
    mirror(this.#podsPruned, stats.podsPruned);
    mirror(this.#containersVanished, stats.containersVanished);
    mirror(this.#eventsDropped, this.#plugin.droppedEvents);
    this.#runtimeConnected.set(this.#runtime.connected() ? 1 : 0);
    mirror(this.#runtimeReconnects, this.#runtime.reconnects());
  }

  #applyPods(pods: MetricsPodSnapshot[], readings: Readings): void {
    for (const m of this.#podMetrics.values()) m.reset();
    // Create the metrics of every feature the kernel offers, so their HELP/TYPE show before any pod.
    for (const [resource, events] of Object.entries(readings.caps?.features ?? {})) {
      for (const event of events) this.#podMetric(resource, event);
    }
    for (const p of pods) {
      if (p.groupState.kind !== "Exists") continue;
      const g = readings.groups.get(p.podUid);
      // A pod gone since the pass, or whose group moved, shows no stale readings.
      if (!g || g.path !== groupsKey(p)) continue;
      const labels = { pod_uid: p.podUid, pod_namespace: p.podNamespace, pod_name: p.podName };
      for (const s of g.samples) {
        if (!Number.isFinite(s.value) || s.value < 0) continue;
        const m = this.#podMetric(s.resource, s.event);
        if (!m) continue;
        if (m instanceof Counter) {
          m.remove(labels);
          m.inc(labels, s.value);
        } else {
          m.set(labels, s.value);
        }
      }
    }
  }

  /** The metric of a (resource, event), created on first use; undefined when its name is taken. */
  #podMetric(resource: string, event: string): Gauge<PodLabel> | Counter<PodLabel> | undefined {
    const spec = podMetricSpec(resource, event);
    const key = `${resource}/${event}`;
    const owner = this.#genericOwner.get(spec.name);
    if (owner !== undefined && owner !== key) {
      if (!this.#collisionsLogged.has(key)) {
        this.#collisionsLogged.add(key);
        this.#log.warn(
          { metric: spec.name, event: key, keptEvent: owner },
          "monitoring event left out: its metric name is taken",
        );
      }
      return undefined;
    }
    this.#genericOwner.set(spec.name, key);
    let m = this.#podMetrics.get(spec.name);
    if (!m) {
      const cfg = { name: spec.name, help: spec.help, labelNames: POD_LABELS, registers: [this.registry] };
      m = spec.type === "counter" ? new Counter(cfg) : new Gauge(cfg);
      this.#podMetrics.set(spec.name, m);
    }
    return m;
  }
}

/**
 * Sets a counter to a value read elsewhere (reset, then inc). With labels, `resetFirst` resets the
 * whole counter (pass it on the first label set only).
 */
function mirror<T extends string>(
  c: Counter<T>,
  value: number,
  labels?: Partial<Record<T, string>>,
  resetFirst = labels === undefined,
): void {
  if (resetFirst) c.reset();
  const v = Number.isFinite(value) && value > 0 ? value : 0;
  if (labels) c.inc(labels, v);
  else c.inc(v);
}

/** Paths of every existing group of a pod whose group exists (one unless RDT classes are followed). */
function groupPaths(p: MetricsPodSnapshot): string[] {
  if (p.groupState.kind !== "Exists") return [];
  const extra = (p.groups ?? []).filter((g) => g.state === "Exists").map((g) => g.path);
  return extra.length > 0 ? extra : [p.groupState.path];
}

/** Identifies the set of groups a reading was taken from (stale readings are never shown). */
function groupsKey(p: MetricsPodSnapshot): string {
  return groupPaths(p).join("\n");
}
