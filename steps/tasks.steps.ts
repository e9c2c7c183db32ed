import { Given } from "@cucumber/cucumber";
import { need, type ScenarioWorld } from "../support/world.js";

Given(
  "the tasks of container {string} of pod {string} exit before they can be moved",
  async function (this: ScenarioWorld, c: string, pod: string) {
    await need(this, "scripted-pids").scriptTasks(pod, c, "vanishing");
  },
);

Given(
  "the tasks of container {string} of pod {string} no longer exit",
  async function (this: ScenarioWorld, c: string, pod: string) {
    await need(this, "scripted-pids").scriptTasks(pod, c, "steady");
  },
);

Given(
  "the PID source answers 0 besides the real tasks of container {string} of pod {string}",
  async function (this: ScenarioWorld, c: string, pod: string) {
    await need(this, "scripted-pids").scriptTasks(pod, c, "with-zero");
  },
);
