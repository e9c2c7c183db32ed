import { Given, Then, When } from "@cucumber/cucumber";
import { expect } from "chai";
import { need, type ScenarioWorld } from "../support/world.js";

Given("no monitoring group can be created for lack of RMIDs", async function (this: ScenarioWorld) {
  await need(this, "fault-injection").injectCapacityExhaustion();
});

Given("RMIDs are freed", async function (this: ScenarioWorld) {
  await need(this, "fault-injection").freeCapacity();
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
    expect(await need(this, "fs-audit").groupCreationAttemptsDuringLastRetry()).to.equal(n);
  },
);

// ---- RMID limbo (@rmid-limbo) ------------------------------------------------------------------

Given("RMIDs are freed but still in limbo", async function (this: ScenarioWorld) {
  await need(this, "rmid-limbo").freeCapacityIntoLimbo();
});

Given("the freed RMIDs have drained from limbo", async function (this: ScenarioWorld) {
  await need(this, "rmid-limbo").drainRmidLimbo();
});

Then("the retry fails with a capacity error saying the RMIDs are in limbo", function (this: ScenarioWorld) {
  expect(this.lastRetry, "outcome of the last retry").to.deep.include({
    ok: false,
    error: "capacity",
    limbo: true,
  });
});

Then("the retry fails with a capacity error saying the RMIDs are exhausted", function (this: ScenarioWorld) {
  expect(this.lastRetry, "outcome of the last retry").to.deep.include({ ok: false, error: "capacity" });
  expect(this.lastRetry, "outcome of the last retry").to.not.have.property("limbo");
});

Then(
  "the plugin reported that pod {string} waits for RMIDs in limbo",
  async function (this: ScenarioWorld, pod: string) {
    const lines = await this.port.logLines({ msgIncludes: "failed to create group" });
    const reasons = lines.map((l) => String(l.reason ?? ""));
    expect(
      reasons.some((r) => r.startsWith("RMIDs in limbo")),
      `reasons logged for ${pod}: ${reasons.join(" | ")}`,
    ).to.equal(true);
  },
);
