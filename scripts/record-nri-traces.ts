/**
 * Records what a real containerd sends to an NRI plugin, as event-sequence fixtures.
 *
 *   node --import tsx scripts/record-nri-traces.ts [--suite trixie|forky] [--out support/fakes/traces]
 *        [--runs 2] [--settle-ms 2000] [--version <prefix>]
 *
 * Starts a private containerd (hardware/local-containerd/setup.sh, its own run dir, Debian suite
 * trixie = 1.7.24 or forky = 2.1.9), connects a recording plugin (our NriStub, every event valid on
 * that runtime: mask 0x7ff) and drives lifecycles through CRI the way the kubelet does, one fresh pod
 * per lifecycle. Every request the plugin receives is recorded at the ttrpc level (so the RPC method
 * and Synchronize's `more` chunks are visible), normalized (ids → pod/container names + attempt, no
 * timestamps) and written to `<out>/containerd-<x.y.z>.json`. With `--runs N` (default 2) the whole
 * set runs N times, each on a fresh containerd; where the runs disagree the fixture says so (entries
 * with the same `unordered` number arrived in different orders; `races` lists the variants).
 * Needs root. See docs/nri-traces.md.
 */
import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { CriClient, type PodSpec } from "../support/containerd/cri-client.js";
import { LocalContainerd } from "../support/containerd/local-containerd.js";
import { PLUGIN_SERVICE } from "../src/nri/constants.js";
import {
  ConfigureRequest,
  ContainerState,
  CreateContainerRequest,
  Event,
  StateChangeEvent,
  StopContainerRequest,
  SynchronizeRequest,
  UpdateContainerRequest,
  type Container,
  type PodSandbox,
} from "../src/nri/gen/nri/api.js";
import type { PluginHandler } from "../src/nri/handler.js";
import { NriStub } from "../src/nri/stub.js";
import { TtrpcServer, type MethodHandler } from "../src/nri/ttrpc-server.js";
import { VALID_EVENTS_MASK } from "../src/nri/types.js";

// ---------------------------------------------------------------------------------------------
// Options

const SUITE_VERSIONS: Record<string, string> = { trixie: "1.7.24", forky: "2.1" };
/** Label carrying the CRI attempt into NRI (containerd copies CRI labels into NRI `labels`). */
const ATTEMPT_LABEL = "nri-traces/attempt";
/** Pod label naming the lifecycle a pod belongs to (a lifecycle may run more than one pod). */
const LIFECYCLE_LABEL = "nri-traces/lifecycle";
const NAMESPACE = "nri-traces";
/** Grace period of kubelet-like StopContainer calls; our long-running command exits on SIGTERM. */
const STOP_GRACE_S = 10;
/** Runs until SIGTERM (then exits 0), like a well-behaved app. */
const LONG_RUNNING = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"];

const { values: args } = parseArgs({
  options: {
    suite: { type: "string", default: "trixie" },
    out: { type: "string" },
    runs: { type: "string", default: "2" },
    "settle-ms": { type: "string", default: "2000" },
    version: { type: "string" },
    only: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (args.help) {
  console.log(
    "usage: node --import tsx scripts/record-nri-traces.ts [--suite trixie|forky] [--out dir] [--runs N] [--settle-ms ms] [--version prefix] [--only lifecycle,...]",
  );
  process.exit(0);
}
const SUITE = args.suite;
const WANT_VERSION: string =
  args.version ??
  SUITE_VERSIONS[SUITE] ??
  fail(`failed to parse --suite ${SUITE}: want trixie or forky (or give --version)`);
const ONLY = args.only?.split(",").filter((n) => n !== "");
const RUNS = Number(args.runs);
const SETTLE_MS = Number(args["settle-ms"]);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`failed to parse --runs ${args.runs}`);
if (!Number.isFinite(SETTLE_MS) || SETTLE_MS < 0) throw new Error(`failed to parse --settle-ms`);

// ---------------------------------------------------------------------------------------------
// Fixture types

/** A pod or container inside a Synchronize request. */
interface SyncPod {
  pod: string;
  pid: boolean;
}
interface SyncContainer {
  pod: string;
  container: string;
  attempt?: number;
  state: string;
  pid: boolean;
}

/** One request the plugin received, normalized. Field order is the JSON order. */
interface TraceEntry {
  method: string;
  event?: string;
  pod?: string;
  container?: string;
  attempt?: number;
  state?: string;
  /** Container events: container pid > 0; pod events: sandbox pid > 0. */
  pid?: boolean;
  /** Configure. */
  runtimeName?: string;
  runtimeVersion?: string;
  registrationTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Synchronize (one entry per request, i.e. per chunk). */
  more?: boolean;
  pods?: SyncPod[];
  containers?: SyncContainer[];
  /** Arrived after its lifecycle's window (while a later lifecycle ran). */
  late?: true;
  /** Entries with the same number arrived in a different order in some run. */
  unordered?: number;
  /** The CRI call in flight when the request arrived (absent: none, e.g. while waiting). */
  cri?: string;
}

/** A request as received, decoded but not yet normalized. */
interface RawEntry {
  method: string;
  event?: string;
  pod?: PodSandbox;
  container?: Container;
  configure?: ConfigureRequest;
  sync?: SynchronizeRequest;
  /** Lifecycle running when it arrived ("connect", "<name>", "cleanup:<name>", "end"). */
  phase: string;
  cri?: string;
}

// ---------------------------------------------------------------------------------------------
// Recording: every Plugin-service request, in arrival order, at the ttrpc level

class Recorder {
  readonly entries: RawEntry[] = [];
  phase = "connect";
  cri: string | undefined;
  /** CRI steps per lifecycle (what the driver did). */
  readonly steps = new Map<string, string[]>();
  lastArrival = Date.now();

  add(e: Omit<RawEntry, "phase" | "cri">): void {
    this.entries.push({ ...e, phase: this.phase, ...(this.cri ? { cri: this.cri } : {}) });
    this.lastArrival = Date.now();
  }

  step(label: string): void {
    const list = this.steps.get(this.phase) ?? [];
    list.push(label);
    this.steps.set(this.phase, list);
  }

  /** Runs a CRI call, marking requests that arrive meanwhile with `label`. */
  async call<T>(label: string, fn: () => Promise<T>): Promise<T> {
    this.step(label);
    this.cri = label;
    try {
      return await fn();
    } finally {
      this.cri = undefined;
    }
  }

  /** Waits until no request arrived for `quietMs` (at most `maxMs`). */
  async settle(quietMs = SETTLE_MS, maxMs = quietMs * 5 + 5000): Promise<void> {
    const start = Date.now();
    this.lastArrival = Math.max(this.lastArrival, start);
    while (Date.now() - this.lastArrival < quietMs && Date.now() - start < maxMs) await sleep(50);
  }
}

let recorder: Recorder | undefined;

function decodeRequest(method: string, payload: Buffer): Omit<RawEntry, "phase" | "cri"> {
  switch (method) {
    case "Configure":
      return { method, configure: ConfigureRequest.decode(payload) };
    case "Synchronize":
      return { method, sync: SynchronizeRequest.decode(payload) };
    case "CreateContainer": {
      const r = CreateContainerRequest.decode(payload);
      return { method, event: "CREATE_CONTAINER", pod: r.pod, container: r.container };
    }
    case "UpdateContainer": {
      const r = UpdateContainerRequest.decode(payload);
      return { method, event: "UPDATE_CONTAINER", pod: r.pod, container: r.container };
    }
    case "StopContainer": {
      const r = StopContainerRequest.decode(payload);
      return { method, event: "STOP_CONTAINER", pod: r.pod, container: r.container };
    }
    case "StateChange": {
      const r = StateChangeEvent.decode(payload);
      return { method, event: Event[r.event] ?? `EVENT_${r.event}`, pod: r.pod, container: r.container };
    }
    default:
      return { method };
  }
}

/**
 * Wraps every Plugin-service method the stub registers so that each request is recorded when it
 * arrives, before the stub's own handler runs. (The stub's handler API hides the RPC method and the
 * Synchronize chunks; the ttrpc server sees both.)
 */
function installTtrpcTap(): void {
  const original = TtrpcServer.prototype.register;
  TtrpcServer.prototype.register = function (service: string, method: string, handler: MethodHandler) {
    if (service !== PLUGIN_SERVICE) return original.call(this, service, method, handler);
    const tapped: MethodHandler = (payload, ctx) => {
      try {
        recorder?.add(decodeRequest(method, payload));
      } catch (err) {
        console.error(`record-nri-traces: failed to decode ${method}:`, err);
        recorder?.add({ method });
      }
      return handler(payload, ctx);
    };
    return original.call(this, service, method, tapped);
  };
}

/** A handler with every event method (so the stub serves them all); it records nothing itself. */
const HANDLER: Required<PluginHandler> = {
  configure: () => ({ events: VALID_EVENTS_MASK }),
  synchronize: () => undefined,
  shutdown: () => undefined,
  runPodSandbox: () => undefined,
  stopPodSandbox: () => undefined,
  removePodSandbox: () => undefined,
  createContainer: () => undefined,
  postCreateContainer: () => undefined,
  startContainer: () => undefined,
  postStartContainer: () => undefined,
  updateContainer: () => undefined,
  postUpdateContainer: () => undefined,
  stopContainer: () => undefined,
  removeContainer: () => undefined,
};

// ---------------------------------------------------------------------------------------------
// CRI driver (kubelet-like): host-network pods, busybox containers, attempts as the kubelet sets them

interface Pod {
  name: string;
  spec: PodSpec;
  id: string;
}
interface Ctr {
  pod: Pod;
  name: string;
  attempt: number;
  id: string;
}

class Driver {
  constructor(
    readonly cri: CriClient,
    readonly rec: Recorder,
    readonly ctrd: LocalContainerd,
    readonly stub: NriStub,
  ) {}

  /** " <pod>" for a pod other than the lifecycle's own (named like the lifecycle), else "". */
  #podSuffix(pod: string): string {
    return pod === this.rec.phase ? "" : ` ${pod}`;
  }

  /** `name#attempt`, prefixed by `<pod>/` in a pod other than the lifecycle's own. */
  #label(pod: Pod, name: string, attempt: number): string {
    return `${pod.name === this.rec.phase ? "" : `${pod.name}/`}${name}#${attempt}`;
  }

  #name(c: Ctr): string {
    return this.#label(c.pod, c.name, c.attempt);
  }

  async runPod(name: string, lifecycle = name): Promise<Pod> {
    const uid = randomUUID();
    const spec: PodSpec = {
      name,
      uid,
      namespace: NAMESPACE,
      cgroupParent: `/kubepods/besteffort/pod${uid}`,
      labels: { [LIFECYCLE_LABEL]: lifecycle },
    };
    const id = await this.rec.call(`RunPodSandbox${this.#podSuffix(name)}`, () => this.cri.runPod(spec));
    return { name, spec, id };
  }

  /** CreateContainer with metadata.attempt, which NRI does not carry: a label passes it to the trace. */
  async create(pod: Pod, name: string, command: readonly string[], attempt = 0): Promise<Ctr> {
    const id = await this.rec.call(`CreateContainer ${this.#label(pod, name, attempt)}`, () =>
      this.cri.createContainer(pod.id, pod.spec, {
        name,
        command,
        attempt,
        labels: { [ATTEMPT_LABEL]: String(attempt) },
      }),
    );
    return { pod, name, attempt, id };
  }

  start(c: Ctr): Promise<void> {
    return this.rec.call(`StartContainer ${this.#name(c)}`, () => this.cri.startContainer(c.id));
  }

  async run(pod: Pod, name: string, command: readonly string[], attempt = 0): Promise<Ctr> {
    const c = await this.create(pod, name, command, attempt);
    await this.start(c);
    return c;
  }

  stop(c: Ctr, graceS = STOP_GRACE_S): Promise<void> {
    return this.rec.call(`StopContainer ${this.#name(c)}`, () => this.cri.stopContainer(c.id, graceS));
  }

  remove(c: Ctr): Promise<void> {
    return this.rec.call(`RemoveContainer ${this.#name(c)}`, () => this.cri.removeContainer(c.id));
  }

  stopPod(p: Pod): Promise<void> {
    return this.rec.call(`StopPodSandbox${this.#podSuffix(p.name)}`, () => this.cri.stopPod(p.id));
  }

  removePod(p: Pod): Promise<void> {
    return this.rec.call(`RemovePodSandbox${this.#podSuffix(p.name)}`, () => this.cri.removePod(p.id));
  }

  /** Polls CRI ContainerStatus until the container is EXITED; resolves its exit code. */
  async waitExited(c: Ctr, timeoutMs = 20_000): Promise<number> {
    this.rec.step(`wait until CRI says ${this.#name(c)} EXITED`);
    return (await this.cri.waitForContainerState(c.id, "exited", timeoutMs)).exitCode;
  }

  /** SIGKILL from the host (what the OOM killer or an admin's kill -9 does). */
  async hostKill(c: Ctr): Promise<void> {
    const pid = await this.cri.containerPid(c.id);
    this.rec.step(`kill -KILL ${this.#name(c)} (from the host)`);
    process.kill(pid, "SIGKILL");
  }

  /** Restarts containerd and waits until the stub has registered and synchronized again. */
  async restartRuntime(): Promise<void> {
    const synced = new Promise<void>((res, rej) => {
      const t = setTimeout(
        () => rej(new Error("failed to resynchronize within 30 s of the restart")),
        30_000,
      );
      let closed = false;
      this.stub.once("closed", () => (closed = true));
      const onSync = (): void => {
        if (!closed) return;
        clearTimeout(t);
        this.stub.off("synchronized", onSync);
        res();
      };
      this.stub.on("synchronized", onSync);
    });
    await this.rec.call("restart containerd (setup.sh restart)", () => this.ctrd.restart());
    this.rec.step("wait for the plugin's re-registration and Synchronize");
    await synced;
  }

  /** Removes what a lifecycle left, ignoring failures (pods already gone). */
  async cleanup(pods: Pod[]): Promise<void> {
    for (const p of pods) {
      await this.cri.stopPod(p.id).catch(() => undefined);
      await this.cri.removePod(p.id).catch(() => undefined);
    }
  }
}

function fail(msg: string): never {
  throw new Error(msg);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------------------------------------
// Lifecycles

type Lifecycle = (d: Driver, name: string) => Promise<Pod[]>;

/** kubelet order: StopContainer (running ones), StopPodSandbox, RemoveContainer (all), RemovePodSandbox. */
async function kubeletRemoval(d: Driver, pod: Pod, containers: Ctr[], exited: Ctr[] = []): Promise<void> {
  for (const c of containers) if (!exited.includes(c)) await d.stop(c);
  await d.stopPod(pod);
  for (const c of containers) await d.remove(c);
  await d.removePod(pod);
}

const LIFECYCLES: Array<[string, Lifecycle]> = [
  [
    "pod-start-stop-remove",
    async (d, name) => {
      const pod = await d.runPod(name);
      const app = await d.run(pod, "app", LONG_RUNNING);
      await kubeletRemoval(d, pod, [app]);
      return [pod];
    },
  ],
  [
    "container-self-exit",
    async (d, name) => {
      const pod = await d.runPod(name);
      const job = await d.run(pod, "job", ["sh", "-c", "sleep 1; exit 0"]);
      await d.waitExited(job);
      return [pod];
    },
  ],
  [
    "container-instant-exit",
    async (d, name) => {
      const pod = await d.runPod(name);
      const job = await d.run(pod, "job", ["true"]);
      await d.waitExited(job);
      return [pod];
    },
  ],
  [
    "container-stop",
    async (d, name) => {
      const pod = await d.runPod(name);
      const app = await d.run(pod, "app", LONG_RUNNING);
      await d.stop(app);
      return [pod];
    },
  ],
  [
    "crash-restart",
    async (d, name) => {
      const pod = await d.runPod(name);
      const app = await d.run(pod, "app", ["sh", "-c", "sleep 1; exit 1"]);
      await d.waitExited(app);
      await d.run(pod, "app", LONG_RUNNING, 1);
      return [pod];
    },
  ],
  [
    "crash-sigkill-restart",
    async (d, name) => {
      const pod = await d.runPod(name);
      const app = await d.run(pod, "app", LONG_RUNNING);
      await d.rec.settle(500);
      await d.hostKill(app);
      await d.waitExited(app);
      await d.run(pod, "app", LONG_RUNNING, 1);
      return [pod];
    },
  ],
  [
    "init-container",
    async (d, name) => {
      const pod = await d.runPod(name);
      const init = await d.run(pod, "init", ["sh", "-c", "sleep 0.5; exit 0"]);
      await d.waitExited(init);
      await d.run(pod, "app", LONG_RUNNING);
      return [pod];
    },
  ],
  [
    "removal-kubelet-order",
    async (d, name) => {
      const pod = await d.runPod(name);
      const app = await d.run(pod, "app", LONG_RUNNING);
      const sidecar = await d.run(pod, "sidecar", LONG_RUNNING);
      await d.rec.settle(500);
      await kubeletRemoval(d, pod, [app, sidecar]);
      return [pod];
    },
  ],
  [
    "removal-crictl-order",
    async (d, name) => {
      const pod = await d.runPod(name);
      await d.run(pod, "app", LONG_RUNNING);
      await d.run(pod, "sidecar", LONG_RUNNING);
      await d.rec.settle(500);
      // crictl rmp -f: StopPodSandbox, then RemovePodSandbox; containerd stops and removes the containers.
      await d.stopPod(pod);
      await d.removePod(pod);
      return [pod];
    },
  ],
  [
    "runtime-restart",
    async (d, name) => {
      const pod = await d.runPod(name);
      const app = await d.run(pod, "app", LONG_RUNNING);
      await d.rec.settle(500);
      await d.restartRuntime();
      await d.rec.settle();
      await kubeletRemoval(d, pod, [app]);
      return [pod];
    },
  ],
  [
    "runtime-restart-exited-and-new",
    async (d, name) => {
      // A pod with an exited init container and a running app: does Synchronize list both?
      const pod = await d.runPod(name);
      const init = await d.run(pod, "init", ["sh", "-c", "sleep 0.5; exit 0"]);
      await d.waitExited(init);
      const app = await d.run(pod, "app", LONG_RUNNING);
      await d.rec.settle(500);
      await d.restartRuntime();
      await d.rec.settle();
      // A pod made after the restart, for contrast with the one that survived it.
      const after = await d.runPod(`${name}-new`, name);
      const app2 = await d.run(after, "app", LONG_RUNNING);
      await d.rec.settle(500);
      await kubeletRemoval(d, pod, [init, app], [init]);
      await kubeletRemoval(d, after, [app2]);
      return [pod, after];
    },
  ],
];

/**
 * Races known from the lifecycle itself, marked `unordered` even when the runs happened to agree:
 * the listed events of `container`, when they arrive next to each other.
 */
const RACE_HINTS: Record<string, Array<{ container: string; events: string[]; why: string }>> = {
  "container-instant-exit": [
    {
      container: "job",
      events: ["POST_START_CONTAINER", "STOP_CONTAINER"],
      why:
        "a process that exits at once is reaped while StartContainer is still running: its exit's " +
        "StopContainer may come before or after POST_START_CONTAINER (seen both ways on both versions)",
    },
  ],
};

// ---------------------------------------------------------------------------------------------
// One run: a fresh containerd, the recording stub, every lifecycle in order

interface RunResult {
  entries: RawEntry[];
  steps: Map<string, string[]>;
  criVersion: string;
  ms: number;
}

async function recordRun(run: number): Promise<RunResult> {
  const started = Date.now();
  const rec = new Recorder();
  recorder = rec;
  const dir = await mkdtemp(join(tmpdir(), `nri-ctrd-traces-${SUITE}-`));
  const env = { NRI_CONTAINERD_SUITE: SUITE, NRI_CONTAINERD_VERSION: WANT_VERSION };
  log(`run ${run}: starting containerd (${SUITE}, ${WANT_VERSION}) in ${dir}`);
  const ctrd = await LocalContainerd.start({ dir, env });
  const cri = new CriClient({ socketPath: ctrd.criSocket, callTimeoutMs: 30_000 });
  const stub = new NriStub(HANDLER, {
    name: "trace-recorder",
    idx: "50",
    socketPath: ctrd.nriSocket,
    reconnect: { initialMs: 100, maxMs: 1000, jitter: 0 },
  });
  stub.on("closed", () => rec.add({ method: "(connection closed)" }));
  // Expected while containerd restarts: the stub retries until the new socket accepts.
  stub.on("error", (err: Error) => log(`stub: ${err.message} (retrying)`));
  const driver = new Driver(cri, rec, ctrd, stub);
  try {
    const criVersion = (await cri.version()).runtimeVersion;
    await stub.start();
    await stub.waitSynchronized(10_000);
    await rec.settle(300);
    for (const [name, fn] of LIFECYCLES) {
      const t0 = Date.now();
      rec.phase = name;
      const pods = await fn(driver, name);
      await rec.settle();
      rec.phase = `cleanup:${name}`;
      await driver.cleanup(pods);
      await rec.settle(300);
      log(`run ${run}: ${name} done in ${Date.now() - t0} ms`);
    }
    rec.phase = "end";
    return { entries: rec.entries, steps: rec.steps, criVersion, ms: Date.now() - started };
  } finally {
    await stub.stop().catch(() => undefined);
    cri.close();
    await ctrd.stop();
    recorder = undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Normalization

function stateName(s: ContainerState): string {
  return (ContainerState[s] ?? `STATE_${s}`).replace(/^CONTAINER_/, "");
}

function attemptOf(c: Container): number | undefined {
  const a = c.labels[ATTEMPT_LABEL];
  return a === undefined ? undefined : Number(a);
}

/** Turns the raw entries of one run into per-lifecycle sequences plus the connect sequence. */
function normalizeRun(raw: RawEntry[], lifecycleNames: string[]): Map<string, TraceEntry[]> {
  const podNames = new Map<string, string>();
  for (const e of raw) {
    if (e.pod?.id) podNames.set(e.pod.id, e.pod.name);
    for (const p of e.sync?.pods ?? []) podNames.set(p.id, p.name);
  }
  const lifecycleOf = (p: PodSandbox): string => p.labels[LIFECYCLE_LABEL] ?? p.name;
  const podName = (id: string): string => podNames.get(id) ?? "(unknown pod)";
  const out = new Map<string, TraceEntry[]>();
  for (const n of ["connect", ...lifecycleNames]) out.set(n, []);
  for (const e of raw) {
    const t: TraceEntry = { method: e.method };
    if (e.event) t.event = e.event;
    if (e.pod) t.pod = e.pod.name;
    if (e.container?.id) {
      t.container = e.container.name;
      const a = attemptOf(e.container);
      if (a !== undefined) t.attempt = a;
      t.state = stateName(e.container.state);
      t.pid = e.container.pid > 0;
    } else if (e.pod) {
      t.pid = e.pod.pid > 0;
    }
    if (e.configure) {
      t.runtimeName = e.configure.runtimeName;
      t.runtimeVersion = e.configure.runtimeVersion;
      if (e.configure.registrationTimeout) t.registrationTimeoutMs = e.configure.registrationTimeout;
      if (e.configure.requestTimeout) t.requestTimeoutMs = e.configure.requestTimeout;
    }
    if (e.sync) {
      t.more = e.sync.more;
      t.pods = e.sync.pods.map((p) => ({ pod: p.name, pid: p.pid > 0 })).sort(byJson);
      t.containers = e.sync.containers
        .map((c) => {
          const a = attemptOf(c);
          return {
            pod: podName(c.podSandboxId),
            container: c.name,
            ...(a !== undefined ? { attempt: a } : {}),
            state: stateName(c.state),
            pid: c.pid > 0,
          };
        })
        .sort(byJson);
    }
    if (e.cri) t.cri = e.cri;
    // Which lifecycle: pod events by the pod's name (= lifecycle name), the rest by the phase.
    let target: string | undefined;
    const owner = e.pod ? lifecycleOf(e.pod) : undefined;
    if (owner !== undefined && out.has(owner)) {
      if (e.phase === `cleanup:${owner}`) continue;
      target = owner;
      if (e.phase !== owner) t.late = true;
    } else if (out.has(e.phase)) {
      target = e.phase;
    }
    if (target === undefined) continue;
    out.get(target)?.push(t);
  }
  return out;
}

function byJson(a: object, b: object): number {
  const x = JSON.stringify(a);
  const y = JSON.stringify(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Merging runs

interface Race {
  runs: number;
  note: string;
  /** Orders that containerd's code leaves to chance, marked even when the runs agreed. */
  known?: string;
  /** Every distinct sequence seen (only when the runs differ in more than order). */
  variants?: TraceEntry[][];
}

function compareKey(e: TraceEntry): string {
  const { cri: _cri, unordered: _u, ...rest } = e;
  return JSON.stringify(rest);
}

/**
 * Merges the runs of one lifecycle: identical → that sequence. Differing only in order → run 1's
 * sequence with each minimal window of disagreement numbered in `unordered`. Otherwise run 1's
 * sequence plus every distinct variant.
 */
function mergeRuns(seqs: TraceEntry[][]): { entries: TraceEntry[]; race?: Race } {
  const first = seqs[0] ?? [];
  const entries = first.map((e) => ({ ...e }));
  const keys = seqs.map((s) => s.map(compareKey));
  const same = (i: number): boolean => keys.every((k) => k[i] === keys[0]?.[i]);
  const criAt = (i: number): void => {
    const values = [...new Set(seqs.map((s) => s[i]?.cri ?? "(none)"))];
    const e = entries[i];
    if (e && values.length > 1) e.cri = values.join(" | ");
  };
  if (!keys.every((k) => k.length === first.length)) {
    return {
      entries,
      race: {
        runs: seqs.length,
        note: "the runs received different requests (not only a different order); see variants",
        variants: distinct(seqs),
      },
    };
  }
  let group = 0;
  for (let i = 0; i < first.length;) {
    if (same(i)) {
      criAt(i);
      i++;
      continue;
    }
    let j = i + 1;
    const bag = (k: string[]): string => JSON.stringify(k.slice(i, j).sort());
    while (j <= first.length && !keys.every((k) => bag(k) === bag(keys[0] ?? []))) j++;
    if (j > first.length) {
      return {
        entries,
        race: {
          runs: seqs.length,
          note: "the runs received different requests (not only a different order); see variants",
          variants: distinct(seqs),
        },
      };
    }
    group++;
    for (let k = i; k < j; k++) {
      const e = entries[k];
      if (e) e.unordered = group;
    }
    i = j;
  }
  if (group === 0) return { entries };
  return {
    entries,
    race: {
      runs: seqs.length,
      note: "entries with the same `unordered` number arrived in different orders across runs (shown: run 1)",
    },
  };
}

/**
 * Marks orders containerd leaves to chance even when the runs happened to agree: StopPodSandbox
 * and RemovePodSandbox stop/remove the pod's containers by walking containerd's container store,
 * a Go map (`c.containerStore.List()` in internal/cri/server/sandbox_stop.go and sandbox_remove.go),
 * so consecutive same-event entries of several containers during those calls come in random order.
 * Returns the explanation if it marked anything.
 */
function markKnownRaces(lifecycle: string, entries: TraceEntry[]): string | undefined {
  let group = Math.max(0, ...entries.map((e) => e.unordered ?? 0));
  let marked = false;
  const why: string[] = [];
  for (const hint of RACE_HINTS[lifecycle] ?? []) {
    const at = entries.findIndex(
      (e, i) =>
        e.container === hint.container &&
        hint.events.includes(e.event ?? "") &&
        entries
          .slice(i, i + hint.events.length)
          .every((f) => f.container === hint.container && hint.events.includes(f.event ?? "")),
    );
    if (at < 0) continue;
    const span = entries.slice(at, at + hint.events.length);
    const g = span.find((e) => e.unordered !== undefined)?.unordered ?? ++group;
    for (const e of span) e.unordered = g;
    why.push(hint.why);
  }
  const eligible = (e: TraceEntry | undefined): boolean =>
    e !== undefined &&
    e.container !== undefined &&
    e.unordered === undefined &&
    /^(StopPodSandbox|RemovePodSandbox)\b/.test(e.cri ?? "");
  for (let i = 0; i < entries.length;) {
    const first = entries[i];
    let j = i + 1;
    while (eligible(first) && j < entries.length) {
      const e = entries[j];
      if (!eligible(e) || e?.event !== first?.event || e?.pod !== first?.pod || e?.cri !== first?.cri) break;
      j++;
    }
    if (j - i >= 2) {
      group++;
      marked = true;
      for (let k = i; k < j; k++) {
        const e = entries[k];
        if (e) e.unordered = group;
      }
    }
    i = j;
  }
  if (marked)
    why.push(
      "StopPodSandbox/RemovePodSandbox handle a pod's containers in Go map order (containerStore.List()): " +
        "the per-container events within each such `unordered` group may come in any order",
    );
  return why.length > 0 ? why.join("; ") : undefined;
}

function distinct(seqs: TraceEntry[][]): TraceEntry[][] {
  const seen = new Map<string, TraceEntry[]>();
  for (const s of seqs) {
    const k = JSON.stringify(s.map(compareKey));
    if (!seen.has(k)) seen.set(k, s);
  }
  return [...seen.values()];
}

function nriVersionOf(version: string): string {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!m) return "unknown";
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (major === 1 && minor === 7)
    return patch >= 16 && patch <= 25 ? "v0.6.1" : patch >= 26 ? "v0.8.0" : "unknown";
  if (major === 2 && (minor === 0 || minor === 1)) return "v0.8.0";
  if (major === 2 && minor === 2) return "v0.10.0 / v0.11.0";
  if (major === 2 && minor === 3) return "v0.12.0";
  return "unknown";
}

function log(msg: string): void {
  console.error(`record-nri-traces: ${msg}`);
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  if (process.getuid?.() !== 0)
    throw new Error("failed to record nri traces: needs root (a private containerd)");
  installTtrpcTap();
  if (ONLY) {
    const unknown = ONLY.filter((n) => !LIFECYCLES.some(([m]) => m === n));
    if (unknown.length > 0)
      throw new Error(`failed to parse --only: unknown lifecycle ${unknown.join(", ")}`);
    LIFECYCLES.splice(0, LIFECYCLES.length, ...LIFECYCLES.filter(([n]) => ONLY.includes(n)));
  }
  const names = LIFECYCLES.map(([n]) => n);
  const runs: RunResult[] = [];
  for (let r = 1; r <= RUNS; r++) {
    const res = await recordRun(r);
    runs.push(res);
    log(`run ${r}: ${res.entries.length} requests in ${res.ms} ms`);
  }
  const perRun = runs.map((r) => normalizeRun(r.entries, names));
  const criVersion = runs[0]?.criVersion ?? "";
  const version = /^\d+\.\d+\.\d+/.exec(criVersion)?.[0] ?? criVersion;
  const lifecycles: Record<string, TraceEntry[]> = {};
  const races: Record<string, Race> = {};
  const merged = mergeRuns(perRun.map((m) => m.get("connect") ?? []));
  if (merged.race) races["connect"] = merged.race;
  for (const n of names) {
    const m = mergeRuns(perRun.map((p) => p.get(n) ?? []));
    lifecycles[n] = m.entries;
    const known = markKnownRaces(n, m.entries);
    if (m.race) races[n] = m.race;
    if (known) races[n] = { ...(m.race ?? { runs: RUNS, note: "the runs agreed on one order" }), known };
  }
  const steps: Record<string, string[]> = {};
  for (const n of names) steps[n] = runs[0]?.steps.get(n) ?? [];
  const fixture = {
    runtime: "containerd",
    version,
    runtimeVersion: criVersion,
    nri: nriVersionOf(version),
    suite: SUITE,
    recordedAt: new Date().toISOString().slice(0, 10),
    recordedBy: `node --import tsx scripts/record-nri-traces.ts --suite ${SUITE} --runs ${RUNS}${ONLY ? ` --only ${ONLY.join(",")}` : ""}`,
    runs: RUNS,
    eventMask: `0x${VALID_EVENTS_MASK.toString(16)}`,
    legend: {
      method: "ttrpc method of nri.pkg.api.v1alpha1.Plugin the runtime called",
      event:
        "NRI event (StateChange's event; the event implied by CreateContainer/UpdateContainer/StopContainer)",
      state: "NRI container state in the request",
      pid: "container events: container pid > 0; pod events: sandbox pid > 0",
      attempt: "CRI metadata.attempt of the container (the driver passes it in a label)",
      cri: "the CRI call in flight when the request arrived (absent: none; 'a | b': differed across runs)",
      late: "arrived after its lifecycle's window, while a later lifecycle ran",
      unordered:
        "entries with the same number may arrive in any order among themselves: seen in different orders across runs, or known to race from containerd's code (see races)",
      "(connection closed)": "not a request: the plugin's connection closed here",
    },
    connect: merged.entries,
    steps,
    lifecycles,
    races,
  };
  // A subset goes to a temp dir unless told otherwise: the fixture dir holds only full recordings.
  const outDir = resolve(args.out ?? (ONLY ? join(tmpdir(), "nri-traces") : "support/fakes/traces"));
  await mkdir(outDir, { recursive: true });
  // A subset never overwrites the full fixture.
  const file = join(outDir, `containerd-${version}${ONLY ? ".partial" : ""}.json`);
  await writeFile(file, JSON.stringify(fixture, null, 2) + "\n");
  log(`wrote ${file} (${Object.keys(races).length} racy sequences)`);
}

main().catch((err: unknown) => {
  console.error("record-nri-traces: failed:", err);
  process.exit(1);
});
