// The improvements over upstream (contract §6.2) and hostile input, one test each.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { validateConfig, DEFAULT_MAX_RECONCILE_PASSES } from "../src/plugin/config.js";
import { InvalidPluginConfigError, PluginError } from "../src/plugin/errors.js";
import { ResctrlPlugin } from "../src/plugin/plugin.js";
import { Resctrl } from "../src/resctrl/index.js";
import { MemFs } from "../src/testing/mem-fs.js";
import { MockPidSource } from "../src/testing/mock-pid-source.js";
import { MON, ROOT, ctr, gate, harness, pod, until } from "./plugin-harness.js";

describe("plugin: startup cleanup", () => {
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
    assert.ok(h.fs.isDir(`${MON}/pod_u1`));
    assert.equal(h.logs.filter((l) => l.msg === "startup cleanup done").length, 1);
  });

  it("ensureMounted(autoMount) runs before cleanup: an unmounted root is mounted, then groups work", async () => {
    const h = harness({ fs: { mounted: false } });
    await h.plugin.synchronize([pod("u1")], []);
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
    h.fs.setMounted(true);
    assert.equal((await h.plugin.retryGroupCreation("u1")).kind, "Exists");
  });

  it("cleanupOnStart=false leaves stale groups alone", async () => {
    const h = harness({ cfg: { cleanupOnStart: false } });
    await h.fs.createDir(`${MON}/pod_stale`);
    await h.plugin.synchronize([], []);
    assert.ok(h.fs.isDir(`${MON}/pod_stale`));
  });
});

describe("plugin: concurrency", () => {
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
});

describe("plugin: Reconciled only on a fresh observation", () => {
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
});

describe("plugin: dropped events and resync", () => {
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
});

describe("plugin: hostile input", () => {
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

describe("plugin: config", () => {
  it("defaults are the named constants; maxReconcilePasses ≥ 1", () => {
    const c = validateConfig();
    assert.equal(c.groupPrefix, "pod_");
    assert.equal(c.cleanupOnStart, true);
    assert.equal(c.autoMount, true);
    assert.equal(c.maxReconcilePasses, DEFAULT_MAX_RECONCILE_PASSES);
    assert.equal(c.eventQueueCapacity, 1024);
  });

  for (const [name, bad, field] of [
    ["empty prefix", { groupPrefix: "" }, "groupPrefix"],
    ["slash in prefix", { groupPrefix: "a/b" }, "groupPrefix"],
    ["dot prefix", { groupPrefix: ".." }, "groupPrefix"],
    ["long prefix", { groupPrefix: "p".repeat(33) }, "groupPrefix"],
    ["reserved prefix", { groupPrefix: "info" }, "groupPrefix"],
    ["0 passes", { maxReconcilePasses: 0 }, "maxReconcilePasses"],
    ["fractional passes", { maxReconcilePasses: 1.5 }, "maxReconcilePasses"],
    ["0 capacity", { eventQueueCapacity: 0 }, "eventQueueCapacity"],
    ["string bool", { autoMount: "yes" }, "autoMount"],
    ["unknown key", { bogus: 1 }, "bogus"],
  ] as const) {
    it(`rejects ${name} with a message naming ${field}`, () => {
      assert.throws(
        () => validateConfig(bad as never),
        (e: unknown) =>
          e instanceof InvalidPluginConfigError && e.field === field && e.message.includes(field),
      );
    });
  }

  it("create() wires the real filesystem: on a host without resctrl, pods are Failed, nothing crashes", async () => {
    const root = mkdtempSync(join(tmpdir(), "no-resctrl-"));
    try {
      const plugin = ResctrlPlugin.create({ autoMount: false, groupPrefix: "t_" }, { resctrlRoot: root });
      assert.equal(plugin.config.groupPrefix, "t_");
      const seen: string[] = [];
      plugin.onEvent((e) => seen.push(e.kind === "AddOrUpdate" ? e.groupState.kind : e.kind));
      await plugin.synchronize([pod("u1")], []);
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
});
