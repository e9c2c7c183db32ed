import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  DEFAULT_OVERRIDE_ENV,
  effectiveRetryInterval,
  FORCE_OVERRIDE_ENV,
  retryIntervalFlag,
} from "./retry-interval.js";

describe("effectiveRetryInterval", () => {
  it("leaves an unstated interval to the daemon's default: never 0 in its place", () => {
    assert.deepEqual(effectiveRetryInterval(undefined, {}), { ms: undefined, source: "daemon default" });
  });

  it("uses the scenario's interval, 0 included", () => {
    assert.deepEqual(effectiveRetryInterval(1000, {}), { ms: 1000, source: "scenario" });
    assert.deepEqual(effectiveRetryInterval(0, {}), { ms: 0, source: "scenario" });
  });

  it("the default override applies only where the scenario states none", () => {
    const env = { [DEFAULT_OVERRIDE_ENV]: "100" };
    assert.deepEqual(effectiveRetryInterval(undefined, env), { ms: 100, source: DEFAULT_OVERRIDE_ENV });
    assert.deepEqual(effectiveRetryInterval(0, env), { ms: 0, source: "scenario" });
  });

  it("the forced override wins over everything (the proof that a sweep scenario needs its sweep)", () => {
    const env = { [FORCE_OVERRIDE_ENV]: "0", [DEFAULT_OVERRIDE_ENV]: "100" };
    assert.deepEqual(effectiveRetryInterval(1000, env), { ms: 0, source: FORCE_OVERRIDE_ENV });
    assert.deepEqual(effectiveRetryInterval(undefined, env), { ms: 0, source: FORCE_OVERRIDE_ENV });
  });

  it("ignores empty variables and refuses anything but whole ms", () => {
    assert.deepEqual(effectiveRetryInterval(5, { [FORCE_OVERRIDE_ENV]: " " }), { ms: 5, source: "scenario" });
    assert.throws(
      () => effectiveRetryInterval(5, { [FORCE_OVERRIDE_ENV]: "1s" }),
      /want a whole number of ms/,
    );
  });
});

describe("retryIntervalFlag", () => {
  it("writes --retry-interval values the daemon parses", () => {
    assert.equal(retryIntervalFlag(0), "0");
    assert.equal(retryIntervalFlag(1000), "1000ms");
    assert.throws(() => retryIntervalFlag(-1), /failed to express/);
  });
});
