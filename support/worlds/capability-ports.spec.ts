import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  CAPABILITIES,
  CapabilityMissingError,
  capabilitiesOf,
  FLAG_CAPABILITIES,
  portOf,
  type CapabilityPorts,
  type FaultInjectionPort,
} from "./types.js";

const faults: FaultInjectionPort = {
  injectCapacityExhaustion: async () => undefined,
  freeCapacity: async () => undefined,
};

describe("capability ports", () => {
  it("derives a world's capabilities from its ports and flags, in CAPABILITIES order", () => {
    const caps = capabilitiesOf({
      ports: { "runtime-restart": { restartRuntime: async () => undefined }, "fault-injection": faults },
      flags: ["kubernetes"],
    });
    assert.deepEqual([...caps], ["fault-injection", "kubernetes", "runtime-restart"]);
    assert.deepEqual([...capabilitiesOf({ ports: {} })], []);
    assert.deepEqual([...capabilitiesOf({ ports: { "fault-injection": undefined } })], []);
  });

  it("every capability is a port or a flag, never both", () => {
    const ports: Record<keyof CapabilityPorts, true> = {
      "fault-injection": true,
      "rmid-limbo": true,
      "scripted-pids": true,
      "fs-audit": true,
      "scripted-runtime": true,
      "mount-control": true,
      "event-backpressure": true,
      "runtime-restart": true,
      "late-runtime": true,
      "chosen-pod-uids": true,
      "metrics-endpoint": true,
      "pod-metadata": true,
      "removal-orders": true,
      "rdt-classes": true,
    };
    const flags: readonly string[] = FLAG_CAPABILITIES;
    assert.deepEqual([...Object.keys(ports), ...flags].sort(), [...CAPABILITIES].sort());
  });

  it("hands out a port the world has, and names what is missing otherwise", () => {
    const world = { name: "w", ports: { "fault-injection": faults } };
    assert.equal(portOf(world, "fault-injection"), faults);
    assert.throws(
      () => portOf(world, "rmid-limbo"),
      (e: unknown) =>
        e instanceof CapabilityMissingError &&
        e.capability === "rmid-limbo" &&
        e.message ===
          'failed to hold freed RMIDs in limbo (EBUSY) and drain them on demand: world "w" lacks @rmid-limbo',
    );
  });

  it("no world throws CapabilityMissingError itself (it leaves the port out instead)", () => {
    const worlds = fileURLToPath(new URL(".", import.meta.url));
    const offenders = readdirSync(worlds, { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".ts") && !f.endsWith(".spec.ts") && f !== "types.ts")
      .filter((f) => readFileSync(join(worlds, f), "utf8").includes("CapabilityMissingError"));
    assert.deepEqual(offenders, []);
  });
});
