// readinessOf: the first failing condition (NRI connection, Synchronize, resctrl) is the reason.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readinessOf } from "./readiness.js";
import type { MetricsPluginView } from "./types.js";

type Health = ReturnType<MetricsPluginView["health"]>;
const runtime = (connected: boolean, synchronized: boolean) => ({
  connected: () => connected,
  synchronized: () => synchronized,
  reconnects: () => 0,
});
const plugin = (h: Health) => ({ health: () => h });

describe("readinessOf", () => {
  it("names the first failing condition, in order", () => {
    const usable: Health = { resctrl: "usable" };
    assert.deepEqual(readinessOf(runtime(false, false), plugin(usable)), {
      ready: false,
      reason: "not connected to the runtime's NRI socket",
    });
    assert.deepEqual(readinessOf(runtime(false, true), plugin({ resctrl: "unusable", reason: "x" })), {
      ready: false,
      reason: "not connected to the runtime's NRI socket",
    });
    assert.deepEqual(readinessOf(runtime(true, false), plugin(usable)), {
      ready: false,
      reason: "registered, waiting for the runtime's Synchronize",
    });
    assert.deepEqual(
      readinessOf(
        runtime(true, true),
        plugin({ resctrl: "unusable", reason: "not mounted at /sys/fs/resctrl" }),
      ),
      { ready: false, reason: "resctrl unusable: not mounted at /sys/fs/resctrl" },
    );
    assert.deepEqual(readinessOf(runtime(true, true), plugin({ resctrl: "unknown" })), {
      ready: false,
      reason: "resctrl not checked yet",
    });
    assert.deepEqual(readinessOf(runtime(true, true), plugin(usable)), { ready: true, reason: "ready" });
  });
});
