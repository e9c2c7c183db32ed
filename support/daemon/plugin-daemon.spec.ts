// The daemon driver against the real daemon, registered with the fake NRI runtime: the way the
// containerd world uses it (memory provider, events over the control API's stream, readiness by
// "runtime synchronized" or "waiting for the runtime"), and its failure when the daemon cannot
// start. The hardware world's use (events from the log, real provider) is test/hardware-plugin-handle.spec.ts.
import assert from "node:assert/strict";
import { mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { NriPod } from "../../src/nri/types.js";
import type { PodResctrlEvent } from "../../src/plugin/events.js";
import { FakeRuntime } from "../fakes/fake-runtime.js";
import { removeDaemonBuild } from "./daemon-build.js";
import type { DaemonOptions } from "./daemon-args.js";
import { PluginDaemon } from "./plugin-daemon.js";
import { samplesOf } from "./prometheus-text.js";

const pod: NriPod = {
  id: "a".repeat(64),
  name: "web",
  uid: "uid-1",
  namespace: "default",
  labels: {},
  annotations: {},
  cgroupParent: "",
  cgroupsPath: "",
  pid: 0,
};

const options = (dir: string, over: Partial<DaemonOptions> = {}): DaemonOptions => ({
  nriSocket: join(dir, "nri.sock"),
  pluginName: "drivertest",
  pluginIdx: "90",
  groupPrefix: "drv_",
  resctrlRoot: "/sys/fs/resctrl",
  provider: "memory",
  memoryRmids: 16,
  cleanupOnStart: true,
  autoMount: true,
  controlSocket: join(dir, "control.sock"),
  ...over,
});

describe("PluginDaemon with the real daemon", { timeout: 120_000 }, () => {
  let dir: string;
  after(() => removeDaemonBuild());

  describe("a runtime that is up", () => {
    let runtime: FakeRuntime;
    let daemon: PluginDaemon | undefined;
    const events: PodResctrlEvent[] = [];

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "drv-"));
      runtime = await FakeRuntime.listen({ socketPath: join(dir, "nri.sock") });
      runtime.addPod(pod);
    });

    after(async () => {
      await daemon?.stop();
      await runtime.close();
      await rm(dir, { recursive: true, force: true });
    });

    it("starts, connects, streams events and is ready once synchronized", async () => {
      // As the containerd world does: the runtime's socket is linked only once the watch is up,
      // so the first Synchronize's events are streamed too.
      const link = join(dir, "link.sock");
      daemon = await PluginDaemon.start(options(dir, { nriSocket: link }));
      await daemon.connect(30_000);
      await daemon.watchEvents((e) => events.push(e));
      await symlink(join(dir, "nri.sock"), link);
      await daemon.waitForSyncs(1, 30_000);
      assert.equal(daemon.syncCount(), 1);
      const deadline = Date.now() + 10_000;
      while (!events.some((e) => e.podUid === "uid-1") && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      const e = events.find((x) => x.podUid === "uid-1");
      assert.equal(e?.kind === "AddOrUpdate" && e.groupState.kind, "Exists");
    });

    it("serves /readyz, /healthz and /metrics on the port it logged, per-pod series labelled", async () => {
      const { host, port } = await daemon!.httpAddress(30_000);
      assert.equal(host, "127.0.0.1");
      assert.ok(port > 0, `an ephemeral port, not 0: ${port}`);
      assert.deepEqual(await daemon!.httpGet("/readyz", 10_000), { status: 200, body: "ready\n" });
      assert.equal((await daemon!.httpGet("/healthz", 10_000)).status, 200);
      const samples = await daemon!.scrapeMetrics(10_000);
      const occupancy = samplesOf(samples, "nri_resctrl_pod_llc_occupancy_bytes", { pod_uid: "uid-1" });
      assert.deepEqual(
        occupancy.map((x) => x.labels),
        [{ pod_uid: "uid-1", pod_namespace: "default", pod_name: "web" }],
      );
      assert.equal(samplesOf(samples, "nri_resctrl_pods", { group_state: "exists" })[0]?.value, 1);
      assert.ok(
        daemon!.records.some((r) => r.msg === "scenario world: daemon started"),
        "the world's note of how it started the daemon",
      );
    });

    it("classifies retries and reports its state", async () => {
      assert.deepEqual(
        { ...(await daemon!.retryGroupCreation("uid-404")), message: "" },
        { ok: false, error: "pod-not-found", message: "" },
      );
      const missing = await daemon!.retryContainer("no-such-container");
      assert.equal(!missing.ok && missing.error, "container-not-found");
      const ok = await daemon!.retryGroupCreation("uid-1");
      assert.equal(ok.ok && ok.group?.kind, "Exists");
      assert.deepEqual(await daemon!.retryAllOnce(), { ok: true });
      assert.equal(await daemon!.droppedEvents(), 0);
      assert.deepEqual(
        (await daemon!.state()).pods.map((p) => p.podUid),
        ["uid-1"],
      );
    });

    it("stops (SIGTERM), idempotently", async () => {
      await daemon!.stop();
      await daemon!.stop();
      assert.ok(daemon!.exitReason, "the process ended");
      assert.ok(daemon!.records.some((r) => String(r.msg).includes("shutting down")));
    });
  });

  it("is ready while the runtime is down once it logged that it waits", async () => {
    const down = await mkdtemp(join(tmpdir(), "drv-down-"));
    const daemon = await PluginDaemon.start(options(down));
    try {
      await daemon.connect(30_000);
      await daemon.waitUntilWaitingForRuntime(30_000);
      assert.equal(daemon.syncCount(), 0);
      assert.deepEqual(await daemon.httpGet("/readyz", 10_000), {
        status: 503,
        body: "not connected to the runtime's NRI socket\n",
      });
      assert.equal(daemon.exitReason, undefined, "it keeps running");
    } finally {
      await daemon.stop();
      await rm(down, { recursive: true, force: true });
    }
  });

  it("rejects with the daemon's own complaint when it cannot start", async () => {
    const bad = await mkdtemp(join(tmpdir(), "drv-bad-"));
    const daemon = await PluginDaemon.start(options(bad, { pluginIdx: "999" }));
    try {
      await assert.rejects(daemon.connect(30_000), /the daemon ended \(exit code 2\).*plugin-idx/s);
      await assert.rejects(daemon.waitForSyncs(1, 30_000), /the daemon ended/);
    } finally {
      await daemon.stop();
      await rm(bad, { recursive: true, force: true });
    }
  });
});
