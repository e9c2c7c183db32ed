import { Then, type DataTable } from "@cucumber/cucumber";
import { expect } from "chai";
import { samplesOf } from "../support/daemon/prometheus-text.js";
import { need, type ScenarioWorld } from "../support/world.js";
import type { MetricSample, PodIdentity } from "../support/worlds/types.js";

/** The plugin's per-pod metrics this file reads (dashboards rely on the names; src/metrics/metric-names.ts). */
const LLC_OCCUPANCY = "nri_resctrl_pod_llc_occupancy_bytes";
const MBM_TOTAL = "nri_resctrl_pod_mbm_total_bytes_total";
/** A metric every scrape of the plugin has, pods or not: proves a scrape with no pod series was a real one. */
const PODS_GAUGE = "nri_resctrl_pods";
const UNMONITORED = "nri_resctrl_unmonitored_pods";

/** The samples of `metric` that belong to the pod (its UID label). */
function podSamples(samples: readonly MetricSample[], metric: string, who: PodIdentity): MetricSample[] {
  return samplesOf(samples, metric, { pod_uid: who.uid });
}

/** The pod's single sample of `metric` in a fresh scrape (undefined when it has none). */
async function podValue(w: ScenarioWorld, metric: string, who: PodIdentity): Promise<number | undefined> {
  const found = podSamples(await need(w, "metrics-endpoint").scrapeMetrics(), metric, who);
  expect(found.length, `${metric} series of pod ${who.namespace}/${who.name}`).to.be.at.most(1);
  return found[0]?.value;
}

Then(
  "the metrics endpoint eventually has these series for pod {string}, labelled with its UID, name and namespace:",
  async function (this: ScenarioWorld, pod: string, table: DataTable) {
    const endpoint = need(this, "metrics-endpoint");
    const who = await endpoint.podIdentity(pod);
    const metrics = table
      .raw()
      .flat()
      .map((m) => m.trim())
      .filter(Boolean);
    expect(metrics, "metric names in the table").to.not.deep.equal([]);
    const missing = (samples: MetricSample[]): string[] =>
      metrics.filter((m) => podSamples(samples, m, who).length !== 1);
    const samples = await this.until(
      () => endpoint.scrapeMetrics(),
      (s) => missing(s).length === 0,
    );
    expect(
      missing(samples),
      `series of pod ${pod} (uid ${who.uid}) missing on the metrics endpoint`,
    ).to.deep.equal([]);
    for (const m of metrics) {
      const { labels } = podSamples(samples, m, who)[0]!;
      expect(
        { pod_name: labels.pod_name, pod_namespace: labels.pod_namespace },
        `labels of ${m}`,
      ).to.deep.equal({
        pod_name: who.name,
        pod_namespace: who.namespace,
      });
    }
  },
);

Then(
  "the metrics endpoint reports an LLC occupancy above {int} bytes for pod {string}",
  async function (this: ScenarioWorld, floor: number, pod: string) {
    const who = await need(this, "metrics-endpoint").podIdentity(pod);
    const value = await this.until(
      () => podValue(this, LLC_OCCUPANCY, who),
      (v) => v !== undefined && v > floor,
    );
    expect(value, `${LLC_OCCUPANCY} of pod ${pod}`).to.be.a("number").and.above(floor);
  },
);

Then(
  "the memory bandwidth counter of pod {string} grows between two scrapes",
  async function (this: ScenarioWorld, pod: string) {
    const who = await need(this, "metrics-endpoint").podIdentity(pod);
    const first = await podValue(this, MBM_TOTAL, who);
    expect(first, `${MBM_TOTAL} of pod ${pod} in the first scrape`).to.be.a("number");
    // The plugin caches its readings for a moment: scrape again until the counter moved (or the deadline).
    const second = await this.until(
      () => podValue(this, MBM_TOTAL, who),
      (v) => v !== undefined && v > first!,
    );
    expect(second, `${MBM_TOTAL} of pod ${pod} in a later scrape (first: ${first})`)
      .to.be.a("number")
      .and.above(first!);
  },
);

Then(
  "the metrics endpoint eventually has no series for pod {string}",
  async function (this: ScenarioWorld, pod: string) {
    const endpoint = need(this, "metrics-endpoint");
    const who = await endpoint.podIdentity(pod);
    const ofPod = (s: MetricSample[]): string[] =>
      s.filter((x) => x.labels.pod_uid === who.uid).map((x) => x.name);
    const samples = await this.until(
      () => endpoint.scrapeMetrics(),
      (s) => ofPod(s).length === 0,
    );
    expect(samplesOf(samples, PODS_GAUGE).length, `${PODS_GAUGE} in the scrape`).to.be.greaterThan(0);
    expect(ofPod(samples), `series of pod ${pod} (uid ${who.uid})`).to.deep.equal([]);
  },
);

Then("the metrics endpoint counts {int} unmonitored pod(s)", async function (this: ScenarioWorld, n: number) {
  const endpoint = need(this, "metrics-endpoint");
  const count = async (): Promise<number | undefined> =>
    samplesOf(await endpoint.scrapeMetrics(), UNMONITORED)[0]?.value;
  expect(await this.until(count, (v) => v === n), UNMONITORED).to.equal(n);
});

// ---- probes -----------------------------------------------------------------------------------

Then(
  "the readiness probe answers {int} saying {string}",
  async function (this: ScenarioWorld, status: number, text: string) {
    const a = await need(this, "metrics-endpoint").probe("/readyz");
    expect(`${a.status} ${a.body.trim()}`, "GET /readyz").to.include(`${status} `).and.include(text);
  },
);

Then("the readiness probe eventually answers {int}", async function (this: ScenarioWorld, status: number) {
  const endpoint = need(this, "metrics-endpoint");
  const a = await this.until(
    () => endpoint.probe("/readyz"),
    (x) => x.status === status,
  );
  expect(`${a.status} ${a.body.trim()}`, "GET /readyz").to.match(new RegExp(`^${status} `));
});

Then("the health probe answers {int}", async function (this: ScenarioWorld, status: number) {
  const a = await need(this, "metrics-endpoint").probe("/healthz");
  expect(a.status, `GET /healthz (body ${JSON.stringify(a.body)})`).to.equal(status);
});
