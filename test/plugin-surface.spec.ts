// ResctrlPlugin's public surface where the other specs were thin (written against mutation
// survivors; docs/testing.md): groupTasks, configure/shutdown logging, Synchronize's resync of
// NoPod containers and its summary log, the registry (not the event's pod fields) choosing the
// pod of REMOVE_POD_SANDBOX / REMOVE_CONTAINER, START with an empty podSandboxId, retries racing
// a removal, idle() waiting for background work, startup logging, a silent default logger.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { NriContainerState } from "../src/nri/types.js";
import { raceTimeout } from "../src/plugin/async-work.js";
import { ContainerNotFoundError, PodNotFoundError } from "../src/plugin/errors.js";
import { ResctrlPlugin } from "../src/plugin/plugin.js";
import { Resctrl } from "../src/resctrl/index.js";
import { MemFs, MockPidSource } from "../src/testing/index.js";
import { memoryLogger } from "../support/worlds/mock/memory-logger.js";
import { MON, ctr, gate, harness, pod, runModuleInChild, until } from "./plugin-harness.js";

const configureReq = (config: string) => ({
  config,
  runtimeName: "containerd",
  runtimeVersion: "1.7.24",
  registrationTimeoutMs: 5000,
  requestTimeoutMs: 2000,
});

describe("plugin surface: queries and runtime lifecycle", () => {
  it("groupTasks: the group's tasks, [] for a Failed pod, PodNotFoundError for an unknown UID", async () => {
    const h = harness();
    h.pids.setPids("c1", [11, 12]);
    await h.plugin.synchronize([pod("u1")], [ctr("c1", "sb-u1")]);
    assert.deepEqual((await h.plugin.groupTasks("u1")).sort(), [11, 12]);
    h.fs.failMkdirWithEnospc(true);
    await h.plugin.runPodSandbox(pod("u2"));
    const before = h.fs.log.length;
    assert.deepEqual(await h.plugin.groupTasks("u2"), []);
    assert.equal(h.fs.log.length, before, "no I/O for a Failed pod");
    await assert.rejects(h.plugin.groupTasks("nope"), PodNotFoundError);
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

describe("plugin surface: create() wiring", () => {
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
});

describe("plugin surface: Synchronize", () => {
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

  it("logs one summary: pods, containers, STOPPED, NoPod, queued, inline, a sane duration", async () => {
    const h = harness();
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

describe("plugin surface: the registry decides which pod an event is about", () => {
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

describe("plugin surface: retryContainerReconcile racing a removal", () => {
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

describe("plugin surface: startup logging", () => {
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

describe("plugin surface: event listeners", () => {
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

describe("plugin surface: more Synchronize and START details", () => {
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

describe("plugin surface: retryGroupCreation details", () => {
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

describe("plugin surface: quiet by default and no leftover timers", () => {
  it("without a logger option the plugin writes nothing to stdout or stderr", () => {
    const dir = mkdtempSync(join(tmpdir(), "quiet-"));
    try {
      // Build both in this process too (no I/O, no output): Stryker's per-test coverage only sees
      // code run in the test's own process, and the defaults are only reached without a logger.
      ResctrlPlugin.withPidSource({}, Resctrl.withProvider(MemFs.withResctrl()), new MockPidSource());
      ResctrlPlugin.create({ autoMount: false }, { resctrlRoot: dir });
      const url = (p: string) => JSON.stringify(new URL(p, import.meta.url).href);
      const r = runModuleInChild([
        `const { ResctrlPlugin } = await import(${url("../src/plugin/plugin.js")});`,
        `const { Resctrl } = await import(${url("../src/resctrl/index.js")});`,
        `const { MemFs, MockPidSource } = await import(${url("../src/testing/index.js")});`,
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

  it("raceTimeout clears its timer when the promise wins", async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const before = timers();
    assert.equal(await raceTimeout(Promise.resolve(), 600_000), true);
    assert.equal(timers(), before);
    assert.equal(await raceTimeout(new Promise(() => undefined), 1), false);
    assert.equal(timers(), before);
  });
});
