import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfiguration, loadSupport } from "@cucumber/cucumber/api";
import {
  hardwareStepTimeoutMs,
  longestStepWaitMs,
  MIN_HARDWARE_STEP_TIMEOUT_MS,
  RUNTIME_RESTART_TIMEOUT_MS,
} from "../support/worlds/hardware/timeouts.js";

// The hardware profile's step timeout must exceed every wait inside a step (a runtime restart
// waits up to 2 × 180 s), or a slow wait is cut off by cucumber with a bare "timed out" instead of
// its own message. Checked here against what cucumber really builds from the hardware profile.

const REPO = resolve(fileURLToPath(new URL(".", import.meta.url)), "..");

describe("hardware step timeout", () => {
  it("exceeds the longest wait of a step, the runtime restart's 360 s included", () => {
    assert.equal(longestStepWaitMs(60_000), 2 * RUNTIME_RESTART_TIMEOUT_MS);
    assert.ok(hardwareStepTimeoutMs(60_000) > longestStepWaitMs(60_000));
    assert.equal(hardwareStepTimeoutMs(60_000), MIN_HARDWARE_STEP_TIMEOUT_MS);
    assert.ok(hardwareStepTimeoutMs(900_000) > 900_000, "a longer SCENARIO_TIMEOUT_MS lengthens it");
  });

  it("is what cucumber uses for the hardware profile's steps", async () => {
    const { runConfiguration, useConfiguration } = await loadConfiguration(
      { profiles: ["hardware"] },
      { cwd: REPO },
    );
    const eventually = Number(useConfiguration.worldParameters.timeoutMs);
    const library = await loadSupport(runConfiguration, { cwd: REPO });
    // Not in the public type: the field cucumber's step runner takes a step's timeout from.
    const { defaultTimeout } = library as unknown as { defaultTimeout: number };
    // Only now: support/world.ts registers its World with cucumber when it is first imported.
    const { scenarioTimeoutMs } = await import("../support/world.js");
    assert.equal(defaultTimeout, hardwareStepTimeoutMs(scenarioTimeoutMs({})));
    assert.ok(defaultTimeout > longestStepWaitMs(eventually));
  });
});
