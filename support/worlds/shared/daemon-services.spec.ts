// The in-process copy of the daemon's services around a plugin: readiness follows the stub's
// connection as the daemon's does, /metrics serves the plugin's series, the sweep loop runs at the
// interval asked for, and an unstated interval is the daemon's default.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { DEFAULT_RETRY_INTERVAL_MS } from "../../../src/cli.js";
import { MemFs } from "../../../src/memfs/index.js";
import { NriStub } from "../../../src/nri/index.js";
import { ResctrlPlugin } from "../../../src/plugin/plugin.js";
import { Resctrl } from "../../../src/resctrl/index.js";
import { MockPidSource } from "../../../src/testing/mock-pid-source.js";
import { samplesOf } from "../../daemon/prometheus-text.js";
import { FakeRuntime } from "../../fakes/fake-runtime.js";
import { DaemonServices } from "./daemon-services.js";
import { DEFAULT_OVERRIDE_ENV, FORCE_OVERRIDE_ENV } from "./retry-interval.js";

const silent = pino({ level: "silent" });

function plugin(): { plugin: ResctrlPlugin; resctrl: Resctrl } {
  const fs = MemFs.withResctrl({ root: "/sys/fs/resctrl", syntheticMonData: true });
  const resctrl = Resctrl.withProvider(fs, { root: "/sys/fs/resctrl", groupPrefix: "svc_", logger: silent });
  return {
    plugin: ResctrlPlugin.withPidSource({}, resctrl, new MockPidSource(), { logger: silent }),
    resctrl,
  };
}

async function until(done: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

describe("DaemonServices", () => {
  const env = { ...process.env };
  before(() => {
    delete process.env[FORCE_OVERRIDE_ENV];
    delete process.env[DEFAULT_OVERRIDE_ENV];
  });
  after(() => Object.assign(process.env, env));

  it("runs the daemon's default interval when the scenario states none", async () => {
    const { plugin: p, resctrl } = plugin();
    const s = await DaemonServices.start({ plugin: p, resctrl, retryIntervalMs: undefined, logger: silent });
    try {
      assert.equal(s.retryIntervalMs, DEFAULT_RETRY_INTERVAL_MS);
      assert.notEqual(s.retryIntervalMs, 0);
    } finally {
      await s.stop();
      await p.close();
    }
  });

  it("is not ready before the runtime, ready once synchronized, serves metrics and sweeps", async () => {
    const dir = await mkdtemp(join(tmpdir(), "svc-"));
    const { plugin: p, resctrl } = plugin();
    const s = await DaemonServices.start({ plugin: p, resctrl, retryIntervalMs: 100, logger: silent });
    const runtime = await FakeRuntime.listen({ socketPath: join(dir, "nri.sock") });
    const stub = new NriStub(p, {
      name: "svc",
      idx: "10",
      socketPath: join(dir, "nri.sock"),
      logger: silent,
    });
    try {
      s.watch(stub);
      assert.deepEqual(await s.get("/readyz"), {
        status: 503,
        body: "not connected to the runtime's NRI socket\n",
      });
      assert.equal((await s.get("/healthz")).status, 200);
      await stub.start();
      await stub.waitSynchronized(10_000);
      await until(() => p.health().resctrl === "usable");
      assert.deepEqual(await s.get("/readyz"), { status: 200, body: "ready\n" });
      assert.equal(samplesOf(await s.scrape(), "nri_resctrl_pods", { group_state: "exists" })[0]?.value, 0);
      await until(() => p.stats.retrySweeps >= 2);
      assert.ok(p.stats.retrySweeps >= 2, `sweeps every 100 ms: ${p.stats.retrySweeps}`);
    } finally {
      await s.stop();
      await stub.stop();
      await runtime.close();
      await p.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
