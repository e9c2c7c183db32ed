/**
 * Shared pieces of the benchmarks: the plugin side wired over a real unix socket to the fake
 * runtime (FakeRuntime ⇄ NriStub ⇄ ResctrlPlugin ⇄ Resctrl over MemFs, MockPidSource), NRI object
 * builders with unique ids, percentile maths, machine facts and the result row type.
 * Nothing here runs on import.
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import { FakeRuntime } from "../support/fakes/fake-runtime.js";
import { fakeContainer, fakePod, tempSocket } from "../support/fakes/fake-runtime-fixtures.js";
import { NriStub } from "../src/nri/index.js";
import type { NriContainer, NriPod } from "../src/nri/types.js";
import type { ResctrlPluginConfig } from "../src/plugin/config.js";
import { ResctrlPlugin } from "../src/plugin/plugin.js";
import { Resctrl } from "../src/resctrl/index.js";
import { MemFs, MockPidSource } from "../src/testing/index.js";

/** resctrl root of the in-memory model used by every benchmark. */
export const BENCH_ROOT = "/sys/fs/resctrl";
/** Generous RMID budget so capacity never interferes unless a benchmark asks for it. */
export const BENCH_RMIDS = 1_000_000;

/** One line of the report. Times in milliseconds. */
export interface BenchRow {
  row: string;
  /** Sample count (events, pods, groups …). */
  n: number;
  p50?: number;
  p99?: number;
  /** Wall time of the whole operation. */
  wallMs?: number;
  /** CPU time (user + system, all threads of this process) of the measured part. */
  cpuMs?: number;
  /** CPU-time percentiles per sample, where samples are single events. */
  cpuP50?: number;
  cpuP99?: number;
  /** Rows against the floor plugin (bench/floor-bench.ts): the daemon's value, the floor's, daemon / floor. */
  daemon?: number;
  floor?: number;
  ratio?: number;
  /** Any other measured value, already formatted (e.g. "87.3 MB"). */
  value?: string;
  target: string;
  verdict: "PASS" | "FAIL" | "INFO" | "SKIP";
  note?: string;
}

/** p-th percentile (nearest rank) of `xs`; NaN for an empty list. Does not mutate `xs`. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length)));
  return s[rank - 1] as number;
}

/** Milliseconds since `t0` (a `process.hrtime.bigint()` value). */
export function msSince(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Rounds to 3 significant decimals for the report. */
export function r3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Pod number `p` with a unique sandbox id (the fixture's padded ids collide for 1 vs 10). */
export function benchPod(p: number): NriPod {
  return fakePod(p, { id: `sb-${p}-`.padEnd(64, "0") });
}

/** Container `c` of pod `p`, unique id `c-<p>-<c>`. */
export function benchContainer(pod: NriPod, p: number, c: number): NriContainer {
  return fakeContainer(pod, c, { id: `c-${p}-${c}` });
}

/** Thread ids of container (p, c): `threads` consecutive, unique across the fleet. */
export function benchTids(p: number, c: number, threads: number): number[] {
  const base = 1000 + (p * 64 + c) * threads;
  return Array.from({ length: threads }, (_, i) => base + i);
}

/** A runtime with state, and the plugin side connected to it over a unix socket. */
export interface SocketWorld {
  runtime: FakeRuntime;
  fs: MemFs;
  resctrl: Resctrl;
  pids: MockPidSource;
  plugin: ResctrlPlugin;
  stub: NriStub;
  socketPath: string;
  /** Stops the stub, closes plugin and runtime, removes the temp dir. */
  close(): Promise<void>;
}

/** Options of {@link socketWorld}. */
export interface SocketWorldOptions {
  pods?: number;
  containersPerPod?: number;
  threadsPerContainer?: number;
  cfg?: Partial<ResctrlPluginConfig>;
  requestTimeoutMs?: number;
  syncChunkSize?: number;
}

/**
 * Builds the runtime state (pods × containers, scripted PIDs) and the plugin side, without
 * connecting. Call `stub.start()` to connect; the runtime then registers, configures and
 * synchronizes it.
 */
export async function socketWorld(o: SocketWorldOptions = {}): Promise<SocketWorld> {
  const sock = tempSocket("nri-bench-");
  const runtime = await FakeRuntime.listen({
    socketPath: sock.path,
    requestTimeoutMs: o.requestTimeoutMs ?? 2000,
    ...(o.syncChunkSize !== undefined ? { syncChunkSize: o.syncChunkSize } : {}),
  });
  const fs = MemFs.withResctrl({ root: BENCH_ROOT, rmidCapacity: BENCH_RMIDS });
  const resctrl = Resctrl.withProvider(fs, { root: BENCH_ROOT, groupPrefix: "pod_" });
  const pids = new MockPidSource();
  for (let p = 0; p < (o.pods ?? 0); p++) {
    const pod = benchPod(p);
    runtime.addPod(pod);
    for (let c = 0; c < (o.containersPerPod ?? 0); c++) {
      const ctr = benchContainer(pod, p, c);
      runtime.addContainer(ctr);
      pids.setPids(ctr.id, benchTids(p, c, o.threadsPerContainer ?? 1));
    }
  }
  const plugin = ResctrlPlugin.withPidSource({ ...o.cfg }, resctrl, pids);
  const stub = new NriStub(plugin, { name: "resctrl", idx: "10", socketPath: sock.path });
  return {
    runtime,
    fs,
    resctrl,
    pids,
    plugin,
    stub,
    socketPath: sock.path,
    async close() {
      await stub.stop();
      await plugin.close();
      await runtime.close();
      sock.cleanup();
    },
  };
}

/** Cores, CPU model, memory, node version, load: printed with the table and stored in the JSON. */
export function machineInfo(): Record<string, string | number> {
  let model = os.cpus()[0]?.model ?? "unknown";
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (m?.[1]) model = m[1].trim();
  } catch {
    // not Linux: keep os.cpus()
  }
  return {
    cores: os.cpus().length,
    cpuModel: model,
    memTotalMB: Math.round(os.totalmem() / 2 ** 20),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadAvg1m: r3(os.loadavg()[0] ?? 0),
  };
}

/** CPU milliseconds (user + system) since `c0` (a `process.cpuUsage()` value). */
export function cpuSince(c0: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(c0);
  return (d.user + d.system) / 1000;
}

/** Load average per core above which wall times measure the neighbours more than us. */
export const CONTENDED_LOAD_PER_CORE = 1.5;

/** True when the 1-minute load average per core exceeds {@link CONTENDED_LOAD_PER_CORE}. */
export function contended(): boolean {
  return (os.loadavg()[0] ?? 0) / Math.max(1, os.cpus().length) > CONTENDED_LOAD_PER_CORE;
}

/**
 * Verdict against `limit`: on wall time normally; on CPU time (this process, both sides of the
 * socket included, so conservative) when the machine is contended, which the note then says.
 */
export function judge(wall: number, cpu: number, limit: number): { verdict: "PASS" | "FAIL"; basis: string } {
  const useCpu = contended();
  const x = useCpu ? cpu : wall;
  return {
    verdict: x < limit ? "PASS" : "FAIL",
    basis: useCpu
      ? `verdict on CPU time (load ${r3(os.loadavg()[0] ?? 0)} on ${os.cpus().length} cores)`
      : "verdict on wall time",
  };
}

/** Polls `cond` every `stepMs` until true; rejects after `ms`. */
export async function until(cond: () => boolean, ms: number, what: string, stepMs = 1): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`failed to wait for ${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
