import { Given, Then, When } from "@cucumber/cucumber";
import { expect } from "chai";
import { need, type ScenarioWorld } from "../support/world.js";

Given("a consumer that does not read its events", async function (this: ScenarioWorld) {
  await need(this, "event-backpressure").stallConsumer();
});

Then("the plugin has dropped some events", async function (this: ScenarioWorld) {
  expect(await this.port.droppedEvents(), "events dropped by the plugin").to.be.greaterThan(0);
});

When("the consumer resynchronizes from a snapshot", async function (this: ScenarioWorld) {
  await need(this, "event-backpressure").resyncConsumer();
});

Then(
  "the consumer sees pods {names} with group {group} and {int} of {int} containers reconciled",
  async function (
    this: ScenarioWorld,
    pods: string[],
    group: "Exists" | "Failed",
    reconciled: number,
    total: number,
  ) {
    const view = (await need(this, "event-backpressure").consumerView())
      .map((v) => `${v.pod}: ${v.group.kind} ${v.reconciled} of ${v.total}`)
      .sort();
    expect(view).to.deep.equal(pods.map((p) => `${p}: ${group} ${reconciled} of ${total}`).sort());
  },
);

Then(
  "the consumer eventually sees only pod(s) {names}",
  async function (this: ScenarioWorld, pods: string[]) {
    const consumer = need(this, "event-backpressure");
    const seen = async () => (await consumer.consumerView()).map((v) => v.pod).sort();
    expect(
      await this.until(seen, (s) => JSON.stringify(s) === JSON.stringify([...pods].sort())),
    ).to.deep.equal([...pods].sort());
  },
);
