// validateConfig's edges: every bound accepted at its limit and refused one past it, the prefix
// rules one by one, undefined meaning "default", and the error naming field, range and value.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  DEFAULT_PLUGIN_CONFIG,
  MAX_GROUP_PREFIX_LENGTH,
  MAX_RECONCILE_PASSES_LIMIT,
  validateConfig,
  type ResctrlPluginConfig,
} from "../src/plugin/config.js";
import { InvalidPluginConfigError } from "../src/plugin/errors.js";

type Input = Partial<Record<keyof ResctrlPluginConfig, unknown>>;

function refuses(input: Input, field: string, message?: RegExp): void {
  assert.throws(
    () => validateConfig(input as Partial<ResctrlPluginConfig>),
    (e: unknown) => {
      assert.ok(e instanceof InvalidPluginConfigError, String(e));
      assert.equal(e.field, field);
      if (message) assert.match(e.message, message);
      return true;
    },
    JSON.stringify(input),
  );
}

describe("validateConfig bounds", () => {
  const bounds: [keyof ResctrlPluginConfig, number, number][] = [
    ["maxReconcilePasses", 1, MAX_RECONCILE_PASSES_LIMIT],
    ["eventQueueCapacity", 1, 1_000_000],
    ["syncInlineBudgetMs", 0, 60_000],
    ["syncConcurrency", 1, 64],
  ];
  for (const [field, min, max] of bounds) {
    it(`${field}: accepts ${min} and ${max}, refuses ${min - 1}, ${max + 1}, fractions and non-numbers`, () => {
      assert.equal(validateConfig({ [field]: min })[field], min);
      assert.equal(validateConfig({ [field]: max })[field], max);
      refuses({ [field]: min - 1 }, field, new RegExp(`\\[${min}, ${max}\\], got ${min - 1}`));
      refuses({ [field]: max + 1 }, field, new RegExp(`got ${max + 1}`));
      refuses({ [field]: min + 0.5 }, field);
      refuses({ [field]: String(min) }, field);
      refuses({ [field]: Number.NaN }, field);
      refuses({ [field]: null }, field);
    });
  }

  it("defaults: every field, the frozen default object, and undefined meaning 'default'", () => {
    assert.deepEqual(validateConfig(), {
      groupPrefix: "pod_",
      cleanupOnStart: true,
      autoMount: true,
      maxReconcilePasses: 3,
      eventQueueCapacity: 1024,
      syncInlineBudgetMs: 1000,
      syncConcurrency: 4,
    });
    assert.ok(Object.isFrozen(DEFAULT_PLUGIN_CONFIG));
    assert.deepEqual(
      validateConfig({ groupPrefix: undefined, syncConcurrency: undefined }),
      validateConfig(),
    );
    const c = validateConfig({ cleanupOnStart: false, autoMount: false });
    assert.equal(c.cleanupOnStart, false);
    assert.equal(c.autoMount, false);
    assert.notEqual(c, DEFAULT_PLUGIN_CONFIG);
  });

  it("booleans must be booleans", () => {
    for (const field of ["cleanupOnStart", "autoMount"] as const) {
      refuses({ [field]: "true" }, field, /must be a boolean, got true/);
      refuses({ [field]: 1 }, field);
      refuses({ [field]: null }, field);
    }
  });
});

describe("validateConfig groupPrefix", () => {
  it(`accepts ${MAX_GROUP_PREFIX_LENGTH} characters, a leading digit, '-' and '_' after the first`, () => {
    for (const ok of ["p".repeat(MAX_GROUP_PREFIX_LENGTH), "9x", "a-_", "X", "infox", "tasks_"]) {
      assert.equal(validateConfig({ groupPrefix: ok }).groupPrefix, ok);
    }
  });

  it("refuses a non-string, a leading '-'/'_', odd characters and every reserved name", () => {
    refuses({ groupPrefix: 5 }, "groupPrefix", /non-empty string/);
    refuses({ groupPrefix: "" }, "groupPrefix", /non-empty string/);
    refuses({ groupPrefix: null }, "groupPrefix", /non-empty string/);
    refuses(
      { groupPrefix: "p".repeat(MAX_GROUP_PREFIX_LENGTH + 1) },
      "groupPrefix",
      /at most 32 characters, got 33/,
    );
    for (const bad of ["-x", "_x", "a b", "a.b", "pod\n", "é"]) {
      refuses({ groupPrefix: bad }, "groupPrefix", /must start with a letter or digit/);
    }
    for (const reserved of ["info", "mon_groups", "mon_data", "tasks", "cpus", "cpus_list", "schemata"]) {
      refuses({ groupPrefix: reserved }, "groupPrefix", /reserved name/);
    }
  });

  it("an unknown setting is refused by name, inherited Object properties included", () => {
    refuses(JSON.parse('{"__proto__": {"groupPrefix": ""}}') as Input, "__proto__", /unknown setting/);
    refuses({ ["constructor" as keyof ResctrlPluginConfig]: 1 }, "constructor", /unknown setting/);
    refuses(
      { groupPrefix: "pod_", ["toString" as keyof ResctrlPluginConfig]: 1 },
      "toString",
      /unknown setting/,
    );
  });
});
