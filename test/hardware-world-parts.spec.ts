import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { usage } from "../src/cli.js";
import type { PodResctrlEvent } from "../src/plugin/events.js";
import { ResctrlPlugin } from "../src/plugin/plugin.js";
import { Resctrl } from "../src/resctrl/index.js";
import { MemFs, MockPidSource } from "../src/testing/index.js";
import { memoryLogger } from "../support/worlds/mock/memory-logger.js";
import {
  cgroupNamesFor,
  findContainerCgroup,
  parseTaskList,
  stripRuntimePrefix,
  threadsOfCgroup,
} from "../support/worlds/hardware/cgroup-tasks.js";
import { daemonArgs, parseLogLine } from "../support/worlds/hardware/daemon-process.js";
import {
  INIT_COMMAND,
  PLACEHOLDER_IMAGE,
  WORKLOAD_IMAGE,
  WORKLOAD_SCRIPT,
  kubeName,
  parseCrictlInspect,
  parsePodStatus,
  podManifest,
  workloadCommand,
} from "../support/worlds/hardware/kube.js";
import { podEventFromLog } from "../support/worlds/hardware/log-events.js";
import { classifyGrpcError, hardwarePrefixes, retryWhileCapacity } from "../support/worlds/hardware/retry.js";
import { RmidFiller, type FillerFs } from "../support/worlds/hardware/rmid-filler.js";
import { SeedTracker } from "../support/worlds/hardware/seeds.js";

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

function fakeFillerFs(capacity: number, busyFirst = 0): FillerFs & { dirs: Set<string>; busy: number } {
  const state = { dirs: new Set<string>(), busy: busyFirst };
  return {
    ...state,
    get busy() {
      return state.busy;
    },
    dirs: state.dirs,
    async mkdir(p) {
      if (state.busy > 0) {
        state.busy--;
        throw errno("EBUSY");
      }
      if (state.dirs.size >= capacity) throw errno("ENOSPC");
      state.dirs.add(p);
    },
    async rmdir(p) {
      if (!state.dirs.delete(p)) throw errno("ENOENT");
    },
    async readDirs() {
      return [...state.dirs].map((p) => p.slice(p.lastIndexOf("/") + 1));
    },
  };
}

describe("RMID filler", () => {
  const opts = (fs: FillerFs, maxGroups = 100) => ({
    monGroupsDir: "/r/mon_groups",
    prefix: "hwf_x_",
    maxGroups,
    fs,
    sleep: async () => undefined,
  });

  it("fills until ENOSPC, waits through EBUSY (limbo), frees the newest, removes all", async () => {
    const fs = fakeFillerFs(5, 3);
    const f = new RmidFiller(opts(fs));
    assert.equal(await f.fillUntilFull(10_000), 5);
    assert.equal(fs.dirs.size, 5);
    assert.equal(await f.freeOne(), "/r/mon_groups/hwf_x_7");
    assert.equal(fs.dirs.size, 4);
    assert.deepEqual(await f.removeAll(), []);
    assert.equal(fs.dirs.size, 0);
    await assert.rejects(f.freeOne(), /holds no helper group/);
  });

  it("waits until a group can be allocated again, or reports the deadline", async () => {
    const busy = fakeFillerFs(5, 3);
    assert.equal(await new RmidFiller(opts(busy)).waitUntilAllocatable(10_000), true);
    assert.equal(busy.dirs.size, 0, "the probe is removed");
    const full = fakeFillerFs(0);
    assert.equal(await new RmidFiller(opts(full)).waitUntilAllocatable(0), false);
  });

  it("refuses to run past maxGroups without ENOSPC, and still cleans up", async () => {
    const fs = fakeFillerFs(1000);
    const f = new RmidFiller(opts(fs, 4));
    await assert.rejects(f.fillUntilFull(1000), /without ENOSPC \(limit 4\)/);
    assert.equal(fs.dirs.size, 4);
    assert.deepEqual(await f.removeAll(), []);
    assert.equal(fs.dirs.size, 0);
  });

  it("gives up when limbo does not drain before the deadline", async () => {
    const f = new RmidFiller(opts(fakeFillerFs(5, 1_000_000)));
    await assert.rejects(f.fillUntilFull(0), /still in limbo/);
  });

  it("sweeps leftovers with its prefix only, and rejects unsafe prefixes", async () => {
    const fs = fakeFillerFs(100);
    fs.dirs.add("/r/mon_groups/hwf_x_99");
    fs.dirs.add("/r/mon_groups/pod_keep");
    assert.deepEqual(await new RmidFiller(opts(fs)).removeAll(), []);
    assert.deepEqual([...fs.dirs], ["/r/mon_groups/pod_keep"]);
    assert.throws(() => new RmidFiller({ ...opts(fs), prefix: "../x" }), /unsafe prefix/);
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

  it("classifies control API errors", () => {
    assert.equal(classifyGrpcError({ code: 8, details: "no RMID" }, "pod-not-found").ok, false);
    assert.deepEqual(classifyGrpcError({ code: 8, details: "no RMID" }, "pod-not-found"), {
      ok: false,
      error: "capacity",
      message: "no RMID",
    });
    assert.deepEqual(classifyGrpcError({ code: 5, details: "x" }, "container-not-found"), {
      ok: false,
      error: "container-not-found",
      message: "x",
    });
    assert.deepEqual(classifyGrpcError(new Error("boom"), "pod-not-found"), {
      ok: false,
      error: "other",
      message: "boom",
    });
  });

  it("retries through capacity answers until success or the deadline", async () => {
    let t = 0;
    const answers = [false, false, true];
    const attempt = async () =>
      answers.shift()
        ? { ok: true as const }
        : { ok: false as const, error: "capacity" as const, message: "full" };
    const sleep = async (ms: number) => {
      t += ms;
    };
    assert.deepEqual(await retryWhileCapacity(attempt, 10_000, sleep, () => t), { ok: true });
    const never = async () => ({ ok: false as const, error: "capacity" as const, message: "full" });
    assert.equal((await retryWhileCapacity(never, 1_000, sleep, () => t)).ok, false);
    const other = async () => ({ ok: false as const, error: "other" as const, message: "x" });
    t = 0;
    await retryWhileCapacity(other, 1_000, sleep, () => t);
    assert.equal(t, 0, "no retry for other errors");
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
