import { Given, Then, When } from "@cucumber/cucumber";
import { expect } from "chai";
import { need, type ScenarioWorld } from "../support/world.js";
import { containers } from "./helpers.js";

// ---- containers that exit, crash, restart, stop (the node's everyday life) --------------------

When(
  "container {string} of pod {string} crashes",
  async function (this: ScenarioWorld, c: string, pod: string) {
    await this.port.exitContainer(pod, c, "crash");
  },
);

When(
  "container {string} of pod {string} completes",
  async function (this: ScenarioWorld, c: string, pod: string) {
    await this.port.exitContainer(pod, c, "complete");
  },
);

When(
  "the kubelet restarts container {string} of pod {string}",
  async function (this: ScenarioWorld, c: string, pod: string) {
    await this.port.restartContainer(pod, c);
  },
);

When(
  "container {string} of pod {string} is stopped",
  async function (this: ScenarioWorld, c: string, pod: string) {
    await this.port.stopContainer(pod, c);
  },
);

When(
  "the debug session of ephemeral container {string} in pod {string} ends",
  async function (this: ScenarioWorld, c: string, pod: string) {
    await this.port.exitContainer(pod, c, "complete");
  },
);

When(
  "pod {string} starts with init container {string} that completes, then container {string}",
  async function (this: ScenarioWorld, pod: string, init: string, c: string) {
    await this.port.runPodWithInitContainers(pod, [init], containers([c]));
  },
);

When(
  "the plugin starts while container {string} of pod {string} exits",
  async function (this: ScenarioWorld, c: string, pod: string) {
    await this.port.startPluginWhileContainerExits(pod, c);
  },
);

Then(
  "the plugin's state shows pod {string} with {int} of {int} containers reconciled",
  async function (this: ScenarioWorld, pod: string, reconciled: number, total: number) {
    const view = (await this.port.snapshot()).find((v) => v.pod === pod);
    expect(view, `pod ${pod} in the plugin's state`).to.not.equal(undefined);
    expect(`${view?.reconciled} of ${view?.total}`, `pod ${pod} in the plugin's state`).to.equal(
      `${reconciled} of ${total}`,
    );
  },
);

// ---- a runtime that is not there yet (@late-runtime) ----------------------------------------

Given("the plugin is started while the runtime is down", async function (this: ScenarioWorld) {
  await need(this, "late-runtime").startPluginBeforeRuntime();
});

When("the runtime comes up", async function (this: ScenarioWorld) {
  await need(this, "late-runtime").startRuntime();
});

Then("the plugin logged that it waits for the runtime", async function (this: ScenarioWorld) {
  const lines = await this.port.logLines({ msgIncludes: "waiting for the runtime" });
  expect(lines.length, "log lines saying the plugin waits for the runtime").to.be.greaterThan(0);
  const stacks = lines.filter((l) => JSON.stringify(l).includes("    at "));
  expect(stacks, "waiting lines with a stack trace").to.deep.equal([]);
});
