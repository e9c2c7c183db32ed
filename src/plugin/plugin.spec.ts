// ResctrlPlugin, the NRI handler, driven by calling its handler methods directly (no socket) over
// a MemFs-backed Resctrl and a MockPidSource (test/support/plugin-harness.ts): construction and
// configure, startup mount and cleanup, Synchronize, pod and container events, the counting rule,
// reconcile, the per-pod lock, the caller-driven retries, sandboxes that vanish without
// REMOVE_POD_SANDBOX, RMID limbo, events and queries. The retry pass retryAllOnce has its own spec
// (retry-all.spec.ts); the plugin over the NRI wire is test/plugin-over-nri.spec.ts.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  MON,
  ROOT,
  ctr,
  gate,
  harness,
  type Harness,
  pod,
  runModuleInChild,
  until,
} from "../../test/support/plugin-harness.js";
import { memoryLogger } from "../../support/worlds/shared/log-capture.js";
import { NriContainerState } from "../nri/types.js";
import { CapacityError, Resctrl, RmidLimboError } from "../resctrl/index.js";
import { MemFs, MockPidSource } from "../testing/index.js";
import {
  CgroupGoneError,
  ContainerNotFoundError,
  InvalidPluginConfigError,
  PluginError,
  PodNotFoundError,
} from "./errors.js";
import { RESCTRL_PLUGIN_EVENT_MASK, ResctrlPlugin } from "./plugin.js";

const G1 = `${MON}/pod_u1`;
const STOPPED = NriContainerState.STOPPED;

const configureReq = (config: string) => ({
  config,
  runtimeName: "containerd",
  runtimeVersion: "1.7.24",
  registrationTimeoutMs: 5000,
  requestTimeoutMs: 2000,
});

/** A plugin whose kernel has `capacity` RMIDs (root included), freed ones in limbo until drained. */
function limboHarness(capacity: number) {
  return harness({ fs: { rmidCapacity: capacity, rmidLimboMs: Infinity } });
}

/** A pod u1 (sandbox sb-u1) with containers c1 and c2, both reconciled. */
async function twoContainers() {
  const h = harness();
  h.pids.setPids("c1", [11]).setPids("c2", [12]);
  const p = pod("u1");
  await h.plugin.runPodSandbox(p);
  await h.plugin.startContainer(p, ctr("c1", p.id));
  await h.plugin.startContainer(p, ctr("c2", p.id));
  assert.ok(h.fs.isDir(G1));
  return { h, p };
}

/** REMOVE_CONTAINER as containerd sends it for a recovered pod: pod fields sparse (no uid). */
function sparse(id: string) {
  return { ...pod(""), id, cgroupsPath: "", cgroupParent: "", name: "" };
}

describe("ResctrlPlugin.create / withPidSource", () => {
  it("create() wires the real filesystem: on a host without resctrl, pods are Failed, nothing crashes", async () => {
    const root = mkdtempSync(join(tmpdir(), "no-resctrl-"));
    try {
      const plugin = ResctrlPlugin.create({ autoMount: false, groupPrefix: "t_" }, { resctrlRoot: root });
      assert.equal(plugin.config.groupPrefix, "t_");
      const seen: string[] = [];
      plugin.onEvent((e) => seen.push(e.kind === "AddOrUpdate" ? e.groupState.kind : e.kind));
      await plugin.synchronize([pod("u1")], []);
      await plugin.idle(); // the pods of a Synchronize are added after its reply (syncInlineBudgetMs 0)
      assert.deepEqual(seen, ["Failed"]);
      assert.deepEqual(readdirSync(root), [], "nothing written under an unmounted root");
      assert.throws(() => ResctrlPlugin.create({ groupPrefix: "" }), InvalidPluginConfigError);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("withPidSource rejects a prefix that differs from the resctrl handle's", () => {
    const r = Resctrl.withProvider(MemFs.withResctrl(), { groupPrefix: "abc_" });
    assert.throws(
      () => ResctrlPlugin.withPidSource({ groupPrefix: "pod_" }, r, new MockPidSource()),
      PluginError,
    );
    assert.equal(ResctrlPlugin.withPidSource({}, r, new MockPidSource()).config.groupPrefix, "abc_");
  });

  it("passes its roots on: the resctrl root to the resctrl layer, the cgroup root to sandbox checks", async () => {
    const dir = mkdtempSync(join(tmpdir(), "create-wiring-"));
    try {
      const resctrlRoot = join(dir, "resctrl");
      const cgroupRoot = join(dir, "cgroup");
      mkdirSync(resctrlRoot);
      mkdirSync(join(cgroupRoot, "kubepods/podu1/sb-u1"), { recursive: true });
      writeFileSync(join(cgroupRoot, "cgroup.controllers"), "cpu memory\n");
      const { logger, records } = memoryLogger("debug");
      const plugin = ResctrlPlugin.create(
        { autoMount: false },
        { resctrlRoot, cgroupRoot, procRoot: join(dir, "proc"), logger },
      );
      await plugin.runPodSandbox(pod("u1"));
      assert.equal(plugin.snapshot()[0]?.groupState.kind, "Failed", "no resctrl under the temp root");
      assert.ok(
        records.some((r) => JSON.stringify(r).includes(resctrlRoot)),
        "the failure names the configured resctrl root",
      );
      await plugin.startContainer(pod("u1"), ctr("c1", "sb-u1"));
      await plugin.removeContainer(pod("u1"), ctr("c1", "sb-u1"));
      assert.equal(plugin.snapshot().length, 1, "the sandbox cgroup exists under cgroupRoot: pod kept");
      rmSync(join(cgroupRoot, "kubepods/podu1/sb-u1"), { recursive: true });
      assert.equal((await plugin.retryAllOnce()).podsPruned, 1, "now it is gone: pruned");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("without a logger option the plugin writes nothing to stdout or stderr", () => {
    const dir = mkdtempSync(join(tmpdir(), "quiet-"));
    try {
      // Build both in this process too (no I/O, no output): Stryker's per-test coverage only sees
      // code run in the test's own process, and the defaults are only reached without a logger.
      ResctrlPlugin.withPidSource({}, Resctrl.withProvider(MemFs.withResctrl()), new MockPidSource());
      ResctrlPlugin.create({ autoMount: false }, { resctrlRoot: dir });
      const url = (p: string) => JSON.stringify(new URL(p, import.meta.url).href);
      const r = runModuleInChild([
        `const { ResctrlPlugin } = await import(${url("./plugin.js")});`,
        `const { Resctrl } = await import(${url("../resctrl/index.js")});`,
        `const { MemFs, MockPidSource } = await import(${url("../testing/index.js")});`,
        `const pod = { id: "sb", name: "n", uid: "u1", namespace: "d", labels: {}, annotations: {}, cgroupParent: "", cgroupsPath: "/k/sb", pid: 0 };`,
        `const a = ResctrlPlugin.withPidSource({}, Resctrl.withProvider(MemFs.withResctrl()), new MockPidSource());`,
        `await a.synchronize([pod], []);`,
        `const b = ResctrlPlugin.create({ autoMount: false }, { resctrlRoot: ${JSON.stringify(dir)} });`,
        `await b.runPodSandbox(pod);`,
        `process.stdout.write(a.snapshot()[0].groupState.kind + " " + b.snapshot()[0].groupState.kind);`,
      ]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, "Exists Failed", "only the child's own output, no log line");
      assert.equal(r.stderr, "");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("ResctrlPlugin.configure / shutdown", () => {
  it("subscribes to exactly RUN/REMOVE_POD_SANDBOX, START/STOP/REMOVE_CONTAINER (0x625)", () => {
    const h = harness();
    const r = h.plugin.configure({ config: "", runtimeName: "fake", runtimeVersion: "1" });
    assert.equal(RESCTRL_PLUGIN_EVENT_MASK, 0x625);
    assert.deepEqual(r, { events: 0x625 });
  });

  it("configure logs the runtime and warns only about a non-blank runtime config; shutdown is logged", () => {
    const h = harness();
    assert.equal(h.plugin.configure(configureReq("  \n")).events, 0x625);
    const info = h.logs.find((l) => l.msg === "configured by runtime");
    assert.equal(info?.runtime, "containerd");
    assert.equal(info?.version, "1.7.24");
    assert.equal(info?.requestTimeoutMs, 2000);
    assert.equal(h.logs.filter((l) => l.level === 40).length, 0, "blank config: no warning");
    h.plugin.configure(configureReq('{"x":1}'));
    assert.equal(h.logs.filter((l) => l.level === 40 && /config is ignored/.test(l.msg)).length, 1);
    h.plugin.shutdown();
    assert.ok(h.logs.some((l) => l.level === 30 && /shutting down; groups are kept/.test(l.msg)));
  });
});

describe("ResctrlPlugin: startup mounts resctrl, then cleans up stale groups once", () => {
  it("mounts first, then cleans only our prefix, once, before any group; one info line; no events", async () => {
    const h = harness();
    await h.fs.createDir(`${MON}/pod_stale1`);
    await h.fs.createDir(`${MON}/other_keep`);
    await h.fs.createDir(`${ROOT}/pod_stale_ctrl`);
    h.pids.setPids("c1", [1]);
    await h.plugin.synchronize([pod("u1")], [ctr("c1", "sb-u1")]);
    await h.plugin.idle();
    assert.equal(h.fs.isDir(`${MON}/pod_stale1`), false);
    assert.equal(h.fs.isDir(`${ROOT}/pod_stale_ctrl`), false);
    assert.ok(h.fs.isDir(`${MON}/other_keep`));
    assert.ok(h.fs.isDir(`${MON}/pod_u1`), "the group created after cleanup survives");
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Exists 1/1"], "cleanup emits no pod events");
    const lines = h.logs.filter((l) => l.msg === "startup cleanup done");
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.removed, 2);
    assert.equal(lines[0]?.nonPrefixGroups, 1);
    // A second (re-registration) Synchronize never cleans again.
    await h.plugin.synchronize([pod("u1")], [ctr("c1", "sb-u1")]);
    await h.plugin.idle();
    assert.ok(h.fs.isDir(`${MON}/pod_u1`));
    assert.equal(h.logs.filter((l) => l.msg === "startup cleanup done").length, 1);
  });

  it("ensureMounted(autoMount) runs before cleanup: an unmounted root is mounted, then groups work", async () => {
    const h = harness({ fs: { mounted: false } });
    await h.plugin.synchronize([pod("u1")], []);
    await h.plugin.idle();
    const mountIdx = h.fs.log.findIndex((e) => e.op === "mount");
    const firstList = h.fs.log.findIndex((e) => e.op === "list");
    assert.ok(mountIdx >= 0 && mountIdx < firstList, "mount before the cleanup listing");
    assert.deepEqual(h.trace(), ["u1 Exists 0/0"]);
  });

  it("autoMount=false on an unmounted root: no mount, cleanup skipped, pods Failed (retry later)", async () => {
    const h = harness({ fs: { mounted: false }, cfg: { autoMount: false } });
    await h.plugin.runPodSandbox(pod("u1"));
    assert.equal(h.fs.calls("mount"), 0);
    assert.equal(h.fs.calls("list"), 0);
    assert.deepEqual(h.trace(), ["u1 Failed 0/0"]);
    const health = h.plugin.health();
    assert.equal(health.resctrl, "unusable");
    assert.match(health.reason ?? "", /not mounted/i, "the reason is the mount check's own message");
    assert.ok(
      h.logs.some(
        (l) =>
          l.msg === "failed to ensure resctrl is mounted" &&
          String((l.err as { message?: unknown } | undefined)?.message) === health.reason,
      ),
    );
    h.fs.setMounted(true);
    assert.equal((await h.plugin.retryGroupCreation("u1")).kind, "Exists");
  });

  it("cleanupOnStart=false leaves stale groups alone", async () => {
    const h = harness({ cfg: { cleanupOnStart: false } });
    await h.fs.createDir(`${MON}/pod_stale`);
    await h.plugin.synchronize([], []);
    assert.ok(h.fs.isDir(`${MON}/pod_stale`));
  });

  it("resctrl not mounted: one error naming root and autoMount, the cleanup skip warned with the root", async () => {
    const h = harness({ cfg: { autoMount: false }, fs: { mounted: false } });
    await h.plugin.runPodSandbox(pod("u1"));
    const err = h.logs.filter((l) => l.msg === "failed to ensure resctrl is mounted");
    assert.equal(err.length, 1);
    assert.equal(err[0]?.level, 50);
    assert.equal(err[0]?.root, "/sys/fs/resctrl");
    assert.equal(err[0]?.autoMount, false);
    assert.ok(err[0]?.err);
    const skip = h.logs.find((l) => l.msg === "startup cleanup skipped: resctrl is not mounted");
    assert.equal(skip?.level, 40);
    assert.equal(skip?.root, "/sys/fs/resctrl");
  });

  it("a failing cleanup is logged with root and error; pods are still served", async () => {
    const h = harness();
    h.fs.failNext("list", "/sys/fs/resctrl", "EIO");
    await h.plugin.runPodSandbox(pod("u1"));
    const err = h.logs.find((l) => l.msg === "failed to clean up stale groups at startup");
    assert.equal(err?.level, 50);
    assert.equal(err?.root, "/sys/fs/resctrl");
    assert.ok(err?.err);
    assert.equal(h.trace().at(-1), "u1 Exists 0/0");
  });
});

describe("ResctrlPlugin: Synchronize", () => {
  it("emits 0/0 per pod, then counts climb as containers reconcile (1/1, 2/2); tasks moved", async () => {
    const h = harness();
    h.pids.setPids("c1", [11, 12]).setPids("c2", [21]);
    await h.plugin.synchronize([pod("u1")], [ctr("c1", "sb-u1"), ctr("c2", "sb-u1")]);
    await h.plugin.idle();
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Exists 1/1", "u1 Exists 2/2"]);
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_u1`), [11, 12, 21]);
    const [snap] = h.plugin.snapshot();
    assert.equal(snap?.groupState.kind, "Exists");
    assert.deepEqual(
      snap?.containers.map((c) => `${c.id}:${c.state}`),
      ["c1:Reconciled", "c2:Reconciled"],
    );
  });

  it("replies before the pods are added; an event or a removal about a listed pod waits for its section", async () => {
    const h = harness();
    h.pids.setPids("c1", [11]).setPids("c2", [21]);
    // Hold every mkdir until released: the pods' sections are still running after the reply.
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const mkdir = h.fs.createDir.bind(h.fs);
    h.fs.createDir = async (path: string) => {
      await gate;
      return mkdir(path);
    };
    await h.plugin.synchronize([pod("u1"), pod("u3")], [ctr("c1", "sb-u1")]);
    assert.equal(h.plugin.snapshot().length, 0, "no pod added yet");
    let started = false;
    const start = h.plugin.startContainer(pod("u1"), ctr("c2", "sb-u1")).then(() => (started = true));
    const removed = h.plugin.removePodSandbox(pod("u3"));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(started, false, "START waits for its pod's section");
    open();
    await Promise.all([start, removed]);
    await h.plugin.idle();
    assert.equal(
      h.logs.some((l) => l.msg === "container seen before its pod; kept as NoPod"),
      false,
      "c2 never looked podless",
    );
    const u1 = h.plugin.snapshot().find((p) => p.podUid === "u1");
    assert.deepEqual(
      u1?.containers.map((c) => `${c.id}:${c.state}`),
      ["c1:Reconciled", "c2:Reconciled"],
    );
    assert.deepEqual(
      h.plugin.snapshot().map((p) => p.podUid),
      ["u1"],
      "u3 was added, then removed by its REMOVE_POD_SANDBOX",
    );
    assert.equal(h.fs.isDir(`${MON}/pod_u3`), false, "no group left for u3");
  });

  it("an event about a listed pod runs that pod's section at once, not after the pods listed before it", async () => {
    const h = harness({ cfg: { syncConcurrency: 1 } });
    h.pids.setPids("c3", [31]);
    // u1's mkdir hangs: the background adder (one pod at a time) is stuck on the first listed pod.
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const mkdir = h.fs.createDir.bind(h.fs);
    h.fs.createDir = async (path: string) => {
      if (path.endsWith("pod_u1")) await gate;
      return mkdir(path);
    };
    await h.plugin.synchronize([pod("u1"), pod("u2"), pod("u3")], []);
    await h.plugin.startContainer(pod("u3"), ctr("c3", "sb-u3"));
    assert.deepEqual(
      h.plugin.snapshot().map((p) => `${p.podUid}:${p.containers.map((c) => `${c.id}:${c.state}`).join()}`),
      ["u3:c3:Reconciled"],
      "u3 added by its event's claim and c3 reconciled while u1 is still being added",
    );
    open();
    await h.plugin.idle();
    assert.deepEqual(
      h.plugin
        .snapshot()
        .map((p) => p.podUid)
        .sort(),
      ["u1", "u2", "u3"],
      "every listed pod added once",
    );
    assert.equal(h.trace().filter((t) => t === "u3 Exists 0/0").length, 1, "u3's section ran once");
  });

  /** Makes every mkdir of a path ending in `suffix` wait for the returned `open()`. */
  function gateMkdir(h: Harness, suffix: string): () => void {
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const mkdir = h.fs.createDir.bind(h.fs);
    h.fs.createDir = async (path: string) => {
      if (path.endsWith(suffix)) await gate;
      return mkdir(path);
    };
    return open;
  }

  it("three sandboxes of one pod UID in one Synchronize: all recorded, the pod added once", async () => {
    const h = harness();
    h.pids.setPids("c1", [11]).setPids("c2", [21]).setPids("c3", [31]);
    await h.plugin.synchronize(
      [pod("u1", "sb-a"), pod("u1", "sb-b"), pod("u1", "sb-c")],
      [ctr("c1", "sb-a"), ctr("c2", "sb-b"), ctr("c3", "sb-c")],
    );
    await h.plugin.idle();
    const [u1] = h.plugin.snapshot();
    assert.deepEqual(u1?.sandboxIds, ["sb-a", "sb-b", "sb-c"]);
    assert.deepEqual(
      u1?.containers.map((c) => `${c.id}:${c.state}`),
      ["c1:Reconciled", "c2:Reconciled", "c3:Reconciled"],
    );
    assert.equal(h.trace().filter((t) => t.endsWith(" 0/0")).length, 1, "one pod, one first event");
  });

  it("a section an event claimed and that is slow still has its containers reconciled by the Synchronize", async () => {
    const h = harness({ cfg: { syncConcurrency: 1 } });
    h.pids.setPids("c1", [11]).setPids("c2", [21]).setPids("c3", [31]);
    const open = gateMkdir(h, "pod_u2");
    await h.plugin.synchronize([pod("u1"), pod("u2")], [ctr("c1", "sb-u1"), ctr("c2", "sb-u2")]);
    const start = h.plugin.startContainer(pod("u2"), ctr("c3", "sb-u2")); // claims u2's section: held at mkdir
    await until(() => h.plugin.snapshot().some((p) => p.podUid === "u1" && p.containers.length === 1));
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r)); // the adder is past u1 and u2
    assert.equal(
      h.logs.some((l) => l.msg === "reconciled the synchronized containers"),
      false,
      "the reconciles wait for u2's section",
    );
    open();
    await start;
    await h.plugin.idle();
    const u2 = h.plugin.snapshot().find((p) => p.podUid === "u2");
    assert.deepEqual(
      u2?.containers.map((c) => `${c.id}:${c.state}`),
      ["c2:Reconciled", "c3:Reconciled"],
      "c2 was queued by u2's section before the Synchronize's reconciles began",
    );
    const summary = h.logs.find((l) => l.msg === "reconciled the synchronized containers");
    assert.equal(summary?.containers, 2);
  });

  it("a call about an unlisted pod while sections are pending claims nothing and breaks nothing", async () => {
    const h = harness({ cfg: { syncConcurrency: 1 } });
    h.pids.setPids("c1", [11]);
    const open = gateMkdir(h, "pod_u1"); // the adder waits at u1: u2 stays pending
    await h.plugin.synchronize([pod("u1"), pod("u2")], [ctr("c1", "sb-u1")]);
    await h.plugin.runPodSandbox(pod("u9"));
    assert.deepEqual(
      h.plugin.snapshot().map((p) => p.podUid),
      ["u9"],
      "u9 added while u1's section waits",
    );
    open();
    await h.plugin.idle();
    assert.equal(
      h.logs.some((l) => l.msg === "failed to add a synchronized pod"),
      false,
    );
    assert.deepEqual(
      h.plugin
        .snapshot()
        .map((p) => `${p.podUid}:${p.reconciledContainers}/${p.totalContainers}`)
        .sort(),
      ["u1:1/1", "u2:0/0", "u9:0/0"],
    );
  });

  it("a container stopped before its background reconcile stays Stopped (not reconciled after the stop)", async () => {
    const h = harness();
    h.pids.setPids("c1", [11]).setPids("c2", [21]);
    const open = gateMkdir(h, "pod_u1"); // u1's section (claimed by the adder or the stop) waits
    await h.plugin.synchronize([pod("u1")], [ctr("c1", "sb-u1"), ctr("c2", "sb-u1")]);
    const stop = h.plugin.stopContainer(pod("u1"), ctr("c1", "sb-u1")); // queued right after the section
    open();
    await stop;
    await h.plugin.idle();
    const [u1] = h.plugin.snapshot();
    assert.deepEqual(
      u1?.containers.map((c) => `${c.id}:${c.state}`),
      ["c1:Stopped", "c2:Reconciled"],
    );
    assert.equal(h.fs.tasksOf(`${MON}/pod_u1`).includes(11), false, "c1's tasks were never moved");
  });

  it("a container removed and started again before its background reconcile is reconciled once, as the new one", async () => {
    const h = harness({ cfg: { syncConcurrency: 1 } });
    h.pids.setPids("c1", [11]);
    const open = gateMkdir(h, "pod_u2"); // u1 is added, the reconciles wait for u2's section
    await h.plugin.synchronize([pod("u1"), pod("u2")], [ctr("c1", "sb-u1")]);
    await until(() => h.plugin.snapshot().some((p) => p.podUid === "u1" && p.containers.length === 1));
    await h.plugin.removeContainer(pod("u1"), ctr("c1", "sb-u1"));
    await h.plugin.startContainer(pod("u1"), ctr("c1", "sb-u1"));
    open();
    await h.plugin.idle();
    const reconciles = h.logs.filter((l) => l.msg === "reconciled container" && l.containerId === "c1");
    assert.deepEqual(
      reconciles.map((l) => l.reason),
      ["start"],
      "the entry the Synchronize queued was replaced: not reconciled",
    );
    assert.deepEqual(
      h.plugin.snapshot()[0]?.containers.map((c) => `${c.id}:${c.state}`),
      ["c1:Reconciled"],
    );
  });

  it("a Synchronize right after another first waits for the pods of the first (no stale pod kept)", async () => {
    const h = harness();
    await h.plugin.synchronize([pod("u1"), pod("u2")], []);
    await h.plugin.synchronize([pod("u2")], []);
    await h.plugin.idle();
    assert.deepEqual(
      h.plugin.snapshot().map((p) => p.podUid),
      ["u2"],
    );
    assert.equal(h.fs.isDir(`${MON}/pod_u1`), false, "u1 was added, then dropped by the resync");
  });

  it("does not count STOPPED containers from Synchronize (kept as Stopped); unknown state values count as live", async () => {
    const h = harness();
    h.pids.setPids("c1", [11]).setPids("c3", [31]);
    await h.plugin.synchronize(
      [pod("u1")],
      [
        ctr("c1", "sb-u1"),
        ctr("c2", "sb-u1", NriContainerState.STOPPED),
        ctr("c3", "sb-u1", 99 as NriContainerState),
      ],
    );
    await h.plugin.idle();
    assert.deepEqual(h.trace().at(-1), "u1 Exists 2/2");
    assert.deepEqual(
      h.plugin
        .snapshot()[0]
        ?.containers.map((c) => `${c.id} ${c.state}`)
        .sort(),
      ["c1 Reconciled", "c2 Stopped", "c3 Reconciled"],
    );
  });

  it("a repeated Synchronize with the same state emits nothing, creates and deletes nothing", async () => {
    const h = harness();
    h.pids.setPids("c1", [11]);
    await h.plugin.synchronize([pod("u1")], [ctr("c1", "sb-u1")]);
    await h.plugin.idle();
    const before = h.events.length;
    const mkdirs = h.fs.calls("mkdir");
    const rmdirs = h.fs.calls("rmdir");
    await h.plugin.synchronize([pod("u1")], [ctr("c1", "sb-u1")]);
    await h.plugin.idle();
    assert.equal(h.events.length, before);
    assert.equal(h.fs.calls("mkdir"), mkdirs);
    assert.equal(h.fs.calls("rmdir"), rmdirs);
    assert.ok(h.fs.isDir(`${MON}/pod_u1`));
  });

  it("a resync drops pods and containers the runtime no longer reports (Removed, group deleted)", async () => {
    const h = harness();
    h.pids.setPids("a1", [1]).setPids("b1", [2]).setPids("b2", [3]);
    await h.plugin.synchronize(
      [pod("a"), pod("b")],
      [ctr("a1", "sb-a"), ctr("b1", "sb-b"), ctr("b2", "sb-b")],
    );
    await h.plugin.idle();
    h.events.length = 0;
    await h.plugin.synchronize([pod("b")], [ctr("b1", "sb-b")]);
    await h.plugin.idle();
    assert.deepEqual(h.trace(), ["a Removed", "b Exists 1/1"]);
    assert.equal(h.fs.isDir(`${MON}/pod_a`), false);
  });

  it("a NoPod container the runtime no longer reports is forgotten on resync", async () => {
    const h = harness();
    await h.plugin.synchronize([], [ctr("orphan", "sb-x"), ctr("kept", "sb-x")]);
    assert.deepEqual(
      h.plugin.unassignedContainers().map((c) => c.id),
      ["orphan", "kept"],
    );
    await h.plugin.synchronize([], [ctr("kept", "sb-x")]);
    assert.deepEqual(
      h.plugin.unassignedContainers().map((c) => c.id),
      ["kept"],
    );
  });

  it("NoPod containers are promoted and reconciled when a later Synchronize brings their pod", async () => {
    const h = harness();
    h.pids.setPids("early", [91]);
    await h.plugin.synchronize([], [ctr("early", "sb-u1")]);
    assert.equal(h.plugin.unassignedContainers().length, 1);
    await h.plugin.synchronize([pod("u1")], [ctr("early", "sb-u1")]);
    await h.plugin.idle();
    assert.deepEqual(h.plugin.unassignedContainers(), []);
    assert.equal(h.trace().at(-1), "u1 Exists 1/1");
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_u1`), [91]);
  });

  it("a resync keeps surviving NoPod containers as they were (same order), whatever the new list order", async () => {
    const h = harness();
    await h.plugin.synchronize([], [ctr("a", "sb-x"), ctr("b", "sb-x"), ctr("gone", "sb-x")]);
    await h.plugin.synchronize([], [ctr("b", "sb-x"), ctr("a", "sb-x")]);
    assert.deepEqual(
      h.plugin.unassignedContainers().map((c) => c.id),
      ["a", "b"],
    );
  });

  it("the inline budget holds even when every await resolves at once (the reconcile yields to the event loop)", async () => {
    const h = harness({ cfg: { syncInlineBudgetMs: 5, syncConcurrency: 4 } });
    const pods = Array.from({ length: 300 }, (_, i) => pod(`u${i}`));
    const ctrs = pods.flatMap((p, i) =>
      Array.from({ length: 5 }, (_, c) => {
        h.pids.setPids(`c${i}-${c}`, [10_000 + i * 5 + c]);
        return ctr(`c${i}-${c}`, p.id);
      }),
    );
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 1);
    try {
      await h.plugin.synchronize(pods, ctrs);
      const inlineTicks = ticks;
      const s = h.logs.find((l) => l.msg === "synchronized");
      assert.equal(
        s?.finishedInline,
        false,
        "1,500 in-memory reconciles do not fit in 5 ms: the budget fired",
      );
      await h.plugin.idle();
      assert.ok(ticks > inlineTicks, "timers ran while the background reconcile went on");
    } finally {
      clearInterval(timer);
    }
    assert.equal(h.plugin.snapshot().filter((p) => p.reconciledContainers === 5).length, 300);
  });

  it("logs one summary: pods, containers, STOPPED, NoPod, queued, inline, a sane duration", async () => {
    const h = harness({ cfg: { syncInlineBudgetMs: 1000 } });
    h.pids.setPids("a", [1]).setPids("b", [2]);
    await h.plugin.synchronize(
      [pod("u1")],
      [
        ctr("a", "sb-u1"),
        ctr("b", "sb-u1"),
        ctr("s", "sb-u1", NriContainerState.STOPPED),
        ctr("np", "sb-zz"),
      ],
    );
    await h.plugin.idle();
    const s = h.logs.find((l) => l.msg === "synchronized");
    assert.ok(s);
    assert.equal(s.pods, 1);
    assert.equal(s.containers, 4);
    assert.equal(s.stopped, 1);
    assert.equal(s.noPod, 1);
    assert.equal(s.queued, 2);
    assert.equal(s.finishedInline, true);
    const done = h.logs.find((l) => l.msg === "reconciled the synchronized containers");
    assert.deepEqual(done?.states, { Reconciled: 2 }, "one summary record for the bulk reconcile");
    assert.equal(done?.containers, 2);
    assert.equal(
      h.logs.filter((l) => l.msg === "reconciled container" && l.level >= 30).length,
      0,
      "no per-container info records for the bulk reconcile",
    );
    assert.ok(
      typeof s.durationMs === "number" && s.durationMs >= 0 && s.durationMs < 60_000,
      String(s.durationMs),
    );
    assert.deepEqual(
      h.logs.filter((l) => l.level >= 50),
      [],
      "no error logged",
    );
    assert.equal(h.trace().at(-1), "u1 Exists 2/2");
  });
});

describe("ResctrlPlugin: Synchronize inline budget and background reconciles", () => {
  it("Synchronize replies within its inline budget; the rest reconciles right after", async () => {
    const h = harness({ cfg: { syncInlineBudgetMs: 20 } });
    const g = gate<number[]>();
    h.pids.setFn("slow", () => g.promise);
    const t0 = Date.now();
    await h.plugin.synchronize([pod("u1")], [ctr("slow", "sb-u1")]);
    assert.ok(Date.now() - t0 < 1000, "reply did not wait for the slow reconcile");
    assert.deepEqual(h.trace(), ["u1 Exists 0/0"]);
    assert.equal(h.plugin.snapshot()[0]?.containers[0]?.state, "Pending");
    g.open([3]);
    await h.plugin.idle();
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Exists 1/1"]);
  });

  it("idle() waits for reconciles that outlived the inline budget", async () => {
    const h = harness({ cfg: { syncInlineBudgetMs: 0 } });
    const hold = gate();
    h.pids.setFn("slow", async () => {
      await hold.promise;
      return [31];
    });
    await h.plugin.synchronize([pod("u1")], [ctr("slow", "sb-u1")]);
    assert.equal(h.plugin.snapshot()[0]?.containers[0]?.state, "Pending");
    let idle = false;
    const waiting = h.plugin.idle().then(() => (idle = true));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(idle, false, "idle() must not resolve while a reconcile runs");
    hold.open();
    await waiting;
    assert.equal(h.plugin.snapshot()[0]?.containers[0]?.state, "Reconciled");
  });

  it("a container removed while queued for its first reconcile is never reconciled or counted", async () => {
    const h = harness({ cfg: { syncInlineBudgetMs: 0, syncConcurrency: 1 } });
    const g = gate<number[]>();
    h.pids.setFn("first", () => g.promise);
    h.pids.setPids("queued", [8]);
    await h.plugin.synchronize([pod("a"), pod("b")], [ctr("first", "sb-a"), ctr("queued", "sb-b")]);
    await h.plugin.removeContainer(pod("b"), ctr("queued", "sb-b"));
    g.open([7]);
    await h.plugin.idle();
    assert.equal(h.pids.calls("queued"), 0);
    assert.deepEqual(h.trace(), ["a Exists 0/0", "b Exists 0/0", "a Exists 1/1"]);
  });

  it("a retry of a container still queued behind the inline budget makes it Partial when it has no task", async () => {
    const h = harness({ cfg: { syncInlineBudgetMs: 0, syncConcurrency: 1 } });
    const hold = gate();
    h.pids.setFn("first", async () => {
      await hold.promise;
      return [41];
    });
    await h.plugin.synchronize([pod("u1"), pod("u2")], [ctr("first", "sb-u1"), ctr("queued", "sb-u2")]);
    await until(() => h.pids.calls("first") > 0);
    assert.equal(await h.plugin.retryContainerReconcile("queued"), "Partial");
    hold.open();
    await h.plugin.idle();
  });
});

describe("ResctrlPlugin: pod and container events", () => {
  it("RUN → 0/0 Exists; START → 1/1; REMOVE_CONTAINER → 0/0; REMOVE_POD → rmdir then Removed", async () => {
    const h = harness();
    const p = pod("u1");
    h.pids.setPids("c1", [7777]);
    await h.plugin.synchronize([], []);
    await h.plugin.runPodSandbox(p);
    assert.ok(h.fs.isDir(`${MON}/pod_u1`));
    await h.plugin.startContainer(p, ctr("c1", p.id));
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_u1`), [7777]);
    await h.plugin.removeContainer(p, ctr("c1", p.id));
    let groupExistedAtRemoved: boolean | undefined;
    h.plugin.onEvent((e) => {
      if (e.kind === "Removed") groupExistedAtRemoved = h.fs.isDir(`${MON}/pod_u1`);
    });
    await h.plugin.removePodSandbox(p);
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Exists 1/1", "u1 Exists 0/0", "u1 Removed"]);
    assert.equal(groupExistedAtRemoved, false, "Removed must come after the rmdir");
    assert.deepEqual(h.plugin.snapshot(), []);
  });

  it("duplicate RUN and duplicate START emit nothing and do not change counts", async () => {
    const h = harness();
    const p = pod("u1");
    h.pids.setPids("c1", [5]);
    await h.plugin.runPodSandbox(p);
    await h.plugin.runPodSandbox(p);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    await h.plugin.startContainer(p, ctr("c1", p.id));
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Exists 1/1"]);
    assert.equal(h.pids.calls("c1") > 0, true);
    const calls = h.pids.calls("c1");
    await h.plugin.startContainer(p, ctr("c1", p.id));
    assert.equal(h.pids.calls("c1"), calls, "a duplicate START does no I/O");
  });

  it("REMOVE_CONTAINER / REMOVE_POD_SANDBOX for unknown ids emit nothing", async () => {
    const h = harness();
    await h.plugin.runPodSandbox(pod("u1"));
    h.events.length = 0;
    await h.plugin.removeContainer(pod("u1"), ctr("nope", "sb-u1"));
    await h.plugin.removePodSandbox(pod("ghost"));
    assert.deepEqual(h.trace(), []);
  });

  it("START whose reconcile does not converge counts the container as Partial (1/0)", async () => {
    const h = harness();
    const p = pod("u1");
    h.pids.setPids("c1", [101, 102]);
    h.fs.pidGone(101);
    await h.plugin.runPodSandbox(p);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Exists 1/0"]);
    assert.equal(h.plugin.snapshot()[0]?.containers[0]?.state, "Partial");
  });

  it("START with an empty PID set (no tasks yet) is Partial, not an error", async () => {
    const h = harness();
    const p = pod("u1");
    await h.plugin.runPodSandbox(p);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Exists 1/0"]);
  });

  it("ENOSPC at RUN → Failed 0/0; START into a Failed pod → Failed 1/0 without touching resctrl", async () => {
    const h = harness();
    const p = pod("u1");
    h.fs.failMkdirWithEnospc(true);
    await h.plugin.runPodSandbox(p);
    h.pids.setPids("c1", [1]);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    assert.deepEqual(h.trace(), ["u1 Failed 0/0", "u1 Failed 1/0"]);
    assert.equal(h.pids.calls("c1"), 0);
  });

  it("a sandbox recreated with the same pod UID keeps the group until its last sandbox is removed", async () => {
    const h = harness();
    const old = pod("u1", "sb-old");
    const fresh = pod("u1", "sb-new");
    h.pids.setPids("c-old", [1]).setPids("c-new", [2]);
    await h.plugin.runPodSandbox(old);
    await h.plugin.startContainer(old, ctr("c-old", old.id));
    await h.plugin.runPodSandbox(fresh);
    await h.plugin.startContainer(fresh, ctr("c-new", fresh.id));
    await h.plugin.removePodSandbox(old);
    assert.ok(h.fs.isDir(`${MON}/pod_u1`));
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Exists 1/1", "u1 Exists 2/2", "u1 Exists 1/1"]);
    await h.plugin.removePodSandbox(fresh);
    assert.equal(h.trace().at(-1), "u1 Removed");
    assert.equal(h.fs.isDir(`${MON}/pod_u1`), false);
  });

  it("removing a Failed pod touches no group (no delete attempt, no warning), then Removed", async () => {
    const h = harness();
    h.fs.failMkdirWithEnospc(true);
    await h.plugin.runPodSandbox(pod("u1"));
    h.fs.failMkdirWithEnospc(false);
    await h.plugin.removePodSandbox(pod("u1"));
    assert.deepEqual(h.trace(), ["u1 Failed 0/0", "u1 Removed"]);
    assert.equal(h.fs.calls("rmdir"), 0);
    assert.ok(!h.logs.some((l) => l.msg === "failed to delete group of removed pod"));
  });

  it("a group rmdir that fails is logged with pod and group, and Removed is still emitted", async () => {
    const h = harness();
    await h.plugin.runPodSandbox(pod("u1"));
    h.fs.failNext("rmdir", G1, "EBUSY");
    await h.plugin.removePodSandbox(pod("u1"));
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Removed"]);
    const w = h.logs.find((l) => l.msg === "failed to delete group of removed pod");
    assert.equal(w?.level, 40);
    assert.equal(w?.["podUid"], "u1");
    assert.equal(w?.["group"], G1);
    assert.ok(w?.["err"]);
  });

  it("pod event logs carry the group path (Exists) or none (Failed) and the counters", async () => {
    const h = harness();
    await h.plugin.runPodSandbox(pod("u1"));
    h.fs.failMkdirWithEnospc(true);
    await h.plugin.runPodSandbox(pod("u2"));
    const ev = h.logs.filter((l) => l.msg === "pod event");
    assert.deepEqual(
      ev.map((l) => [l["event"], l["podUid"], l["groupState"], l["group"], l["total"], l["reconciled"]]),
      [
        ["AddOrUpdate", "u1", "Exists", G1, 0, 0],
        ["AddOrUpdate", "u2", "Failed", undefined, 0, 0],
      ],
    );
  });
});

describe("ResctrlPlugin: the registry decides which pod an event is about", () => {
  it("REMOVE_POD_SANDBOX finds the pod by sandbox id even if the event's UID is empty", async () => {
    const h = harness();
    await h.plugin.runPodSandbox(pod("u1"));
    await h.plugin.removePodSandbox({ ...pod("u1"), uid: "" });
    assert.equal(h.trace().at(-1), "u1 Removed");
    assert.equal(h.fs.isDir(`${MON}/pod_u1`), false);
  });

  it("START_CONTAINER with an empty podSandboxId belongs to the event's pod", async () => {
    const h = harness();
    h.pids.setPids("c1", [51]);
    await h.plugin.runPodSandbox(pod("u1"));
    await h.plugin.startContainer(pod("u1"), { ...ctr("c1", "sb-u1"), podSandboxId: "" });
    assert.deepEqual(h.plugin.unassignedContainers(), []);
    assert.equal(h.trace().at(-1), "u1 Exists 1/1");
  });

  it("REMOVE_CONTAINER of a tracked container prunes its owner pod, whatever the event's pod says", async () => {
    const h = harness();
    h.pids.setPids("c1", [61]);
    await h.plugin.runPodSandbox(pod("u1"));
    await h.plugin.startContainer(pod("u1"), ctr("c1", "sb-u1"));
    h.pids.setSandboxGone("u1", true);
    await h.plugin.removeContainer(
      { ...pod("u1"), id: "sb-other", uid: "" },
      { ...ctr("c1", "sb-u1"), podSandboxId: "" },
    );
    assert.equal(h.trace().at(-1), "u1 Removed");
  });

  it("REMOVE_CONTAINER of an untracked (STOPPED at sync) container prunes the pod of its sandbox", async () => {
    const h = harness();
    h.pids.setPids("c1", [71]);
    await h.plugin.synchronize(
      [pod("u1")],
      [ctr("c1", "sb-u1"), ctr("c2", "sb-u1", NriContainerState.STOPPED)],
    );
    await h.plugin.removeContainer(pod("u1"), ctr("c1", "sb-u1")); // sandbox still alive: kept
    assert.equal(h.trace().at(-1), "u1 Exists 0/0");
    h.pids.setSandboxGone("u1", true);
    await h.plugin.removeContainer({ ...pod("u1"), id: "sb-other", uid: "" }, ctr("c2", "sb-u1"));
    assert.equal(h.trace().at(-1), "u1 Removed");
  });
});

describe("ResctrlPlugin: containers seen before their pod (NoPod)", () => {
  it("START before RUN: no event; RUN promotes, counts and reconciles it", async () => {
    const h = harness();
    const p = pod("u1");
    h.pids.setPids("c1", [42]);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    assert.deepEqual(h.trace(), []);
    assert.deepEqual(
      h.plugin.unassignedContainers().map((c) => `${c.id}:${c.state}`),
      ["c1:NoPod"],
    );
    await h.plugin.runPodSandbox(p);
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Exists 1/1"]);
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_u1`), [42]);
    assert.deepEqual(h.plugin.unassignedContainers(), []);
  });

  it("Synchronize: a container whose pod is absent is kept as NoPod and promoted when the pod runs", async () => {
    const h = harness();
    h.pids.setPids("c9", [9]);
    await h.plugin.synchronize([], [ctr("c9", "sb-late")]);
    await h.plugin.idle();
    assert.equal(h.plugin.unassignedContainers()[0]?.id, "c9");
    await h.plugin.runPodSandbox(pod("late", "sb-late"));
    assert.deepEqual(h.trace(), ["late Exists 0/0", "late Exists 1/1"]);
  });

  it("REMOVE_POD_SANDBOX of a never-seen pod drops its NoPod containers without an event", async () => {
    const h = harness();
    const p = pod("u1");
    await h.plugin.startContainer(p, ctr("c1", p.id));
    await h.plugin.removePodSandbox(p);
    assert.deepEqual(h.plugin.unassignedContainers(), []);
    assert.deepEqual(h.trace(), []);
  });

  it("NoPod containers: removable, and only those of the pod's own sandbox are promoted or dropped", async () => {
    const h = harness();
    for (const n of ["1", "2", "3"])
      await h.plugin.startContainer(pod("x", `sb-u${n}`), ctr(`c${n}`, `sb-u${n}`));
    await h.plugin.removeContainer(pod("u1"), ctr("c1", "sb-u1"));
    await h.plugin.removePodSandbox(pod("u3"));
    assert.deepEqual(
      h.plugin.unassignedContainers().map((c) => c.id),
      ["c2"],
    );
    await h.plugin.runPodSandbox(pod("u1"));
    assert.deepEqual(h.plugin.snapshot()[0]?.containers, []);
    assert.deepEqual(h.trace(), ["u1 Exists 0/0"]);
    assert.deepEqual(
      h.plugin.unassignedContainers().map((c) => c.id),
      ["c2"],
    );
  });

  it("a duplicate START and a START before its pod are logged with the container (and sandbox)", async () => {
    const h = harness();
    h.pids.setPids("c1", [92]);
    await h.plugin.startContainer(pod("u9"), ctr("early", "sb-u9"));
    const np = h.logs.find((l) => l.msg === "container seen before its pod; kept as NoPod");
    assert.equal(np?.containerId, "early");
    assert.equal(np?.sandboxId, "sb-u9");
    await h.plugin.runPodSandbox(pod("u1"));
    await h.plugin.startContainer(pod("u1"), ctr("c1", "sb-u1"));
    await h.plugin.startContainer(pod("u1"), ctr("c1", "sb-u1"));
    const dup = h.logs.find((l) => l.msg === "duplicate START_CONTAINER ignored");
    assert.equal(dup?.containerId, "c1");
  });
});

// The counting rule: a pod counts its containers that are created or running; a container leaves
// the count when it stops (STOP_CONTAINER, or a Synchronize that lists it STOPPED) and is forgotten
// on REMOVE_CONTAINER; the counts do not depend on whether a resync happened in between.
describe("ResctrlPlugin: the counting rule (stopped containers leave the count)", () => {
  it("a STOP_CONTAINER lowers the counts once; the container stays listed as Stopped until REMOVE_CONTAINER", async () => {
    const h = harness();
    h.pids.setPids("a", [11]).setPids("b", [12]);
    await h.plugin.runPodSandbox(pod("u1"));
    await h.plugin.startContainer(pod("u1"), ctr("a", "sb-u1"));
    await h.plugin.startContainer(pod("u1"), ctr("b", "sb-u1"));
    await h.plugin.stopContainer(pod("u1"), ctr("b", "sb-u1", STOPPED));
    await h.plugin.stopContainer(pod("u1"), ctr("b", "sb-u1", STOPPED));
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Exists 1/1", "u1 Exists 2/2", "u1 Exists 1/1"]);
    assert.deepEqual(
      h.plugin.snapshot()[0]?.containers.map((c) => `${c.id} ${c.state}`),
      ["a Reconciled", "b Stopped"],
    );
    await h.plugin.removeContainer(pod("u1"), ctr("b", "sb-u1", STOPPED));
    assert.deepEqual(h.trace().length, 4, "removing a stopped container changes no count");
    assert.deepEqual(
      h.plugin.snapshot()[0]?.containers.map((c) => c.id),
      ["a"],
    );
  });

  it("a crash and restart (same name, new id) ends at 1 of 1, never 2 of 2", async () => {
    const h = harness();
    h.pids.setPids("app-0", [11]).setPids("app-1", [21]);
    await h.plugin.runPodSandbox(pod("u1"));
    await h.plugin.startContainer(pod("u1"), ctr("app-0", "sb-u1"));
    await h.plugin.stopContainer(pod("u1"), ctr("app-0", "sb-u1", STOPPED));
    await h.plugin.startContainer(pod("u1"), ctr("app-1", "sb-u1"));
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Exists 1/1", "u1 Exists 0/0", "u1 Exists 1/1"]);
  });

  it("counts are identical with and without a resync that lists the stopped container STOPPED", async () => {
    const run = async (resync: boolean): Promise<string[]> => {
      const h = harness();
      h.pids.setPids("a", [11]).setPids("b", [12]);
      await h.plugin.synchronize([pod("u1")], [ctr("a", "sb-u1"), ctr("b", "sb-u1")]);
      await h.plugin.idle();
      await h.plugin.stopContainer(pod("u1"), ctr("b", "sb-u1", STOPPED));
      if (resync) {
        await h.plugin.synchronize([pod("u1")], [ctr("a", "sb-u1"), ctr("b", "sb-u1", STOPPED)]);
        await h.plugin.idle();
      }
      const s = h.plugin.snapshot()[0];
      return [
        ...h.trace(),
        `${s?.reconciledContainers}/${s?.totalContainers}`,
        ...(s?.containers.map((c) => `${c.id} ${c.state}`) ?? []),
      ];
    };
    assert.deepEqual(await run(true), await run(false));
    assert.deepEqual(await run(false), [
      "u1 Exists 0/0",
      "u1 Exists 1/1",
      "u1 Exists 2/2",
      "u1 Exists 1/1",
      "1/1",
      "a Reconciled",
      "b Stopped",
    ]);
  });

  it("a first Synchronize that lists a container STOPPED gives the same state as its STOP_CONTAINER would", async () => {
    const h = harness();
    h.pids.setPids("a", [11]);
    await h.plugin.synchronize([pod("u1")], [ctr("a", "sb-u1"), ctr("b", "sb-u1", STOPPED)]);
    await h.plugin.idle();
    const s = h.plugin.snapshot()[0];
    assert.equal(`${s?.reconciledContainers}/${s?.totalContainers}`, "1/1");
    assert.deepEqual(s?.containers.map((c) => `${c.id} ${c.state}`).sort(), ["a Reconciled", "b Stopped"]);
  });

  it("a container listed RUNNING in a Synchronize and stopped right after leaves the count", async () => {
    const h = harness();
    h.pids.setPids("a", [11]).setPids("gone", []);
    await h.plugin.synchronize([pod("u1")], [ctr("a", "sb-u1"), ctr("gone", "sb-u1")]);
    await h.plugin.stopContainer(pod("u1"), ctr("gone", "sb-u1", STOPPED));
    await h.plugin.idle();
    const s = h.plugin.snapshot()[0];
    assert.equal(`${s?.reconciledContainers}/${s?.totalContainers}`, "1/1");
  });

  it("a STOP that arrives before the container's START makes the late START a no-op", async () => {
    const h = harness();
    h.pids.setPids("fast", [11]);
    await h.plugin.runPodSandbox(pod("u1"));
    await h.plugin.stopContainer(pod("u1"), ctr("fast", "sb-u1", STOPPED));
    await h.plugin.startContainer(pod("u1"), ctr("fast", "sb-u1"));
    assert.deepEqual(h.trace(), ["u1 Exists 0/0"]);
    assert.equal(h.pids.calls("fast"), 0, "the tasks of a stopped container are not even read");
  });

  it("a container stopped before its pod was seen stays uncounted when the pod appears", async () => {
    const h = harness();
    h.pids.setPids("early", [11]);
    await h.plugin.startContainer(pod("u1"), ctr("early", "sb-u1"));
    await h.plugin.stopContainer(pod("u1"), ctr("early", "sb-u1", STOPPED));
    assert.equal(await h.plugin.retryContainerReconcile("early"), "Stopped");
    await h.plugin.runPodSandbox(pod("u1"));
    assert.deepEqual(h.trace(), ["u1 Exists 0/0"]);
    assert.deepEqual(
      h.plugin.snapshot()[0]?.containers.map((c) => `${c.id} ${c.state}`),
      ["early Stopped"],
    );
  });

  it("retrying a stopped container answers Stopped without I/O; retryAllOnce skips it", async () => {
    const h = harness();
    h.pids.setPids("a", []);
    await h.plugin.runPodSandbox(pod("u1"));
    await h.plugin.startContainer(pod("u1"), ctr("a", "sb-u1"));
    await h.plugin.stopContainer(pod("u1"), ctr("a", "sb-u1", STOPPED));
    const calls = h.pids.calls("a");
    assert.equal(await h.plugin.retryContainerReconcile("a"), "Stopped");
    const report = await h.plugin.retryAllOnce();
    assert.equal(report.containerAttempts, 0);
    assert.equal(h.pids.calls("a"), calls);
  });

  it("a pod whose containers all stopped and whose sandbox is gone is pruned by a retry sweep", async () => {
    const h = harness();
    h.pids.setPids("a", [11]);
    await h.plugin.runPodSandbox(pod("u1"));
    await h.plugin.startContainer(pod("u1"), ctr("a", "sb-u1"));
    await h.plugin.stopContainer(pod("u1"), ctr("a", "sb-u1", STOPPED));
    h.pids.setSandboxGone("u1", true);
    assert.equal((await h.plugin.retryAllOnce()).podsPruned, 1);
    assert.equal(h.trace().at(-1), "u1 Removed");
  });

  it("a pod with a stopped container but a live sandbox is kept by a retry sweep", async () => {
    const h = harness();
    h.pids.setPids("a", [11]);
    await h.plugin.runPodSandbox(pod("u1"));
    await h.plugin.startContainer(pod("u1"), ctr("a", "sb-u1"));
    await h.plugin.stopContainer(pod("u1"), ctr("a", "sb-u1", STOPPED));
    assert.equal((await h.plugin.retryAllOnce()).podsPruned, 0);
    assert.equal(h.plugin.snapshot().length, 1);
  });

  it("a container listed RUNNING whose cgroup and process are gone leaves the count without a STOP (containerd 1.7 drops it)", async () => {
    const h = harness();
    h.pids
      .setPids("a", [11])
      .setError("gone", new CgroupGoneError("gone", ["/x"]))
      .setContainerGone("gone", true);
    await h.plugin.synchronize([pod("u1")], [ctr("a", "sb-u1"), ctr("gone", "sb-u1")]);
    await h.plugin.idle();
    const s = h.plugin.snapshot()[0];
    assert.equal(`${s?.reconciledContainers}/${s?.totalContainers}`, "1/1");
    assert.equal(s?.containers.find((c) => c.id === "gone")?.state, "Stopped");
    assert.ok(h.logs.some((l) => l.msg.startsWith("container exited without a stop from the runtime")));
  });

  it("a gone cgroup whose process may live (doubt) stays Partial, and a retry of a positively gone one answers Stopped", async () => {
    const h = harness();
    h.pids.setError("x", new CgroupGoneError("x", ["/x"]));
    await h.plugin.runPodSandbox(pod("u1"));
    await h.plugin.startContainer(pod("u1"), ctr("x", "sb-u1"));
    assert.equal(h.plugin.snapshot()[0]?.containers[0]?.state, "Partial");
    h.pids.setContainerGone("x", true);
    assert.equal(await h.plugin.retryContainerReconcile("x"), "Stopped");
    assert.equal(h.trace().at(-1), "u1 Exists 0/0");
  });
});

describe("ResctrlPlugin: Reconciled only on a fresh observation", () => {
  it("a task forked during the last allowed pass keeps the container Partial until a retry moves it", async () => {
    const h = harness({ cfg: { maxReconcilePasses: 1 } });
    const p = pod("u1");
    // Pass 1 sees [1]; task 2 is forked while 1 is being moved (the next read lists it).
    h.pids.setSequence("c1", [[1], [1, 2]]);
    await h.plugin.runPodSandbox(p);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_u1`), [1]);
    assert.equal(h.trace().at(-1), "u1 Exists 1/0", "task 2 is outside the group: not Reconciled");
    assert.equal(await h.plugin.retryContainerReconcile("c1"), "Reconciled");
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_u1`), [1, 2]);
    assert.equal(h.trace().at(-1), "u1 Exists 1/1");
  });

  it("a reconcile that converged before its last pass costs no extra read", async () => {
    const h = harness({ cfg: { maxReconcilePasses: 3 } });
    const p = pod("u1");
    h.pids.setPids("c1", [1]);
    await h.plugin.runPodSandbox(p);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    assert.equal(h.trace().at(-1), "u1 Exists 1/1");
    assert.equal(h.pids.calls("c1"), 2, "pass 1 writes, pass 2 observes convergence");
  });

  it("Reconciled needs a fresh non-empty re-read when every pass was used", async () => {
    const h = harness({ cfg: { maxReconcilePasses: 1 } });
    h.pids.setSequence("c1", [[11], []]);
    await h.plugin.runPodSandbox(pod("u1"));
    await h.plugin.startContainer(pod("u1"), ctr("c1", "sb-u1"));
    assert.equal(h.pids.calls("c1"), 2);
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Exists 1/0"]);
  });

  it("reconcile logs: fields of a converged reconcile; an empty container is info, a failure a warning", async () => {
    const h = harness();
    h.pids.setPids("c1", [11]).setError("c2", new Error("boom"));
    await h.plugin.runPodSandbox(pod("u1"));
    for (const id of ["c1", "c2", "c3"]) await h.plugin.startContainer(pod("u1"), ctr(id, "sb-u1"));
    const ok = h.logs.find((l) => l.msg === "reconciled container");
    const keys = ["podUid", "containerId", "reason", "group", "assigned", "missing", "foreign", "passes"];
    assert.deepEqual(
      keys.map((k) => ok?.[k]),
      ["u1", "c1", "start", G1, 1, 0, 0, 2],
    );
    assert.equal(ok?.["converged"], true);
    const took = ok?.["durationMs"];
    assert.ok(typeof took === "number" && took >= 0 && took < 60_000);
    const failed = h.logs.find((l) => l.msg === "failed to reconcile container; Partial");
    assert.equal(failed?.level, 40);
    assert.equal(failed?.["containerId"], "c2");
    const ms = failed?.["durationMs"];
    assert.ok(typeof ms === "number" && ms >= 0 && ms < 60_000);
    const empty = h.logs.filter((l) => l.msg === "container has no tasks yet; Partial");
    assert.deepEqual(
      empty.map((l) => [l.level, l["containerId"]]),
      [[30, "c3"]],
    );
  });
});

describe("ResctrlPlugin: one lock per pod, re-checks after every await", () => {
  it("concurrent duplicate STARTs of one container count it once", async () => {
    const h = harness();
    const p = pod("u1");
    const g = gate<number[]>();
    h.pids.setFn("c1", (call) => (call === 1 ? g.promise : [5]));
    await h.plugin.runPodSandbox(p);
    const a = h.plugin.startContainer(p, ctr("c1", p.id));
    const b = h.plugin.startContainer(p, ctr("c1", p.id));
    await until(() => h.pids.calls("c1") === 1);
    g.open([5]);
    await Promise.all([a, b]);
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Exists 1/1"]);
  });

  it("a pod removed while a container reconciles leaves no orphan entry and ends with Removed", async () => {
    const h = harness();
    const p = pod("u1");
    const g = gate<number[]>();
    h.pids.setFn("c1", (call) => (call === 1 ? g.promise : [5]));
    await h.plugin.runPodSandbox(p);
    const start = h.plugin.startContainer(p, ctr("c1", p.id));
    await until(() => h.pids.calls("c1") === 1);
    const remove = h.plugin.removePodSandbox(p);
    g.open([5]);
    await Promise.all([start, remove]);
    assert.equal(h.trace().at(-1), "u1 Removed");
    assert.deepEqual(h.plugin.snapshot(), []);
    assert.deepEqual(h.plugin.unassignedContainers(), []);
    await assert.rejects(h.plugin.retryContainerReconcile("c1"), /not known/);
    assert.equal(h.fs.isDir(`${MON}/pod_u1`), false);
  });
});

describe("ResctrlPlugin.retryGroupCreation", () => {
  it("Capacity → throws CapacityError, no event; after capacity frees → Exists, exactly one event", async () => {
    const h = harness();
    const p = pod("u1");
    h.fs.failMkdirWithEnospc(true);
    await h.plugin.runPodSandbox(p);
    h.pids.setPids("c1", [11]);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    assert.deepEqual(h.trace(), ["u1 Failed 0/0", "u1 Failed 1/0"]);
    assert.equal(await h.plugin.retryContainerReconcile("c1"), "Partial", "no group yet: no reconcile");
    assert.equal(h.pids.calls("c1"), 0);
    await assert.rejects(h.plugin.retryGroupCreation("u1"), CapacityError);
    assert.equal(h.events.length, 2, "no event for a failed retry");
    h.fs.failMkdirWithEnospc(false);
    assert.deepEqual(await h.plugin.retryGroupCreation("u1"), { kind: "Exists", path: `${MON}/pod_u1` });
    assert.deepEqual(h.trace().slice(2), ["u1 Exists 1/0"]);
    assert.deepEqual(await h.plugin.retryGroupCreation("u1"), { kind: "Exists", path: `${MON}/pod_u1` });
    assert.equal(h.events.length, 3, "retrying an Exists pod emits nothing");
    assert.equal(await h.plugin.retryContainerReconcile("c1"), "Reconciled");
    assert.deepEqual(h.trace().slice(3), ["u1 Exists 1/1"]);
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_u1`), [11]);
  });

  it("an unknown pod UID rejects with PodNotFoundError", async () => {
    const h = harness();
    await assert.rejects(h.plugin.retryGroupCreation("nope"), PodNotFoundError);
  });

  it("an Exists pod is answered without I/O; a created group is logged with pod and path", async () => {
    const h = harness();
    await h.plugin.runPodSandbox(pod("u1"));
    const mkdirs = h.fs.calls("mkdir");
    assert.deepEqual(await h.plugin.retryGroupCreation("u1"), { kind: "Exists", path: `${MON}/pod_u1` });
    assert.equal(h.fs.calls("mkdir"), mkdirs, "no mkdir for an existing group");
    h.fs.failMkdirWithEnospc(true);
    await h.plugin.runPodSandbox(pod("u2"));
    h.fs.failMkdirWithEnospc(false);
    await h.plugin.retryGroupCreation("u2");
    const rec = h.logs.find((l) => l.msg === "group created on retry");
    assert.equal(rec?.podUid, "u2");
    assert.equal(rec?.group, `${MON}/pod_u2`);
  });
});

describe("ResctrlPlugin.retryContainerReconcile", () => {
  it("Partial → Reconciled emits exactly one event; a second retry emits nothing", async () => {
    const h = harness();
    const p = pod("u1");
    h.pids.setPids("c1", [101, 102]);
    h.fs.pidGone(101);
    h.fs.pidGone(102);
    await h.plugin.runPodSandbox(p);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    assert.equal(await h.plugin.retryContainerReconcile("c1"), "Partial");
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Exists 1/0"]);
    h.fs.clearPidGone(101);
    h.fs.clearPidGone(102);
    assert.equal(await h.plugin.retryContainerReconcile("c1"), "Reconciled");
    assert.equal(await h.plugin.retryContainerReconcile("c1"), "Reconciled");
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Exists 1/0", "u1 Exists 1/1"]);
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_u1`), [101, 102]);
  });

  it("a Reconciled container is reconciled again (catches exec'd processes), never demoted", async () => {
    const h = harness();
    const p = pod("u1");
    let tasks = [1];
    h.pids.setFn("c1", () => tasks);
    await h.plugin.runPodSandbox(p);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    tasks = [1, 2];
    assert.equal(await h.plugin.retryContainerReconcile("c1"), "Reconciled");
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_u1`), [1, 2]);
    tasks = [];
    assert.equal(await h.plugin.retryContainerReconcile("c1"), "Reconciled", "empty set does not demote");
    assert.equal(h.trace().at(-1), "u1 Exists 1/1");
  });

  it("unknown container → ContainerNotFoundError; NoPod container → 'NoPod'", async () => {
    const h = harness();
    await assert.rejects(h.plugin.retryContainerReconcile("nope"), ContainerNotFoundError);
    await h.plugin.startContainer(pod("u9"), ctr("c9", "sb-u9"));
    assert.equal(await h.plugin.retryContainerReconcile("c9"), "NoPod");
  });

  it("a hard error (cgroup gone) is thrown and the container stays Partial", async () => {
    const h = harness();
    const p = pod("u1");
    h.pids.setError("c1", new Error("failed to read cgroup.procs: cgroup gone"));
    await h.plugin.runPodSandbox(p);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    await assert.rejects(h.plugin.retryContainerReconcile("c1"), /cgroup gone/);
    assert.equal(h.plugin.snapshot()[0]?.containers[0]?.state, "Partial");
  });

  it("a Partial container of a Failed pod stays Partial on retry, without reading its cgroup", async () => {
    const h = harness();
    h.fs.failMkdirWithEnospc(true);
    await h.plugin.runPodSandbox(pod("u1"));
    await h.plugin.startContainer(pod("u1"), ctr("c1", "sb-u1"));
    const calls = h.pids.totalCalls();
    assert.equal(await h.plugin.retryContainerReconcile("c1"), "Partial");
    assert.equal(h.pids.totalCalls(), calls);
  });
});

describe("ResctrlPlugin.retryContainerReconcile racing a removal", () => {
  async function setupHeld() {
    const h = harness();
    h.pids.setPids("c1", [81]);
    await h.plugin.runPodSandbox(pod("u1"));
    await h.plugin.startContainer(pod("u1"), ctr("c1", "sb-u1"));
    const hold = gate();
    h.pids.setFn("c2", async () => {
      await hold.promise;
      return [82];
    });
    const holding = h.plugin.startContainer(pod("u1"), ctr("c2", "sb-u1")); // holds u1's lock
    await until(() => h.pids.calls("c2") > 0);
    return { h, hold, holding };
  }

  it("the container removed while the retry waited for the pod lock → ContainerNotFoundError", async () => {
    const { h, hold, holding } = await setupHeld();
    const removing = h.plugin.removeContainer(pod("u1"), ctr("c1", "sb-u1"));
    const retry = h.plugin.retryContainerReconcile("c1");
    hold.open();
    await Promise.all([holding, removing]);
    await assert.rejects(retry, ContainerNotFoundError);
  });

  it("the pod removed while the retry waited for the pod lock → ContainerNotFoundError", async () => {
    const { h, hold, holding } = await setupHeld();
    const removing = h.plugin.removePodSandbox(pod("u1"));
    const retry = h.plugin.retryContainerReconcile("c1");
    hold.open();
    await Promise.all([holding, removing]);
    await assert.rejects(retry, ContainerNotFoundError);
  });
});

// EBUSY from a monitoring-group mkdir (no free RMID while freed ones wait in limbo) is capacity
// that frees itself: the pod is Failed with that reason and retryGroupCreation rejects with the
// RmidLimboError (a capacity error); retry-all.spec.ts has retryAllOnce stopping at it.
describe("ResctrlPlugin: RMID limbo (EBUSY from a monitoring-group mkdir)", () => {
  it("a pod created while the only freed RMID is in limbo is Failed with the limbo reason, warned not errored", async () => {
    const h = limboHarness(3);
    await h.plugin.runPodSandbox(pod("a"));
    await h.plugin.runPodSandbox(pod("b"));
    await h.plugin.removePodSandbox(pod("a"));
    await h.plugin.runPodSandbox(pod("c"));
    const c = h.plugin.snapshot().find((p) => p.podUid === "c");
    assert.equal(c?.groupState.kind, "Failed");
    assert.match(c?.groupError ?? "", /^RMIDs in limbo/);
    const line = h.logs.find((l) => l.msg === "failed to create group; pod marked Failed");
    assert.equal(line?.level, 40);
    assert.match(String(line?.reason), /^RMIDs in limbo/);
  });

  it("retryGroupCreation rejects with RmidLimboError and no event; after the drain it creates the group", async () => {
    const h = limboHarness(3);
    await h.plugin.runPodSandbox(pod("a"));
    await h.plugin.runPodSandbox(pod("b"));
    await h.plugin.removePodSandbox(pod("a"));
    await h.plugin.runPodSandbox(pod("c"));
    const before = h.events.length;
    await assert.rejects(h.plugin.retryGroupCreation("c"), (e: unknown) => e instanceof RmidLimboError);
    assert.equal(h.events.length, before);
    h.fs.drainRmidLimbo();
    assert.deepEqual(await h.plugin.retryGroupCreation("c"), { kind: "Exists", path: `${MON}/pod_c` });
    assert.equal(h.plugin.snapshot().find((p) => p.podUid === "c")?.groupError, undefined);
  });
});

// Pods the runtime forgets after a restart: containerd 1.7 sends no REMOVE_POD_SANDBOX for pods it
// recovered, so the plugin removes a pod whose sandboxes are positively gone (CgroupPidSource
// .sandboxGone) on its last REMOVE_CONTAINER and in retryAllOnce; never on doubt.
describe("ResctrlPlugin: pod sandbox vanished without REMOVE_POD_SANDBOX", () => {
  it("last REMOVE_CONTAINER of a gone sandbox: rmdir the group, then exactly one Removed", async () => {
    const { h, p } = await twoContainers();
    h.pids.setSandboxGone("sb-u1", true);
    await h.plugin.removeContainer(p, ctr("c1", p.id));
    assert.ok(h.fs.isDir(G1), "a container remains: pod kept");
    assert.deepEqual(h.plugin.snapshot().length, 1);
    await h.plugin.removeContainer(sparse(p.id), ctr("c2", p.id));
    assert.equal(h.fs.isDir(G1), false);
    assert.deepEqual(h.plugin.snapshot(), []);
    assert.deepEqual(h.trace(), [
      "u1 Exists 0/0",
      "u1 Exists 1/1",
      "u1 Exists 2/2",
      "u1 Exists 1/1",
      "u1 Exists 0/0",
      "u1 Removed",
    ]);
    const removed = h.logs.find((l) => l.msg === "pod event" && l["event"] === "Removed");
    assert.equal(removed?.["reason"], "sandbox vanished");
    // The runtime may still send REMOVE_POD_SANDBOX (a pod it did not recover): no second event.
    await h.plugin.removePodSandbox(p);
    assert.equal(h.trace().filter((t) => t === "u1 Removed").length, 1);
    assert.equal(h.trace().length, 6);
  });

  it("sandbox alive (the default) or undeterminable: the pod and its group stay", async () => {
    const { h, p } = await twoContainers();
    h.pids.setSandboxGone("u1", false);
    await h.plugin.removeContainer(p, ctr("c1", p.id));
    await h.plugin.removeContainer(p, ctr("c2", p.id));
    assert.ok(h.pids.sandboxGoneCalls() >= 1, "the check ran on the last container");
    assert.ok(h.fs.isDir(G1));
    assert.equal(h.plugin.snapshot()[0]?.podUid, "u1");
    assert.equal(h.trace().at(-1), "u1 Exists 0/0");
    // A rejecting source is doubt too: kept, logged, the handler does not reject.
    h.pids.setSandboxGone("u1", new Error("boom"));
    const r = await h.plugin.retryAllOnce();
    assert.equal(r.podsPruned, 0);
    assert.ok(h.fs.isDir(G1));
    assert.ok(h.logs.some((l) => l.msg === "failed to check sandbox; pod kept"));
    assert.ok(!h.trace().includes("u1 Removed"));
  });

  it("only checks when no container is left (a living container keeps the pod)", async () => {
    const { h, p } = await twoContainers();
    h.pids.setSandboxGone("u1", true);
    await h.plugin.removeContainer(p, ctr("c1", p.id));
    assert.equal(h.pids.sandboxGoneCalls(), 0);
    assert.ok(h.fs.isDir(G1));
    const r = await h.plugin.retryAllOnce();
    assert.equal(r.podsPruned, 0, "a pod with a tracked container is not pruned");
    assert.ok(h.fs.isDir(G1));
  });

  it("a pod with two sandboxes is removed only when both are gone", async () => {
    const h = harness();
    const a = pod("u1", "sb-a");
    const b = pod("u1", "sb-b");
    await h.plugin.runPodSandbox(a);
    await h.plugin.runPodSandbox(b);
    await h.plugin.startContainer(a, ctr("c1", a.id));
    h.pids.setSandboxGone("sb-a", true);
    await h.plugin.removeContainer(a, ctr("c1", a.id));
    assert.ok(h.fs.isDir(G1));
    assert.deepEqual(h.plugin.snapshot()[0]?.sandboxIds, ["sb-a", "sb-b"]);
    h.pids.setSandboxGone("sb-b", true);
    const r = await h.plugin.retryAllOnce();
    assert.equal(r.podsPruned, 1);
    assert.equal(h.fs.isDir(G1), false);
    assert.equal(h.trace().filter((t) => t === "u1 Removed").length, 1);
  });

  it("retryAllOnce prunes pods whose containers were removed and whose sandboxes vanished later, oldest first", async () => {
    const h = harness();
    for (const u of ["u1", "u2", "u3", "u4"]) {
      const p = pod(u);
      await h.plugin.runPodSandbox(p);
      if (u !== "u4") {
        await h.plugin.startContainer(p, ctr(`c-${u}`, p.id));
        await h.plugin.removeContainer(p, ctr(`c-${u}`, p.id)); // sandboxes still alive here
      }
    }
    assert.equal(h.plugin.snapshot().length, 4);
    const before = h.trace().length;
    // Then the sandboxes vanish (no REMOVE_POD_SANDBOX); u4 never had a container (still starting).
    h.pids.setSandboxGone("u1", true).setSandboxGone("sb-u3", true).setSandboxGone("u4", true);
    const r = await h.plugin.retryAllOnce();
    assert.equal(r.podsPruned, 2);
    assert.deepEqual(r.failures, []);
    assert.deepEqual(
      h.plugin.snapshot().map((s) => s.podUid),
      ["u2", "u4"],
    );
    assert.equal(h.fs.isDir(`${MON}/pod_u1`), false);
    assert.ok(h.fs.isDir(`${MON}/pod_u2`));
    assert.equal(h.fs.isDir(`${MON}/pod_u3`), false);
    assert.ok(h.fs.isDir(`${MON}/pod_u4`), "a pod that never had a container is not swept");
    assert.deepEqual(h.trace().slice(before), ["u1 Removed", "u3 Removed"]);
    // A second pass finds nothing more; a late REMOVE_POD_SANDBOX is a no-op.
    assert.equal((await h.plugin.retryAllOnce()).podsPruned, 0);
    await h.plugin.removePodSandbox(pod("u1"));
    assert.equal(h.trace().length, before + 2);
  });

  it("a Failed pod (no group) whose sandbox is gone is pruned without group I/O and not retried", async () => {
    const h = harness();
    h.fs.failMkdirWithEnospc(true);
    const p = pod("u1");
    await h.plugin.runPodSandbox(p);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    await h.plugin.removeContainer(p, ctr("c1", p.id));
    assert.deepEqual(h.trace(), ["u1 Failed 0/0", "u1 Failed 1/0", "u1 Failed 0/0"]);
    h.pids.setSandboxGone("u1", true);
    const r = await h.plugin.retryAllOnce();
    assert.equal(r.podsPruned, 1);
    assert.equal(r.groupAttempts, 0, "a dead pod is not retried");
    assert.deepEqual(h.trace().slice(3), ["u1 Removed"]);
  });

  it("REMOVE_CONTAINER for an unknown pod or container: no event, no check", async () => {
    const h = harness();
    h.pids.setSandboxGone("ghost", true).setSandboxGone("sb-ghost", true);
    await h.plugin.removeContainer(pod("ghost"), ctr("cx", "sb-ghost"));
    await h.plugin.removeContainer(sparse("sb-ghost"), ctr("cy", "sb-ghost"));
    assert.deepEqual(h.trace(), []);
    assert.equal(h.pids.sandboxGoneCalls(), 0);
    assert.equal((await h.plugin.retryAllOnce()).podsPruned, 0);
  });

  it("a pod recovered via Synchronize whose container is removed with sparse pod fields is Removed", async () => {
    const h = harness();
    h.pids.setPids("c1", [11]);
    const p = pod("u1");
    await h.plugin.synchronize([p], [ctr("c1", p.id)]);
    await h.plugin.idle();
    h.pids.setSandboxGone("sb-u1", true);
    await h.plugin.removeContainer(sparse(p.id), ctr("c1", p.id));
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Exists 1/1", "u1 Exists 0/0", "u1 Removed"]);
    assert.equal(h.fs.isDir(G1), false);
  });

  it("sandbox-check logs name the pod and its sandboxes (pruned) or the sandbox that failed (kept)", async () => {
    const h = harness();
    for (const u of ["u1", "u2"]) {
      await h.plugin.runPodSandbox(pod(u));
      await h.plugin.startContainer(pod(u), ctr(`c-${u}`, `sb-${u}`));
    }
    h.pids.setSandboxGone("u1", true).setSandboxGone("u2", new Error("boom"));
    await h.plugin.removeContainer(pod("u1"), ctr("c-u1", "sb-u1"));
    await h.plugin.removeContainer(pod("u2"), ctr("c-u2", "sb-u2"));
    const gone = h.logs.find((l) => l.msg.startsWith("pod sandbox is gone and no live container is left"));
    assert.deepEqual([gone?.["podUid"], gone?.["sandboxIds"]], ["u1", ["sb-u1"]]);
    const w = h.logs.find((l) => l.msg === "failed to check sandbox; pod kept");
    assert.deepEqual([w?.level, w?.["podUid"], w?.["sandboxId"]], [40, "u2", "sb-u2"]);
    assert.ok(w?.["err"]);
  });
});

describe("ResctrlPlugin: event listeners, subscriptions and drops", () => {
  it("a full subscriber queue drops and counts; the handler never blocks; snapshot() resyncs", async () => {
    const h = harness({ cfg: { eventQueueCapacity: 2 } });
    const sub = h.plugin.events();
    for (const u of ["a", "b", "c", "d", "e"]) await h.plugin.runPodSandbox(pod(u));
    await h.plugin.removePodSandbox(pod("a"));
    assert.equal(h.plugin.droppedEvents, 4);
    assert.equal(h.logs.filter((l) => l.msg === "event queue full; event dropped").length, 4);
    const first = await sub.next();
    assert.equal(first.value?.podUid, "a");
    assert.deepEqual(
      h.plugin.snapshot().map((p) => p.podUid),
      ["b", "c", "d", "e"],
    );
    sub.close();
    assert.equal((await sub.next()).done, true);
  });

  it("events() iterates in order and ends on close()", async () => {
    const h = harness();
    const sub = h.plugin.events();
    await h.plugin.runPodSandbox(pod("a"));
    await h.plugin.removePodSandbox(pod("a"));
    const seen: string[] = [];
    const reader = (async () => {
      for await (const e of sub) seen.push(`${e.podUid} ${e.kind}`);
    })();
    await h.plugin.close();
    await reader;
    assert.deepEqual(seen, ["a AddOrUpdate", "a Removed"]);
  });

  it("a throwing onEvent listener is logged with its error; other listeners and the plugin go on", async () => {
    const h = harness();
    h.plugin.onEvent(() => {
      throw new Error("consumer bug");
    });
    await h.plugin.runPodSandbox(pod("u1"));
    assert.equal(h.trace().at(-1), "u1 Exists 0/0");
    const warn = h.logs.find((l) => l.msg === "event listener threw; ignored");
    assert.equal(warn?.level, 40);
    assert.match(JSON.stringify(warn?.err), /consumer bug/);
  });
});

describe("ResctrlPlugin.groupTasks", () => {
  it("groupTasks: the group's tasks, [] for a Failed pod, PodNotFoundError for an unknown UID", async () => {
    const h = harness();
    h.pids.setPids("c1", [11, 12]);
    await h.plugin.synchronize([pod("u1")], [ctr("c1", "sb-u1")]);
    await h.plugin.idle(); // the reconcile continues after Synchronize's reply
    assert.deepEqual((await h.plugin.groupTasks("u1")).sort(), [11, 12]);
    h.fs.failMkdirWithEnospc(true);
    await h.plugin.runPodSandbox(pod("u2"));
    const before = h.fs.log.length;
    assert.deepEqual(await h.plugin.groupTasks("u2"), []);
    assert.equal(h.fs.log.length, before, "no I/O for a Failed pod");
    await assert.rejects(h.plugin.groupTasks("nope"), PodNotFoundError);
  });
});

describe("ResctrlPlugin: hostile input", () => {
  it("hostile pod UIDs get distinct groups strictly inside mon_groups and are removed cleanly", async () => {
    const h = harness();
    const uids = ["../../x", "", "ünïcødé-✓", "a/b", "a.b", "ab", "x".repeat(300)];
    for (const [i, u] of uids.entries()) await h.plugin.runPodSandbox(pod(u, `sb${i}`));
    const paths = h.plugin
      .snapshot()
      .map((p) => (p.groupState.kind === "Exists" ? p.groupState.path : "FAILED"));
    assert.equal(new Set(paths).size, uids.length, "no two UIDs share a group");
    for (const p of paths) {
      assert.ok(p.startsWith(`${MON}/pod_`), p);
      assert.ok(!p.slice(MON.length + 1).includes("/"), p);
    }
    for (const [i, u] of uids.entries()) await h.plugin.removePodSandbox(pod(u, `sb${i}`));
    assert.deepEqual(
      h.fs.groupPaths().filter((g) => g.startsWith(MON)),
      [],
    );
    assert.equal(h.trace().filter((t) => t.endsWith("Removed")).length, uids.length);
  });

  it("PID 0 or negative from a PID source is never written (container Partial)", async () => {
    const h = harness();
    const p = pod("u1");
    h.pids.setPids("c1", [0, 5]).setPids("c2", [-3]);
    await h.plugin.runPodSandbox(p);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    await h.plugin.startContainer(p, ctr("c2", p.id));
    assert.equal(h.fs.zeroPidWrites, 0);
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_u1`), []);
    assert.equal(h.trace().at(-1), "u1 Exists 2/0");
  });
});
