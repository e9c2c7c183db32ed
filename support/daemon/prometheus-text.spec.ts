import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parsePrometheusText, samplesOf } from "./prometheus-text.js";

describe("parsePrometheusText", () => {
  it("reads samples with and without labels, skipping comments and blank lines", () => {
    const text = [
      "# HELP nri_resctrl_pods Pods the plugin monitors",
      "# TYPE nri_resctrl_pods gauge",
      'nri_resctrl_pods{group_state="exists"} 2',
      'nri_resctrl_pods{group_state="failed"} 0',
      "",
      "nri_resctrl_unmonitored_pods 1",
      'nri_resctrl_pod_mbm_total_bytes_total{pod_uid="u-1",pod_namespace="ns",pod_name="web"} 1.5e+07 1700000000000',
    ].join("\n");
    assert.deepEqual(parsePrometheusText(text), [
      { name: "nri_resctrl_pods", labels: { group_state: "exists" }, value: 2 },
      { name: "nri_resctrl_pods", labels: { group_state: "failed" }, value: 0 },
      { name: "nri_resctrl_unmonitored_pods", labels: {}, value: 1 },
      {
        name: "nri_resctrl_pod_mbm_total_bytes_total",
        labels: { pod_uid: "u-1", pod_namespace: "ns", pod_name: "web" },
        value: 15_000_000,
      },
    ]);
  });

  it("unescapes label values and reads NaN and infinities in any case (prom-client writes Nan)", () => {
    const [a, b, c, d] = parsePrometheusText(
      ['m{v="a\\"b\\\\c\\nd",w="x,y}"} Nan', 'm{le="+Inf"} +Inf', "m -inf", 'm{ a = "1" , } 3'].join("\n"),
    );
    assert.deepEqual(a?.labels, { v: 'a"b\\c\nd', w: "x,y}" });
    assert.ok(Number.isNaN(a?.value));
    assert.equal(b?.value, Infinity);
    assert.equal(c?.value, -Infinity);
    assert.deepEqual(d, { name: "m", labels: { a: "1" }, value: 3 });
  });

  it("names the line it cannot read", () => {
    assert.throws(() => parsePrometheusText("ok 1\nbad{x=1} 2"), /line 2 .*bad\{x=1\} 2.*="value"/);
    assert.throws(() => parsePrometheusText('m{x="1"} one'), /bad value "one"/);
    assert.throws(() => parsePrometheusText('m{x="1} 2'), /unterminated/);
    assert.throws(() => parsePrometheusText('{x="1"} 2'), /no metric name/);
  });
});

describe("samplesOf", () => {
  it("selects by name and by every given label", () => {
    const s = parsePrometheusText('a{p="1",q="x"} 1\na{p="2"} 2\nb{p="1"} 3');
    assert.deepEqual(
      samplesOf(s, "a", { p: "1" }).map((x) => x.value),
      [1],
    );
    assert.deepEqual(
      samplesOf(s, "a").map((x) => x.value),
      [1, 2],
    );
    assert.deepEqual(samplesOf(s, "a", { p: "1", q: "y" }), []);
  });
});
