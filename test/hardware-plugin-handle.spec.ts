import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { NriPod } from "../src/nri/types.js";
import { FakeRuntime } from "../support/fakes/fake-runtime.js";
import { EventLog } from "../support/worlds/event-log.js";
import { PluginHandle } from "../support/worlds/hardware/plugin-handle.js";

// The hardware world's plumbing against the REAL daemon (dist/cli.js, or src/cli.ts via tsx),
// registered with the fake NRI runtime: start → control API → Synchronize, events read from the
// daemon's log, retries and snapshots over the control API, stop. resctrl is a temp dir that is
// not mounted (and --no-auto-mount), so every group fails: no kernel, no root, no side effects.

const REPO = resolve(fileURLToPath(new URL(".", import.meta.url)), "..");

const pod = (n: number): NriPod => ({
  id: String(n).repeat(64).slice(0, 64),
  name: `pod${n}`,
  uid: `uid-${n}`,
  namespace: "default",
  labels: {},
  annotations: {},
  cgroupParent: "",
  cgroupsPath: "",
  pid: 0,
});

describe("PluginHandle with the real daemon", { timeout: 60_000 }, () => {
  let dir: string;
  let runtime: FakeRuntime;
  let handle: PluginHandle | undefined;
  const uidToPod = new Map<string, string>([["uid-1", "web"]]);
  const log = new EventLog();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "hw-handle-"));
    await mkdir(join(dir, "resctrl"));
    runtime = await FakeRuntime.listen({ socketPath: join(dir, "nri.sock") });
    runtime.addPod(pod(1));
  });

  after(async () => {
    log.close();
    await handle?.stop();
    await runtime.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("starts, synchronizes, and turns the daemon's logged events into scenario events", async () => {
    handle = await PluginHandle.start({
      daemon: {
        repoRoot: REPO,
        nriSocket: join(dir, "nri.sock"),
        pluginName: "hwtest",
        pluginIdx: "90",
        groupPrefix: "hwtest_",
        resctrlRoot: join(dir, "resctrl"),
        controlSocket: join(dir, "control.sock"),
        cleanupOnStart: false,
        autoMount: false,
        logFile: join(dir, "daemon.log"),
      },
      timeoutMs: 30_000,
      uidToPod,
      log,
      capacityFreed: () => false,
    });
    const e = await log.waitFor("web", (x) => x.kind === "AddOrUpdate", 10_000);
    assert.deepEqual(e.kind === "AddOrUpdate" && [e.group, e.total, e.reconciled], [
      { kind: "Failed" },
      0,
      0,
    ]);
    assert.ok(handle.records.some((r) => String(r.msg).includes("synchronized")));
    assert.match(await readFile(join(dir, "daemon.log"), "utf8"), /"msg":"pod event"/);
  });

  it("keeps events of unknown pods until their UID is learned", async () => {
    assert.ok(await runtime.runPodSandbox(pod(2)));
    // The daemon logs the event asynchronously; wait until it arrived (nothing recorded yet: unknown UID).
    const deadline = Date.now() + 10_000;
    while (
      !handle!.records.some((r) => r.msg === "pod event" && r.podUid === "uid-2") &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(log.of("db"), []);
    uidToPod.set("uid-2", "db");
    handle!.replayUnmapped();
    const e = await log.waitFor("db", () => true, 1_000);
    assert.equal(e.kind === "AddOrUpdate" && e.group.kind, "Failed");
  });

  it("classifies retries and maps the snapshot to scenario names", async () => {
    const missing = await handle!.retryGroupCreation("uid-404");
    assert.equal(missing.ok, false);
    assert.equal(!missing.ok && missing.error, "pod-not-found");
    const unmounted = await handle!.retryGroupCreation("uid-1");
    assert.equal(unmounted.ok, false, "resctrl is not mounted: the retry cannot succeed");
    assert.equal((await handle!.retryContainer("no-such-container")).ok, false);
    assert.equal((await handle!.retryAllOnce()).ok, true);
    const snap = await handle!.snapshot();
    assert.deepEqual(snap.map((p) => [p.pod, p.group.kind]).sort(), [
      ["db", "Failed"],
      ["web", "Failed"],
    ]);
  });

  it("counts the runtime's synchronizations across a runtime restart, and reports dropped events", async () => {
    assert.equal(handle!.syncCount(), 1);
    assert.equal(await handle!.droppedEvents(), 0);
    await runtime.close();
    runtime = await FakeRuntime.listen({ socketPath: join(dir, "nri.sock") });
    runtime.addPod(pod(1));
    const deadline = Date.now() + 30_000;
    while (handle!.syncCount() < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(handle!.syncCount(), 2, "the daemon reconnected and was synchronized again");
  });

  it("stops the daemon", async () => {
    await handle!.stop();
    await handle!.stop();
    assert.ok(handle!.records.some((r) => String(r.msg).includes("shutting down")));
  });
});

describe("PluginHandle when the daemon cannot start", { timeout: 60_000 }, () => {
  it("rejects with the daemon's own complaint instead of hanging", async () => {
    const dir = await mkdtemp(join(tmpdir(), "hw-handle-bad-"));
    try {
      await assert.rejects(
        PluginHandle.start({
          daemon: {
            repoRoot: REPO,
            nriSocket: join(dir, "nri.sock"),
            pluginName: "hwtest",
            pluginIdx: "999",
            groupPrefix: "hwtest_",
            resctrlRoot: join(dir, "resctrl"),
            controlSocket: join(dir, "control.sock"),
          },
          timeoutMs: 30_000,
          uidToPod: new Map(),
          log: new EventLog(),
          capacityFreed: () => false,
        }),
        /the daemon ended \(exit code 2\).*plugin-idx/s,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
