import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { usage } from "../src/cli.js";
import type { PodResctrlEvent } from "../src/plugin/events.js";
import { ResctrlPlugin } from "../src/plugin/plugin.js";
import { Resctrl } from "../src/resctrl/index.js";
import { MemFs, MockPidSource } from "../src/testing/index.js";
import { memoryLogger } from "../support/worlds/shared/log-capture.js";
import {
  cgroupNamesFor,
  findContainerCgroup,
  parseTaskList,
  stripRuntimePrefix,
  threadsOfCgroup,
} from "../support/worlds/hardware/cgroup-tasks.js";
import { daemonArgs } from "../support/daemon/daemon-args.js";
import { parseLogLine } from "../support/daemon/daemon-log.js";
import {
  INIT_COMMAND,
  PLACEHOLDER_IMAGE,
  WORKLOAD_IMAGE,
  WORKLOAD_SCRIPT,
  kubeName,
  parseCrictlInspect,
  parsePodStatus,
  podManifest,
  STREAM_BUFFER_BYTES,
  workloadCommand,
  workloadSpec,
} from "../support/worlds/hardware/kube.js";
import { podEventFromLog } from "../support/daemon/daemon-log.js";
import { Metadata, status } from "@grpc/grpc-js";
import { ControlApiServer, ControlClient, type ControlTarget } from "../src/control/index.js";
import {
  classifyControlError as classifyGrpcError,
  errorClassOf,
  isLimbo,
  retryWhileLimbo,
} from "../support/daemon/classify.js";
import { hardwarePrefixes } from "../support/worlds/hardware/scenario-prefixes.js";
import { RmidFiller, type FillerFs } from "../support/worlds/hardware/rmid-filler.js";
import {
  dirtyGroupCache,
  groupOccupancy,
  OccupancyThreshold,
  parseCounter,
  parseLlcBytes,
  type ThresholdFs,
} from "../support/worlds/hardware/rmid-limbo.js";
import { SeedTracker } from "../support/worlds/hardware/seeds.js";
import { HardwareWorld } from "../support/worlds/hardware/hardware-world.js";
import type { RetryOutcome } from "../support/worlds/types.js";

const errno = (code: string): Error => Object.assign(new Error(code), { code });

describe("task lists and container cgroups", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "hw-cg-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("parses task lists sorted and de-duplicated, and refuses garbage", () => {
    assert.deepEqual(parseTaskList("12\n3\n\n12\n 7 \n"), [3, 7, 12]);
    assert.deepEqual(parseTaskList(""), []);
    assert.throws(() => parseTaskList("1\nabc\n"), /line 2: "abc"/);
    assert.throws(() => parseTaskList("-1\n"), /line 1/);
  });

  it("knows both cgroup driver namings of a container", () => {
    assert.equal(stripRuntimePrefix("containerd://abc"), "abc");
    assert.deepEqual(cgroupNamesFor("containerd://abc"), ["cri-containerd-abc.scope", "abc"]);
  });

  it("finds a container's cgroup under the systemd and the cgroupfs layouts, or nothing", async () => {
    const sd = join(
      dir,
      "cg1",
      "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-aaa.scope",
    );
    const fs = join(dir, "cg2", "kubepods/besteffort/pod2/bbb");
    await mkdir(sd, { recursive: true });
    await mkdir(fs, { recursive: true });
    assert.equal(await findContainerCgroup("containerd://aaa", undefined, join(dir, "cg1")), sd);
    assert.equal(await findContainerCgroup("bbb", undefined, join(dir, "cg2")), fs);
    assert.equal(await findContainerCgroup("zzz", undefined, join(dir, "cg1")), undefined);
  });

  it("expands a cgroup's processes to their threads and skips processes that exited", async () => {
    const cg = join(dir, "cg3");
    const proc = join(dir, "proc");
    await mkdir(cg, { recursive: true });
    await writeFile(join(cg, "cgroup.procs"), "100\n200\n300\n");
    for (const t of ["100", "101", "102"]) await mkdir(join(proc, "100/task", t), { recursive: true });
    await mkdir(join(proc, "200/task/200"), { recursive: true });
    assert.deepEqual(await threadsOfCgroup(cg, undefined, proc), [100, 101, 102, 200]);
    await assert.rejects(threadsOfCgroup(join(dir, "gone"), undefined, proc));
  });
});

/**
 * A fake kernel for the filler: `total` RMIDs; a removed group's RMID goes into limbo (unless
 * `limboOnFree` is false) until `drain()`; mkdir answers EBUSY while none is free but some are in
 * limbo, ENOSPC when none is either (resctrl_find_free_rmid).
 */
function fakeRmidKernel(total: number, o: { limbo?: number; limboOnFree?: boolean } = {}) {
  const dirs = new Set<string>();
  const k = {
    dirs,
    limbo: o.limbo ?? 0,
    mkdirs: 0,
    drain(n = Infinity): void {
      k.limbo = Math.max(0, k.limbo - n);
    },
    fs: {
      async mkdir(p: string) {
        k.mkdirs++;
        if (dirs.has(p)) throw errno("EEXIST");
        if (dirs.size + k.limbo >= total) throw errno(k.limbo > 0 ? "EBUSY" : "ENOSPC");
        dirs.add(p);
      },
      async rmdir(p: string) {
        if (!dirs.delete(p)) throw errno("ENOENT");
        if (o.limboOnFree !== false) k.limbo++;
      },
      async readDirs() {
        return [...dirs].map((p) => p.slice(p.lastIndexOf("/") + 1));
      },
    } satisfies FillerFs,
  };
  return k;
}

describe("RMID filler", () => {
  /** A fake clock: every sleep advances it; `onSleep` runs after each (e.g. the kernel drains). */
  const clock = (onSleep: (slept: number) => void = () => undefined) => {
    let t = 0;
    let sleeps = 0;
    return {
      now: () => t,
      sleep: async (ms: number) => {
        t += ms;
        onSleep(++sleeps);
      },
      advance: (ms: number) => (t += ms),
    };
  };
  const opts = (fs: FillerFs, c = clock(), maxGroups = 100) => ({
    monGroupsDir: "/r/mon_groups",
    prefix: "hwf_x_",
    maxGroups,
    fs,
    sleep: c.sleep,
    now: c.now,
  });

  it("fills until ENOSPC, frees the newest, removes all", async () => {
    const k = fakeRmidKernel(5, { limboOnFree: false });
    const f = new RmidFiller(opts(k.fs));
    assert.deepEqual(await f.fillUntilFull(10_000), { held: 5, full: "ENOSPC" });
    assert.equal(f.count, 5);
    assert.equal(f.newest, "/r/mon_groups/hwf_x_4");
    assert.equal(await f.freeOne(), "/r/mon_groups/hwf_x_4");
    assert.equal(k.dirs.size, 4);
    assert.deepEqual(await f.removeAll(), []);
    assert.equal(k.dirs.size, 0);
    await assert.rejects(f.freeOne(), /holds no helper group/);
  });

  it("stops at EBUSY as at ENOSPC: a host whose freed RMIDs are in limbo is full", async () => {
    const k = fakeRmidKernel(5, { limbo: 2 });
    const f = new RmidFiller(opts(k.fs));
    assert.deepEqual(await f.fillUntilFull(10_000), { held: 3, full: "EBUSY" });
  });

  it("with a limbo wait, takes the RMIDs that leave limbo and ends at ENOSPC", async () => {
    const k = fakeRmidKernel(5, { limbo: 2 });
    const c = clock((n) => n === 3 && k.drain());
    const f = new RmidFiller(opts(k.fs, c));
    assert.deepEqual(await f.fillUntilFull(60_000, { limboWaitMs: 10_000 }), { held: 5, full: "ENOSPC" });
    assert.equal(c.now(), 3 * 250, "polled every pollMs until the limbo drained");
  });

  it("with a limbo wait that limbo outlasts, stops at EBUSY after the wait", async () => {
    const c = clock();
    const f = new RmidFiller(opts(fakeRmidKernel(5, { limbo: 1 }).fs, c));
    assert.deepEqual(await f.fillUntilFull(60_000, { limboWaitMs: 2_000 }), { held: 4, full: "EBUSY" });
    assert.equal(c.now(), 2_000);
    const short = clock();
    const g = new RmidFiller(opts(fakeRmidKernel(5, { limbo: 1 }).fs, short));
    assert.deepEqual(await g.fillUntilFull(1_000, { limboWaitMs: 60_000 }), { held: 4, full: "EBUSY" });
    assert.equal(short.now(), 1_000, "the fill deadline bounds the limbo wait");
  });

  it("rejects with a clear message when the host is not full by its deadline, and still cleans up", async () => {
    const c = clock();
    const k = fakeRmidKernel(1_000_000);
    const slow: FillerFs = { ...k.fs, mkdir: async (p) => (c.advance(10), k.fs.mkdir(p)) };
    const f = new RmidFiller(opts(slow, c, 1_000_000));
    await assert.rejects(
      f.fillUntilFull(100),
      /failed to exhaust RMIDs within 100 ms: created 10 helper groups in \/r\/mon_groups and mkdir still succeeds/,
    );
    assert.deepEqual(await f.removeAll(), []);
    assert.equal(k.dirs.size, 0);
  });

  it("refuses to run past maxGroups while mkdir still succeeds, and still cleans up", async () => {
    const k = fakeRmidKernel(1000);
    const f = new RmidFiller(opts(k.fs, clock(), 4));
    await assert.rejects(f.fillUntilFull(1000), /mkdir still succeeds \(limit 4/);
    assert.equal(k.dirs.size, 4);
    assert.deepEqual(await f.removeAll(), []);
    assert.equal(k.dirs.size, 0);
  });

  it("rejects on any other mkdir error", async () => {
    const f = new RmidFiller(
      opts({ ...fakeRmidKernel(5).fs, mkdir: async () => Promise.reject(errno("EACCES")) }),
    );
    await assert.rejects(f.fillUntilFull(1000), /failed to create helper group \/r\/mon_groups\/hwf_x_0/);
  });

  it("probes what the next group creation meets, and removes its probe", async () => {
    const k = fakeRmidKernel(2, { limboOnFree: false });
    const f = new RmidFiller(opts(k.fs));
    assert.equal(await f.probe(), "free");
    assert.equal(k.dirs.size, 0, "the probe is removed");
    await f.fillUntilFull(1000);
    assert.equal(await f.probe(), "exhausted");
    await f.freeOne();
    assert.equal(await f.probe(), "free");
    k.limbo = 1; // the free RMID is in limbo instead
    assert.equal(await f.probe(), "limbo");
    const bad = new RmidFiller(opts({ ...k.fs, mkdir: async () => Promise.reject(errno("EIO")) }));
    await assert.rejects(bad.probe(), /failed to probe RMIDs/);
  });

  it("waits for the limbo to drain, fails at once on ENOSPC, and reports a deadline", async () => {
    let k = fakeRmidKernel(2, { limbo: 0 });
    const drains = clock((n) => n === 4 && k.drain());
    const f = new RmidFiller(opts(k.fs, drains));
    await f.fillUntilFull(1000);
    await f.freeOne(); // its RMID goes into limbo
    assert.equal(await f.probe(), "limbo");
    assert.equal(await f.waitForDrain(60_000), 4 * 250);
    assert.equal(k.dirs.size, 1, "the probe is removed again");

    k = fakeRmidKernel(1);
    const g = new RmidFiller(opts(k.fs));
    await g.fillUntilFull(1000);
    await assert.rejects(
      g.waitForDrain(60_000),
      /answers ENOSPC after 0 ms, so no RMID is free and none is in limbo/,
    );

    k = fakeRmidKernel(1);
    const never = clock();
    const h = new RmidFiller(opts(k.fs, never));
    await h.fillUntilFull(1000);
    await h.freeOne();
    await assert.rejects(h.waitForDrain(1_000), /still answers EBUSY after 1000 ms \(5 probes\)/);
  });

  it("waits until a group can be allocated again, or reports the deadline (never rejects)", async () => {
    let k = fakeRmidKernel(3, { limbo: 3 });
    const c = clock((n) => n === 2 && k.drain());
    assert.equal(await new RmidFiller(opts(k.fs, c)).waitUntilAllocatable(10_000), true);
    assert.equal(k.dirs.size, 0, "the probe is removed");
    k = fakeRmidKernel(0);
    assert.equal(await new RmidFiller(opts(k.fs)).waitUntilAllocatable(0), false);
  });

  it("sweeps leftovers with its prefix only (the probe too), and rejects unsafe prefixes", async () => {
    const k = fakeRmidKernel(100);
    k.dirs.add("/r/mon_groups/hwf_x_99");
    k.dirs.add("/r/mon_groups/hwf_x_probe");
    k.dirs.add("/r/mon_groups/pod_keep");
    assert.deepEqual(await new RmidFiller(opts(k.fs)).removeAll(), []);
    assert.deepEqual([...k.dirs], ["/r/mon_groups/pod_keep"]);
    assert.throws(() => new RmidFiller({ ...opts(k.fs), prefix: "../x" }), /unsafe prefix/);
  });
});

describe("the hardware world's limbo port", () => {
  it("serves @rmid-limbo, and refuses limbo steps clearly before RMIDs were exhausted", async () => {
    const w = new HardwareWorld({ repoRoot: "/nowhere" });
    assert.ok(w.capabilities().has("rmid-limbo"));
    await assert.rejects(w.freeCapacityIntoLimbo(), /no helper group holds one/);
    await assert.rejects(w.drainRmidLimbo(), /no RMID was freed into limbo/);
    await w.freeCapacity(); // nothing was exhausted: nothing to free
  });
});

describe("real RMID limbo helpers", () => {
  it("reads the LLC size and kernel counters", () => {
    assert.equal(parseLlcBytes("processor\t: 0\ncache size\t: 107520 KB\nflags\t: x\n"), 107520 * 1024);
    assert.equal(parseLlcBytes("cache size : 0 KB\n"), undefined);
    assert.equal(parseLlcBytes("flags: x\n"), undefined);
    assert.equal(parseCounter(" 12345\n"), 12345);
    assert.equal(parseCounter("Unavailable\n"), undefined);
    assert.equal(parseCounter("-1"), undefined);
  });

  it("sets max_threshold_occupancy, keeps the value it found first, and restores exactly that", async () => {
    const files = new Map([["/r/info/L3_MON/max_threshold_occupancy", "229376\n"]]);
    const writes: string[] = [];
    const fs: ThresholdFs = {
      read: async (p) => files.get(p) ?? Promise.reject(errno("ENOENT")),
      write: async (p, d) => {
        if (Number(d) > 110_100_480) throw errno("EINVAL");
        writes.push(d.trim());
        files.set(p, d);
      },
    };
    const t = new OccupancyThreshold("/r", fs);
    assert.equal(t.changed, false);
    assert.equal(await t.restore(), true, "nothing to restore");
    assert.deepEqual(writes, []);
    await t.set(0);
    await t.set(110_100_480);
    assert.equal(t.changed, true);
    assert.equal(await t.current(), 110_100_480);
    await assert.rejects(t.set(200_000_000), /refuses more than the LLC size/);
    await assert.rejects(t.set(-1), /not a byte count/);
    assert.equal(await t.restore(), true);
    assert.deepEqual(writes, ["0", "110100480", "229376"]);
    assert.equal(t.changed, false);
    await assert.rejects(new OccupancyThreshold("/nope", fs).current(), /failed to read \/nope/);
    files.set("/r/info/L3_MON/max_threshold_occupancy", "garbage");
    await assert.rejects(new OccupancyThreshold("/r", fs).set(0), /"garbage"/);
    const stuck = new OccupancyThreshold("/s", {
      read: async () => "5\n",
      write: async (_p, d) => (d === "5\n" ? Promise.reject(errno("EIO")) : undefined),
    });
    await stuck.set(0);
    assert.equal(await stuck.restore(), false, "a failed restore resolves false");
  });

  it("fills the cache from inside a group: moves its child's main thread into tasks, reads the occupancy", async () => {
    const dir = await mkdtemp(join(tmpdir(), "hw-dirty-"));
    try {
      const group = join(dir, "hwf_x_3");
      await mkdir(join(group, "mon_data", "mon_L3_00"), { recursive: true });
      await mkdir(join(group, "mon_data", "mon_L3_01"), { recursive: true });
      await writeFile(join(group, "tasks"), "");
      await writeFile(join(group, "mon_data", "mon_L3_00", "llc_occupancy"), "1048576\n");
      await writeFile(join(group, "mon_data", "mon_L3_01", "llc_occupancy"), "Unavailable\n");
      assert.equal(await dirtyGroupCache(group, 1 << 20, 20_000), 1048576);
      const pid = Number((await readFile(join(group, "tasks"), "utf8")).trim());
      assert.ok(Number.isInteger(pid) && pid > 0 && pid !== process.pid, `a child's pid in tasks: ${pid}`);
      const noTasks = join(dir, "gone");
      await assert.rejects(dirtyGroupCache(noTasks, 1 << 20, 20_000), /failed to move the cache filler/);
      assert.equal(await groupOccupancy(noTasks), 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("Kubernetes manifests", () => {
  it("builds DNS-1123 names", () => {
    assert.equal(kubeName("hw-s1a2", "Web_Server"), "hw-s1a2-web-server");
    assert.equal(kubeName("x".repeat(80)).length, 63);
    assert.throws(() => kubeName("__"), /failed to build/);
  });

  it("gives every slot the same command, starts only the declared ones, and never pulls", () => {
    const m = podManifest({
      name: "hw-a-web",
      run: "hw-a",
      slots: 4,
      started: new Set([0, 1]),
      hostConfigDir: "/run/x",
    }) as {
      spec: {
        containers: { name: string; image: string; imagePullPolicy: string; command: string[] }[];
        volumes: { hostPath: { path: string } }[];
        restartPolicy: string;
      };
      metadata: { labels: Record<string, string> };
    };
    assert.deepEqual(
      m.spec.containers.map((c) => [c.name, c.image]),
      [
        ["c0", WORKLOAD_IMAGE],
        ["c1", WORKLOAD_IMAGE],
        ["c2", PLACEHOLDER_IMAGE],
        ["c3", PLACEHOLDER_IMAGE],
      ],
    );
    assert.ok(m.spec.containers.every((c) => c.imagePullPolicy === "Never"));
    assert.deepEqual(m.spec.containers[2]!.command, workloadCommand("/cfg/c2"));
    assert.equal(m.spec.volumes[0]!.hostPath.path, "/run/x");
    // OnFailure: the kubelet restarts a crashed container, leaves a completed one exited.
    assert.equal(m.spec.restartPolicy, "OnFailure");
    assert.equal(m.metadata.labels["nri-resctrl-e2e/run"], "hw-a");
    assert.equal("initContainers" in m.spec, false);
  });

  it("puts init containers that exit 0 before the slots, never pulled", () => {
    const m = podManifest({
      name: "hw-a-web",
      run: "hw-a",
      slots: 1,
      started: new Set([0]),
      hostConfigDir: "/run/x",
      inits: ["init-setup", "init-migrate"],
    }) as {
      spec: { initContainers: { name: string; image: string; imagePullPolicy: string; command: string[] }[] };
    };
    assert.deepEqual(
      m.spec.initContainers.map((c) => [c.name, c.image, c.imagePullPolicy, c.command]),
      [
        ["init-setup", WORKLOAD_IMAGE, "Never", [...INIT_COMMAND]],
        ["init-migrate", WORKLOAD_IMAGE, "Never", [...INIT_COMMAND]],
      ],
    );
  });

  it("the workload exits 0 by itself on SIGTERM (a completion, the end of a debug session)", () => {
    assert.match(WORKLOAD_SCRIPT, /^import os, signal, sys, threading, time\n/);
    assert.ok(WORKLOAD_SCRIPT.includes("signal.signal(signal.SIGTERM, lambda *_: os._exit(0))"));
  });

  it("adds a scenario's labels to the pod's own, which it cannot override", () => {
    const m = podManifest({
      name: "hw-a-web",
      run: "hw-a",
      slots: 1,
      started: new Set([0]),
      hostConfigDir: "/run/x",
      labels: { monitoring: "on", "nri-resctrl-e2e/run": "other" },
    }) as { metadata: { labels: Record<string, string> } };
    assert.equal(m.metadata.labels.monitoring, "on");
    assert.equal(m.metadata.labels["nri-resctrl-e2e/run"], "hw-a");
  });

  it("writes a workload spec: a thread count, and `stream` for a memory-streaming container", () => {
    assert.equal(workloadSpec(3), "3");
    assert.equal(workloadSpec(1, "idle"), "1");
    assert.equal(workloadSpec(2, "memory-stream"), "2 stream");
    assert.ok(STREAM_BUFFER_BYTES >= 256 * 1024 * 1024, "far above any LLC");
  });

  it(
    "runs the workload as specified: threads, streaming, and exit 0 on SIGTERM (local python3)",
    { skip: !hasPython() && "no python3 on this machine" },
    async () => {
      const dir = await mkdtemp(join(tmpdir(), "hw-workload-"));
      try {
        await writeFile(join(dir, "c0"), `${workloadSpec(2, "memory-stream")}\n`);
        for (const [arg, threads, streams] of [
          [join(dir, "c0"), 2, true],
          ["3", 3, false],
          [join(dir, "missing"), 1, false],
        ] as const) {
          const child = spawn("python3", workloadCommand(arg).slice(1), { stdio: "ignore" });
          await new Promise((r) => setTimeout(r, 1200));
          const tasks = (await readdir(`/proc/${child.pid}/task`)).length;
          const stat = (await readFile(`/proc/${child.pid}/stat`, "utf8")).split(") ")[1]!.split(" ");
          const cpuTicks = Number(stat[11]) + Number(stat[12]);
          const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
          child.kill("SIGTERM");
          assert.equal(await exited, 0, `${arg}: exit status after SIGTERM`);
          assert.equal(tasks, threads, `${arg}: threads`);
          // A streaming main thread burns CPU copying; a sleeping one does not.
          assert.equal(cpuTicks > 20, streams, `${arg}: CPU ticks ${cpuTicks} in 1.2 s`);
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );

  it("reads init containers, restart counts and exit codes", () => {
    const s = parsePodStatus(
      JSON.stringify({
        metadata: { uid: "u-2" },
        status: {
          phase: "Running",
          initContainerStatuses: [
            { name: "init-setup", containerID: "containerd://iii", state: { terminated: { exitCode: 0 } } },
          ],
          containerStatuses: [
            { name: "c0", containerID: "containerd://bbb", restartCount: 2, state: { running: {} } },
            { name: "c1", containerID: "containerd://ccc", state: { terminated: { exitCode: 0 } } },
          ],
        },
      }),
    );
    assert.deepEqual(
      [...s.terminated],
      [
        ["init-setup", "iii"],
        ["c1", "ccc"],
      ],
    );
    assert.deepEqual(
      [...s.exitCodes],
      [
        ["init-setup", 0],
        ["c1", 0],
      ],
    );
    assert.equal(s.restarts.get("c0"), 2);
    assert.equal(s.restarts.get("c1"), 0);
  });

  it("parses crictl inspect: state, exit code, attempt and the host pid", () => {
    assert.deepEqual(
      parseCrictlInspect(
        JSON.stringify({
          status: { id: "x", state: "CONTAINER_RUNNING", exitCode: 0, metadata: { name: "c0", attempt: 3 } },
          info: { pid: 4242, sandboxID: "s" },
        }),
      ),
      { state: "CONTAINER_RUNNING", exitCode: 0, attempt: 3, pid: 4242 },
    );
    assert.deepEqual(
      parseCrictlInspect(JSON.stringify({ status: { state: "CONTAINER_EXITED", exitCode: 137 }, info: {} })),
      { state: "CONTAINER_EXITED", exitCode: 137, attempt: 0, pid: 0 },
    );
    assert.throws(() => parseCrictlInspect("{}"), /no status.state/);
    assert.throws(() => parseCrictlInspect("not json"));
  });

  it("reads running, waiting and terminated containers, ephemeral ones included", () => {
    const s = parsePodStatus(
      JSON.stringify({
        metadata: { uid: "u-1" },
        status: {
          phase: "Pending",
          containerStatuses: [
            { name: "c0", containerID: "containerd://aaa", state: { running: {} } },
            { name: "c1", state: { waiting: { reason: "ErrImageNeverPull" } } },
            { name: "c2", containerID: "containerd://ccc", state: { terminated: { exitCode: 137 } } },
          ],
          ephemeralContainerStatuses: [
            { name: "debugger", containerID: "containerd://ddd", state: { running: {} } },
          ],
        },
      }),
    );
    assert.equal(s.uid, "u-1");
    assert.deepEqual(
      [...s.running],
      [
        ["c0", "aaa"],
        ["debugger", "ddd"],
      ],
    );
    assert.deepEqual([...s.waiting], [["c1", "ErrImageNeverPull"]]);
    assert.deepEqual([...s.terminated], [["c2", "ccc"]]);
  });
});

describe("daemon wiring", () => {
  const base = {
    repoRoot: "/r",
    nriSocket: "/n.sock",
    pluginName: "p",
    pluginIdx: "90",
    groupPrefix: "hwp_s1_",
    resctrlRoot: "/sys/fs/resctrl",
    controlSocket: "/t/c.sock",
  };

  it("passes only flags the real CLI documents", () => {
    const help = usage();
    const args = daemonArgs({ ...base, cleanupOnStart: false, autoMount: true });
    for (const a of args.filter((x) => x.startsWith("--"))) {
      const flag = a.replace(/^--no-/, "--");
      assert.ok(help.includes(flag.slice(2)), `${a} is a flag of nri-resctrl-plugin`);
    }
    assert.ok(args.includes("--no-cleanup-on-start") && args.includes("--auto-mount"));
    assert.equal(args[args.indexOf("--resctrl-provider") + 1], "real");
    assert.ok(
      !daemonArgs(base).some((a) => a.includes("cleanup-on-start") || a.includes("auto-mount")),
      "defaults stay the daemon's",
    );
  });

  it("parses log lines", () => {
    assert.deepEqual(parseLogLine('{"msg":"x","level":30}'), { msg: "x", level: 30 });
    assert.deepEqual(parseLogLine("plain text"), { msg: "plain text" });
    assert.equal(parseLogLine("  "), undefined);
  });

  it("reads back from the log exactly the events the real plugin emits", async () => {
    const { logger, records } = memoryLogger("info");
    const root = "/sys/fs/resctrl";
    const fs = MemFs.withResctrl({ root, pidExists: () => true });
    const resctrl = Resctrl.withProvider(fs, { root, groupPrefix: "hwp_t_", logger });
    const plugin = ResctrlPlugin.withPidSource({}, resctrl, new MockPidSource(), { logger });
    const emitted: PodResctrlEvent[] = [];
    plugin.onEvent((e) => emitted.push(e));
    const pod = {
      id: "s".repeat(64),
      name: "web",
      uid: "uid-1",
      namespace: "ns",
      labels: {},
      annotations: {},
      cgroupParent: "",
      cgroupsPath: "",
      pid: 0,
    };
    await plugin.synchronize([], []);
    await plugin.runPodSandbox(pod);
    fs.failMkdirWithEnospc(true);
    await plugin.runPodSandbox({ ...pod, id: "t".repeat(64), uid: "uid-2" });
    await plugin.removePodSandbox(pod);
    await plugin.close();
    const fromLog = records.map(podEventFromLog).filter((e) => e !== undefined);
    const expected = emitted.map((e) =>
      e.kind === "Removed"
        ? { kind: "Removed", podUid: e.podUid }
        : {
            kind: "AddOrUpdate",
            podUid: e.podUid,
            group: e.groupState,
            total: e.totalContainers,
            reconciled: e.reconciledContainers,
          },
    );
    assert.ok(expected.length >= 3, `the plugin emitted ${expected.length} events`);
    assert.deepEqual(fromLog, expected);
  });

  it("rejects a malformed pod event record", () => {
    assert.equal(podEventFromLog({ msg: "other" }), undefined);
    assert.throws(
      () => podEventFromLog({ msg: "pod event", event: "AddOrUpdate", podUid: "u" }),
      /counters missing/,
    );
  });
});

describe("scenario prefixes and retries", () => {
  it("derives distinct prefixes from the scenario prefix", () => {
    const p = hardwarePrefixes("s1a2b3c4_");
    assert.deepEqual(p, {
      run: "hw-s1a2b3c4",
      plugin: "hwp_s1a2b3c4_",
      filler: "hwf_s1a2b3c4_",
      foreign: "hwo_s1a2b3c4_",
      all: ["hwp_s1a2b3c4_", "hwf_s1a2b3c4_", "hwo_s1a2b3c4_"],
    });
    assert.throws(() => hardwarePrefixes("a/b_"), /unsafe/);
  });

  it("classifies control API errors: exhausted, in limbo (by the daemon's error class), not found, other", () => {
    const md = (cls: string): Metadata => {
      const m = new Metadata();
      m.set("error-class", cls);
      return m;
    };
    assert.deepEqual(
      classifyGrpcError(
        { code: status.RESOURCE_EXHAUSTED, details: "no RMID", metadata: md("CapacityError") },
        "pod-not-found",
      ),
      { ok: false, error: "capacity", message: "no RMID" },
    );
    assert.deepEqual(
      classifyGrpcError(
        { code: status.UNAVAILABLE, details: "EBUSY", metadata: md("RmidLimboError") },
        "pod-not-found",
      ),
      { ok: false, error: "capacity", limbo: true, message: "EBUSY" },
    );
    // grpc-js's own UNAVAILABLE (daemon gone) carries no error class: not limbo.
    assert.deepEqual(
      classifyGrpcError({ code: status.UNAVAILABLE, details: "No connection established" }, "pod-not-found"),
      { ok: false, error: "other", message: "No connection established" },
    );
    assert.deepEqual(classifyGrpcError({ code: status.NOT_FOUND, details: "x" }, "container-not-found"), {
      ok: false,
      error: "container-not-found",
      message: "x",
    });
    assert.deepEqual(classifyGrpcError(new Error("boom"), "pod-not-found"), {
      ok: false,
      error: "other",
      message: "boom",
    });
    assert.equal(errorClassOf({ metadata: md("RmidLimboError") }), "RmidLimboError");
    assert.equal(errorClassOf({}), undefined);
    assert.equal(errorClassOf(null), undefined);
  });

  it("classifies what the real control API answers over its socket", async () => {
    const dir = await mkdtemp(join(tmpdir(), "hw-ctl-"));
    const named = (name: string, message: string): Error => Object.assign(new Error(message), { name });
    let answer: Error = named("CapacityError", "RMIDs exhausted");
    const target = {
      retryGroupCreation: async () => Promise.reject(answer),
      snapshot: () => [],
    } as unknown as ControlTarget;
    const socketPath = join(dir, "c.sock");
    const server = await ControlApiServer.listen({ socketPath, plugin: target });
    const client = await ControlClient.connect(socketPath);
    const retry = () =>
      client.retryGroupCreation("u1").then(
        () => ({ ok: true }) as const,
        (e: unknown) => classifyGrpcError(e, "pod-not-found"),
      );
    try {
      assert.deepEqual(await retry(), { ok: false, error: "capacity", message: "RMIDs exhausted" });
      answer = named("RmidLimboError", "EBUSY: RMIDs in limbo");
      assert.deepEqual(await retry(), {
        ok: false,
        error: "capacity",
        limbo: true,
        message: "EBUSY: RMIDs in limbo",
      });
      answer = named("PodNotFoundError", "no pod u1");
      const missing = await retry();
      assert.equal(!missing.ok && missing.error, "pod-not-found");
      await server.close();
      const dead = await retry();
      assert.equal(
        !dead.ok && dead.error,
        "other",
        `a daemon that is gone is not limbo: ${JSON.stringify(dead)}`,
      );
    } finally {
      client.close();
      await server.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("retries only while the answer is RMIDs in limbo, until success or the deadline", async () => {
    let t = 0;
    const limbo = { ok: false as const, error: "capacity" as const, limbo: true, message: "busy" };
    const exhausted = { ok: false as const, error: "capacity" as const, message: "full" };
    const answers: RetryOutcome[] = [limbo, limbo, { ok: true }];
    const sleep = async (ms: number) => {
      t += ms;
    };
    assert.deepEqual(
      await retryWhileLimbo(
        async () => answers.shift()!,
        10_000,
        sleep,
        () => t,
      ),
      {
        ok: true,
      },
    );
    assert.equal(t, 500);
    assert.equal(
      isLimbo(
        await retryWhileLimbo(
          async () => limbo,
          1_000,
          sleep,
          () => t,
        ),
      ),
      true,
    );
    for (const r of [exhausted, { ok: false as const, error: "other" as const, message: "x" }]) {
      t = 0;
      assert.deepEqual(
        await retryWhileLimbo(
          async () => r,
          1_000,
          sleep,
          () => t,
        ),
        r,
      );
      assert.equal(t, 0, `no retry for ${JSON.stringify(r)}`);
    }
    assert.equal(isLimbo(exhausted), false);
  });
});

describe("seeded groups", () => {
  it("names, creates, finds and removes seeded groups (nested ones first), and spots foreign groups", async () => {
    const root = await mkdtemp(join(tmpdir(), "hw-seeds-"));
    try {
      await mkdir(join(root, "mon_groups"));
      await mkdir(join(root, "info"));
      const seeds = new SeedTracker(root, "hwp_s_", "hwo_s_");
      await seeds.create({ label: "ctl", location: { kind: "root" }, owner: "other" });
      await mkdir(join(root, "hwo_s_ctl", "mon_groups")); // the kernel creates it for a control group
      await seeds.create({ label: "stale", location: { kind: "mon_groups" }, owner: "plugin" });
      await seeds.create({ label: "deep", location: { kind: "nested", parent: "ctl" }, owner: "plugin" });
      assert.equal(
        seeds.pathOf({ label: "x", location: { kind: "mon_groups" }, owner: "plugin" }),
        join(root, "mon_groups/hwp_s_x"),
      );
      assert.equal(await seeds.exists("deep"), true);
      assert.throws(
        () => seeds.pathOf({ label: "y", location: { kind: "nested", parent: "nope" }, owner: "other" }),
        /parent nope must be seeded first/,
      );
      await assert.rejects(seeds.exists("never"), /never seeded it/);
      await mkdir(join(root, "mon_groups", "pod_someone"));
      assert.deepEqual(await seeds.foreignGroups(["hwp_s_", "hwo_s_"]), ["mon_groups/pod_someone"]);
      await rm(join(root, "hwo_s_ctl", "mon_groups"), { recursive: true }); // rmdir of a control group takes its children
      assert.deepEqual(await seeds.removeAll(), []);
      assert.equal(await new SeedTracker(root, "a_", "b_").foreignGroups([]).then((f) => f.length), 1);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

/** Whether python3 runs here (the workload test runs it; the hardware hosts have it in the image). */
function hasPython(): boolean {
  return spawnSync("python3", ["-c", "pass"]).status === 0;
}
