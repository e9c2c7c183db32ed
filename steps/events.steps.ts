import { Then } from "@cucumber/cucumber";
import { expect } from "chai";
import { describeEvent, matches, QUIET_PERIOD_MS, type ScenarioWorld } from "../support/world.js";

type G = "Exists" | "Failed";

Then(
  "pod {string} first reports group {group} with {int} of {int} containers reconciled",
  async function (this: ScenarioWorld, pod: string, group: G, reconciled: number, total: number) {
    const first = this.acknowledge(await this.port.waitForEvent(pod, () => true, this.timeoutMs));
    expect(describeEvent(first)).to.equal(`${pod}: ${group} ${reconciled} of ${total}`);
  },
);

Then(
  "pod {string} eventually reports group {group} with {int} of {int} containers reconciled",
  async function (this: ScenarioWorld, pod: string, group: G, reconciled: number, total: number) {
    await this.eventually(pod, group, reconciled, total);
  },
);

Then(
  "pods {names} eventually report group {group} with {int} of {int} containers reconciled",
  async function (this: ScenarioWorld, pods: string[], group: G, reconciled: number, total: number) {
    await Promise.all(pods.map((pod) => this.eventually(pod, group, reconciled, total)));
  },
);

Then(
  "every pod eventually reports group Exists with all its containers reconciled",
  async function (this: ScenarioWorld) {
    expect(this.declaredPods.size, "pods declared by the scenario").to.be.greaterThan(0);
    await Promise.all(
      [...this.declaredPods].map(([pod, cs]) => this.eventually(pod, "Exists", cs.length, cs.length)),
    );
  },
);

Then(
  "pod {string} reports no further event within {int} ms",
  async function (this: ScenarioWorld, pod: string, ms: number) {
    await this.port.assertNoEventWithin(pod, ms);
    expect(
      this.unacknowledged(pod).map(describeEvent),
      "events after the last one a step waited for",
    ).to.deep.equal([]);
  },
);

Then(
  "pod {string} never reported {int} of {int} containers reconciled twice",
  function (this: ScenarioWorld, pod: string, reconciled: number, total: number) {
    const same = this.port
      .events(pod)
      .filter((e) => matches(e, "Exists", reconciled, total) || matches(e, "Failed", reconciled, total));
    expect(same.map(describeEvent)).to.have.lengthOf(1);
  },
);

Then("the reconciled count of pod {string} never decreased", function (this: ScenarioWorld, pod: string) {
  const counts = this.port.events(pod).flatMap((e) => (e.kind === "AddOrUpdate" ? [e.reconciled] : []));
  expect(counts, "reconciled counts in event order").to.have.length.greaterThan(0);
  expect(counts, "reconciled counts in event order").to.deep.equal([...counts].sort((a, b) => a - b));
});

Then("pod {string} is eventually reported removed", async function (this: ScenarioWorld, pod: string) {
  await this.eventuallyMatching(pod, (e) => e.kind === "Removed");
});

Then("pods {names} are eventually reported removed", async function (this: ScenarioWorld, pods: string[]) {
  await Promise.all(pods.map((pod) => this.eventuallyMatching(pod, (e) => e.kind === "Removed")));
});

/** "<pod>: <group kind>" of the pod's newest event, its full description if Removed, "<pod>: none" if none. */
function lastGroupKind(w: ScenarioWorld, pod: string): string {
  const e = w.port.events(pod).at(-1);
  return e?.kind === "AddOrUpdate" ? `${pod}: ${e.group.kind}` : e ? describeEvent(e) : `${pod}: none`;
}

Then("pods {names} still report group Failed", async function (this: ScenarioWorld, pods: string[]) {
  await this.settle(QUIET_PERIOD_MS); // an event the last action caused must have time to arrive
  expect(pods.map((p) => lastGroupKind(this, p))).to.deep.equal(pods.map((p) => `${p}: Failed`));
});

Then("no pod event was emitted", async function (this: ScenarioWorld) {
  await this.settle(QUIET_PERIOD_MS);
  expect(this.port.allEvents().map(describeEvent)).to.deep.equal([]);
});

Then(
  "that produced exactly one event for pod {string}: group {group} with {int} of {int} containers reconciled",
  async function (this: ScenarioWorld, pod: string, group: G, reconciled: number, total: number) {
    await this.expectExactlyOneEventSinceMark(pod, group, reconciled, total);
  },
);

// ---- what the sweep does on its own -----------------------------------------------------------

Then(
  "pod {string} is reported removed within one sweep interval",
  async function (this: ScenarioWorld, pod: string) {
    await this.withinOneSweep(pod, (e) => e.kind === "Removed");
  },
);

Then(
  "pod {string} reports group {group} with {int} of {int} containers reconciled within one sweep interval",
  async function (this: ScenarioWorld, pod: string, group: G, reconciled: number, total: number) {
    await this.withinOneSweep(pod, (e) => matches(e, group, reconciled, total));
  },
);

Then("pod {string} reported no event", async function (this: ScenarioWorld, pod: string) {
  await this.settle(QUIET_PERIOD_MS); // an event the last action caused must have time to arrive
  expect(this.port.events(pod).map(describeEvent), `events of pod ${pod}`).to.deep.equal([]);
});
