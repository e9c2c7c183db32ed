import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { effectiveFollowRdtClasses, FORCE_FOLLOW_RDT_CLASSES_ENV } from "./follow-rdt-classes.js";
import { inProcessPluginConfig } from "./plugin-config.js";

describe("effectiveFollowRdtClasses", () => {
  it("keeps what the scenario stated, and unset stays unset (the plugin's default)", () => {
    assert.equal(effectiveFollowRdtClasses(true, {}), true);
    assert.equal(effectiveFollowRdtClasses(false, {}), false);
    assert.equal(effectiveFollowRdtClasses(undefined, {}), undefined);
  });

  it("the run-wide override beats every scenario, stated or not", () => {
    const off = { [FORCE_FOLLOW_RDT_CLASSES_ENV]: "off" };
    const on = { [FORCE_FOLLOW_RDT_CLASSES_ENV]: " on " };
    assert.equal(effectiveFollowRdtClasses(true, off), false);
    assert.equal(effectiveFollowRdtClasses(undefined, on), true);
    assert.equal(effectiveFollowRdtClasses(true, { [FORCE_FOLLOW_RDT_CLASSES_ENV]: "" }), true);
    assert.throws(
      () => effectiveFollowRdtClasses(true, { [FORCE_FOLLOW_RDT_CLASSES_ENV]: "yes" }),
      /want on or off/,
    );
  });

  it("reaches the in-process plugin's configuration only when set", () => {
    assert.equal(inProcessPluginConfig({ followRdtClasses: true }).followRdtClasses, true);
    assert.equal("followRdtClasses" in inProcessPluginConfig({}), false);
  });
});
