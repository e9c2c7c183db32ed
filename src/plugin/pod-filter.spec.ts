// Which pods get a group: namespace lists and the equality-based label selector.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  SELECT_ALL,
  describeFilter,
  parseLabelSelector,
  parseNamespaceList,
  podSelected,
  selectsAll,
  type PodFilterConfig,
} from "./pod-filter.js";
import { InvalidPluginConfigError } from "./errors.js";

const pod = (namespace: string, labels: Record<string, string> = {}) => ({ namespace, labels });
const filter = (f: Partial<PodFilterConfig>): PodFilterConfig => ({ ...SELECT_ALL, ...f });

describe("parseLabelSelector", () => {
  it("parses =, ==, !=, key and !key, trimming blanks", () => {
    assert.deepEqual(parseLabelSelector(" app = web, tier==db ,env!=dev, monitored, !skip "), [
      { key: "app", op: "=", value: "web" },
      { key: "tier", op: "=", value: "db" },
      { key: "env", op: "!=", value: "dev" },
      { key: "monitored", op: "exists" },
      { key: "skip", op: "!exists" },
    ]);
    assert.deepEqual(parseLabelSelector("example.com/team=a-b_c.d"), [
      { key: "example.com/team", op: "=", value: "a-b_c.d" },
    ]);
    assert.deepEqual(parseLabelSelector(""), []);
    assert.deepEqual(parseLabelSelector("k="), [{ key: "k", op: "=", value: "" }]);
  });
  it("rejects what kubectl rejects, naming the part", () => {
    for (const bad of ["=v", "a b=c", "k=v v", "k=-v", "!", "k in (a)", "a=b,,", `k=${"x".repeat(64)}`]) {
      assert.throws(() => parseLabelSelector(bad), InvalidPluginConfigError, bad);
    }
    assert.throws(() => parseLabelSelector("a=b,c d"), /podLabelSelector: "c d"/);
  });
});

describe("parseNamespaceList", () => {
  it("splits on commas, drops blanks, rejects non-names", () => {
    assert.deepEqual(parseNamespaceList("namespaces", "a, kube-system,,b"), ["a", "kube-system", "b"]);
    assert.deepEqual(parseNamespaceList("namespaces", ""), []);
    assert.throws(() => parseNamespaceList("excludeNamespaces", "Kube"), /excludeNamespaces: "Kube"/);
    assert.throws(() => parseNamespaceList("namespaces", "a/b"), InvalidPluginConfigError);
  });
});

describe("podSelected", () => {
  it("selects every pod without filters", () => {
    assert.equal(selectsAll(SELECT_ALL), true);
    assert.equal(podSelected(SELECT_ALL, pod("anything", { a: "b" })), true);
    assert.equal(describeFilter(SELECT_ALL), "every pod");
  });
  it("namespaces allow-list and exclude-list (exclude wins)", () => {
    const f = filter({ namespaces: ["a", "b"], excludeNamespaces: ["b"] });
    assert.equal(selectsAll(f), false);
    assert.equal(podSelected(f, pod("a")), true);
    assert.equal(podSelected(f, pod("b")), false);
    assert.equal(podSelected(f, pod("c")), false);
    assert.equal(podSelected(filter({ excludeNamespaces: ["kube-system"] }), pod("c")), true);
    assert.equal(podSelected(filter({ excludeNamespaces: ["kube-system"] }), pod("kube-system")), false);
  });
  it("every label requirement must hold; != and !key match pods without the label", () => {
    const f = filter({ podLabelSelector: parseLabelSelector("app=web,env!=dev,!skip,team") });
    assert.equal(podSelected(f, pod("x", { app: "web", team: "t" })), true);
    assert.equal(podSelected(f, pod("x", { app: "web", team: "t", env: "prod" })), true);
    assert.equal(podSelected(f, pod("x", { app: "web", team: "t", env: "dev" })), false);
    assert.equal(podSelected(f, pod("x", { app: "web", team: "t", skip: "" })), false);
    assert.equal(podSelected(f, pod("x", { app: "web" })), false);
    assert.equal(podSelected(f, pod("x", { app: "db", team: "t" })), false);
    assert.equal(podSelected(f, pod("x", { team: "t" })), false);
    // an inherited property is not a label
    assert.equal(
      podSelected(filter({ podLabelSelector: [{ key: "toString", op: "exists" }] }), pod("x")),
      false,
    );
    assert.equal(
      describeFilter(
        filter({
          namespaces: ["a"],
          excludeNamespaces: ["b"],
          podLabelSelector: parseLabelSelector("k=v,e,!n,x!=y"),
        }),
      ),
      "namespaces=a exclude-namespaces=b labels=k=v,e,!n,x!=y",
    );
  });
});

describe("parseLabelSelector: edges", () => {
  it("a one-character key prefix, a blank selector, '! key' and a 63-character value are accepted", () => {
    assert.deepEqual(parseLabelSelector("x/k=v"), [{ key: "x/k", op: "=", value: "v" }]);
    assert.deepEqual(parseLabelSelector("   "), []);
    assert.deepEqual(parseLabelSelector("! skip"), [{ key: "skip", op: "!exists" }]);
    const v63 = "v".repeat(63);
    assert.deepEqual(parseLabelSelector(`k=${v63}`), [{ key: "k", op: "=", value: v63 }]);
  });
  it("rejects a negated requirement with a value and a value running onto a second line", () => {
    assert.throws(() => parseLabelSelector("!a=b"), /podLabelSelector: "!a=b"/);
    assert.throws(() => parseLabelSelector("k=v\nx"), InvalidPluginConfigError);
  });
});

describe("parseNamespaceList: length", () => {
  it("accepts a 63-character name and refuses a 64-character one", () => {
    const n63 = "n".repeat(63);
    assert.deepEqual(parseNamespaceList("namespaces", n63), [n63]);
    assert.throws(
      () => parseNamespaceList("namespaces", `${n63}n`),
      /namespaces: "n{64}" is not a namespace name/,
    );
  });
});

describe("describeFilter: only the parts that are set", () => {
  it("names each list alone, without empty parts", () => {
    assert.equal(describeFilter(filter({ namespaces: ["a", "b"] })), "namespaces=a,b");
    assert.equal(
      describeFilter(filter({ excludeNamespaces: ["kube-system"] })),
      "exclude-namespaces=kube-system",
    );
    assert.equal(describeFilter(filter({ podLabelSelector: parseLabelSelector("!n") })), "labels=!n");
  });
});
