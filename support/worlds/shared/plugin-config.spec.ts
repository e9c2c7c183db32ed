import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { inProcessPluginConfig, mergeStartOptions } from "./plugin-config.js";

describe("inProcessPluginConfig", () => {
  it("passes the plugin switches and leaves the filters at the plugin's default when none is set", () => {
    assert.deepEqual(inProcessPluginConfig({ cleanupOnStart: false, retryIntervalMs: 0 }), {
      cleanupOnStart: false,
      autoMount: undefined,
      eventQueueCapacity: undefined,
    });
  });

  it("parses the filters as the daemon parses its flags, with the world's namespace names", () => {
    const cfg = inProcessPluginConfig(
      { excludeNamespaces: ["batch"], namespaces: ["web", "api"], podLabelSelector: "monitoring=on,!canary" },
      (n) => `scn-1-${n}`,
    );
    assert.deepEqual(cfg.podFilter?.namespaces, ["scn-1-web", "scn-1-api"]);
    assert.deepEqual(cfg.podFilter?.excludeNamespaces, ["scn-1-batch"]);
    assert.equal(cfg.podFilter?.podLabelSelector.length, 2);
    assert.throws(() => inProcessPluginConfig({ podLabelSelector: "a==b==c" }));
  });
});

describe("mergeStartOptions", () => {
  it("later fields win, undefined ones do not erase", () => {
    assert.deepEqual(
      mergeStartOptions(
        { retryIntervalMs: 1000, autoMount: false },
        { retryIntervalMs: 0, autoMount: undefined },
      ),
      { retryIntervalMs: 0, autoMount: false },
    );
  });
});
