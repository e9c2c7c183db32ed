import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseCliOptions } from "../../src/cli.js";
import { daemonArgs, DEFAULT_HTTP_LISTEN, type DaemonOptions } from "./daemon-args.js";

const base: DaemonOptions = {
  nriSocket: "/run/nri.sock",
  pluginName: "resctrl",
  pluginIdx: "10",
  groupPrefix: "s1_",
  resctrlRoot: "/sys/fs/resctrl",
  controlSocket: "/run/c.sock",
};

describe("daemonArgs", () => {
  it("passes no --retry-interval unless asked: the daemon's default is what users get", () => {
    assert.equal(daemonArgs(base).includes("--retry-interval"), false);
    assert.equal(parseCliOptions(daemonArgs(base), {}).retryIntervalMs, 10_000);
  });

  it("maps the sweep interval, the HTTP endpoint and the pod filters to flags the daemon parses", () => {
    const args = daemonArgs({
      ...base,
      retryIntervalMs: 1000,
      httpListen: DEFAULT_HTTP_LISTEN,
      namespaces: ["a", "b"],
      excludeNamespaces: ["kube-system"],
      podLabelSelector: "monitoring=on",
      nodeName: "node-1",
    });
    const o = parseCliOptions(args, {});
    assert.equal(o.retryIntervalMs, 1000);
    assert.equal(o.httpListen, "127.0.0.1:0");
    assert.equal(o.nodeName, "node-1");
    assert.deepEqual(o.plugin.podFilter.namespaces, ["a", "b"]);
    assert.deepEqual(o.plugin.podFilter.excludeNamespaces, ["kube-system"]);
    assert.equal(o.plugin.podFilter.podLabelSelector.length, 1);
    assert.equal(parseCliOptions(daemonArgs({ ...base, retryIntervalMs: 0 }), {}).retryIntervalMs, 0);
  });

  it("maps followRdtClasses to --[no-]follow-rdt-classes, and leaves it out when unset", () => {
    assert.equal(parseCliOptions(daemonArgs(base), {}).plugin.followRdtClasses, false);
    assert.equal(
      daemonArgs(base).some((a) => a.includes("follow-rdt-classes")),
      false,
      "unset: the daemon's default",
    );
    const on = daemonArgs({ ...base, followRdtClasses: true });
    assert.ok(on.includes("--follow-rdt-classes"));
    assert.equal(parseCliOptions(on, {}).plugin.followRdtClasses, true);
    const off = daemonArgs({ ...base, followRdtClasses: false });
    assert.equal(
      parseCliOptions(off, { NRI_RESCTRL_FOLLOW_RDT_CLASSES: "true" }).plugin.followRdtClasses,
      false,
      "the flag beats the environment",
    );
  });

  it("leaves empty filter lists out", () => {
    const args = daemonArgs({ ...base, namespaces: [], excludeNamespaces: [] });
    assert.equal(args.includes("--namespaces") || args.includes("--exclude-namespaces"), false);
  });
});
