// validateConfig: defaults, every bound accepted at its limit and refused one past it, the prefix
// rules one by one, undefined meaning "default", and the error naming field, range and value.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  DEFAULT_MAX_RECONCILE_PASSES,
  DEFAULT_PLUGIN_CONFIG,
  MAX_GROUP_PREFIX_LENGTH,
  MAX_RECONCILE_PASSES_LIMIT,
  validateConfig,
  type ResctrlPluginConfig,
} from "./config.js";
import { InvalidPluginConfigError } from "./errors.js";

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

describe("validateConfig defaults", () => {
  it("defaults: every field, the named constants, the frozen default object, and undefined meaning 'default'", () => {
    assert.deepEqual(validateConfig(), {
      groupPrefix: "pod_",
      cleanupOnStart: true,
      autoMount: true,
      maxReconcilePasses: 3,
      eventQueueCapacity: 1024,
      syncInlineBudgetMs: 0,
      syncConcurrency: 4,
      podFilter: { namespaces: [], excludeNamespaces: [], podLabelSelector: [] },
      followRdtClasses: false,
    });
    const d = validateConfig();
    assert.equal(d.groupPrefix, "pod_");
    assert.equal(d.cleanupOnStart, true);
    assert.equal(d.autoMount, true);
    assert.equal(d.maxReconcilePasses, DEFAULT_MAX_RECONCILE_PASSES);
    assert.equal(d.eventQueueCapacity, 1024);
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
});

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
});

describe("validateConfig errors", () => {
  for (const [name, bad, field] of [
    ["empty prefix", { groupPrefix: "" }, "groupPrefix"],
    ["slash in prefix", { groupPrefix: "a/b" }, "groupPrefix"],
    ["dot prefix", { groupPrefix: ".." }, "groupPrefix"],
    ["long prefix", { groupPrefix: "p".repeat(33) }, "groupPrefix"],
    ["reserved prefix", { groupPrefix: "info" }, "groupPrefix"],
    ["0 passes", { maxReconcilePasses: 0 }, "maxReconcilePasses"],
    ["fractional passes", { maxReconcilePasses: 1.5 }, "maxReconcilePasses"],
    ["0 capacity", { eventQueueCapacity: 0 }, "eventQueueCapacity"],
    ["string bool", { autoMount: "yes" }, "autoMount"],
    ["unknown key", { bogus: 1 }, "bogus"],
  ] as const) {
    it(`rejects ${name} with a message naming ${field}`, () => {
      assert.throws(
        () => validateConfig(bad as never),
        (e: unknown) =>
          e instanceof InvalidPluginConfigError && e.field === field && e.message.includes(field),
      );
    });
  }

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

describe("validateConfig podFilter", () => {
  it("accepts a filter with the three arrays", () => {
    const podFilter = { namespaces: ["a"], excludeNamespaces: ["b"], podLabelSelector: [] };
    assert.deepEqual(validateConfig({ podFilter }).podFilter, podFilter);
  });

  it("refuses null, a non-object and a filter missing any of its arrays", () => {
    const arrays = { namespaces: [], excludeNamespaces: [], podLabelSelector: [] };
    const bad: unknown[] = [
      null,
      "x",
      5,
      {},
      { ...arrays, namespaces: "a" },
      { ...arrays, excludeNamespaces: undefined },
      { ...arrays, podLabelSelector: {} },
    ];
    for (const podFilter of bad) {
      refuses({ podFilter }, "podFilter", /namespaces, excludeNamespaces and podLabelSelector arrays/);
    }
  });
});
