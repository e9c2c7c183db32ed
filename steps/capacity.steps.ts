import { Given, Then, When } from "@cucumber/cucumber";
import { expect } from "chai";
import type { ScenarioWorld } from "../support/world.js";

Given("no monitoring group can be created for lack of RMIDs", async function (this: ScenarioWorld) {
  await this.port.injectCapacityExhaustion();
});

Given("RMIDs are freed", async function (this: ScenarioWorld) {
  await this.port.freeCapacity();
});

When(
  "the operator retries group creation for pod {string}",
  async function (this: ScenarioWorld, pod: string) {
    this.mark(pod);
    this.lastRetry = await this.port.retryGroupCreation(pod);
  },
);

When(
  "the operator retries container {string} of pod {string}",
  async function (this: ScenarioWorld, c: string, pod: string) {
    this.mark(pod);
    this.lastRetry = await this.port.retryContainer(pod, c);
  },
);

When("the operator runs one retry sweep", async function (this: ScenarioWorld) {
  this.lastRetry = await this.port.retryAllOnce();
});

Then("the retry fails with a capacity error", function (this: ScenarioWorld) {
  expect(this.lastRetry, "outcome of the last retry").to.deep.include({ ok: false, error: "capacity" });
});

Then("the retry succeeds", function (this: ScenarioWorld) {
  expect(this.lastRetry, "outcome of the last retry").to.deep.include({ ok: true });
});

Then(
  "the retry sweep attempted exactly {int} group creation(s)",
  async function (this: ScenarioWorld, n: number) {
    expect(await this.port.groupCreationAttemptsDuringLastRetry()).to.equal(n);
  },
);
