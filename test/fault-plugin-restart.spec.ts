// Fault: the plugin process dies (no Shutdown, no cleanup) and a new instance starts over the same
// resctrl filesystem while the cluster moved on. With cleanupOnStart the new instance removes every
// stale group of ours (never foreign ones) before creating any, then recreates groups for the pods
// the runtime reports, so the filesystem ends up exactly matching the cluster.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pino } from "pino";
import { ResctrlPlugin } from "../src/plugin/plugin.js";
import { Resctrl } from "../src/resctrl/index.js";
import { MockPidSource } from "../src/testing/index.js";
import { MON, ROOT, ctr, harness, pod } from "./support/plugin-harness.js";

const silent = pino({ level: "silent" });

describe("fault: plugin killed and restarted", () => {
  it("cleanupOnStart removes stale groups, keeps foreign ones, recreates groups for current pods", async () => {
    const h = harness();
    for (const [id, t] of [
      ["a1", 11],
      ["a2", 21],
      ["a3", 31],
      ["a4", 41],
    ] as const)
      h.pids.setPids(id, [t]);
    const before = ["u1", "u2", "u3", "u4"].map((u) => pod(u));
    await h.plugin.synchronize(before, [
      ctr("a1", "sb-u1"),
      ctr("a2", "sb-u2"),
      ctr("a3", "sb-u3"),
      ctr("a4", "sb-u4"),
    ]);
    await h.plugin.idle();
    await h.fs.createDir(`${MON}/other_team`);
    await h.fs.writeStr(`${MON}/other_team/tasks`, "99");
    // The old instance is abandoned mid-life: no shutdown(), no close().

    // While it was down: u1 and u4 were deleted, u5 was created; u2 got a new container.
    const pids = new MockPidSource();
    pids.setPids("a2", [21]).setPids("b2", [22]).setPids("a3", [31]).setPids("b5", [51, 52]);
    const resctrl = Resctrl.withProvider(h.fs, { root: ROOT, groupPrefix: "pod_" });
    const restarted = ResctrlPlugin.withPidSource({ cleanupOnStart: true }, resctrl, pids, {
      logger: silent,
    });
    const events: string[] = [];
    restarted.onEvent((e) =>
      events.push(e.kind === "Removed" ? `${e.podUid} Removed` : `${e.podUid} ${e.reconciledContainers}`),
    );
    await restarted.synchronize(
      [pod("u2"), pod("u3"), pod("u5")],
      [ctr("a2", "sb-u2"), ctr("b2", "sb-u2"), ctr("a3", "sb-u3"), ctr("b5", "sb-u5")],
    );
    await restarted.idle();

    assert.deepEqual(
      h.fs
        .groupPaths()
        .filter((g) => g.startsWith(`${MON}/`))
        .sort(),
      [`${MON}/other_team`, `${MON}/pod_u2`, `${MON}/pod_u3`, `${MON}/pod_u5`],
    );
    assert.deepEqual(h.fs.tasksOf(`${MON}/other_team`), [99], "foreign group and its task untouched");
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_u2`), [21, 22]);
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_u3`), [31]);
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_u5`), [51, 52]);
    assert.equal(h.fs.groupOf(11), ROOT, "a task of a deleted pod's stale group is back in the root");
    const snap = restarted.snapshot();
    assert.deepEqual(
      snap.map((s) => `${s.podUid} ${s.groupState.kind} ${s.totalContainers}/${s.reconciledContainers}`),
      ["u2 Exists 2/2", "u3 Exists 1/1", "u5 Exists 1/1"],
    );
    assert.ok(!events.some((e) => e.endsWith("Removed")), "the new instance never knew u1/u4: no Removed");
    await restarted.close();
  });

  it("without cleanupOnStart the restarted plugin adopts its old groups (no duplicates, no rmdir)", async () => {
    const h = harness();
    h.pids.setPids("a1", [11]);
    await h.plugin.synchronize([pod("u1")], [ctr("a1", "sb-u1")]);
    await h.plugin.idle();
    const mkdirs = h.fs.calls("mkdir");
    const pids = new MockPidSource().setPids("a1", [11]);
    const resctrl = Resctrl.withProvider(h.fs, { root: ROOT, groupPrefix: "pod_" });
    const restarted = ResctrlPlugin.withPidSource({ cleanupOnStart: false }, resctrl, pids, {
      logger: silent,
    });
    await restarted.synchronize([pod("u1")], [ctr("a1", "sb-u1")]);
    await restarted.idle();
    assert.equal(h.fs.calls("rmdir"), 0);
    assert.ok(h.fs.calls("mkdir") <= mkdirs + 1, "at most one (EEXIST) mkdir attempt");
    assert.deepEqual(
      h.fs.groupPaths().filter((g) => g.startsWith(`${MON}/`)),
      [`${MON}/pod_u1`],
    );
    assert.equal(restarted.snapshot()[0]?.reconciledContainers, 1);
    assert.deepEqual(h.fs.tasksOf(`${MON}/pod_u1`), [11]);
    await restarted.close();
  });
});
