import { Given, When } from "@cucumber/cucumber";
import { need, type ScenarioWorld } from "../support/world.js";

Given("the plugin is running", async function (this: ScenarioWorld) {
  await this.port.startPlugin();
});

When("the plugin starts", async function (this: ScenarioWorld) {
  await this.port.startPlugin();
});

When("the plugin starts with cleanup on start", async function (this: ScenarioWorld) {
  await this.port.startPlugin({ cleanupOnStart: true });
});

When("the plugin starts without cleanup on start", async function (this: ScenarioWorld) {
  await this.port.startPlugin({ cleanupOnStart: false });
});

When("the plugin starts with auto-mount {on-off}", async function (this: ScenarioWorld, autoMount: boolean) {
  await this.port.startPlugin({ autoMount });
});

When(
  "the plugin starts with cleanup on start and the runtime synchronizes {int} pod(s) per chunk",
  async function (this: ScenarioWorld, syncChunkSize: number) {
    await need(this, "scripted-runtime").startPluginWithChunkedSync(syncChunkSize, { cleanupOnStart: true });
  },
);

Given(
  "the plugin is running with an event queue of {int} event(s)",
  async function (this: ScenarioWorld, eventQueueCapacity: number) {
    await this.port.startPlugin({ eventQueueCapacity });
  },
);

// ---- how the plugin is configured: its sweep, its pod filters --------------------------------

Given("the plugin sweeps every {int} second(s)", function (this: ScenarioWorld, seconds: number) {
  this.sweepIntervalMs = seconds * 1000;
  this.port.configurePlugin({ retryIntervalMs: this.sweepIntervalMs });
});

Given("the plugin sweeps only when the operator asks", function (this: ScenarioWorld) {
  this.sweepIntervalMs = 0;
  this.port.configurePlugin({ retryIntervalMs: 0 });
});

Given("the plugin monitors every namespace except {names}", function (this: ScenarioWorld, ns: string[]) {
  this.port.configurePlugin({ excludeNamespaces: ns });
});

Given("the plugin monitors only namespace(s) {names}", function (this: ScenarioWorld, ns: string[]) {
  this.port.configurePlugin({ namespaces: ns });
});

Given("the plugin monitors only pods labelled {string}", function (this: ScenarioWorld, selector: string) {
  this.port.configurePlugin({ podLabelSelector: selector });
});

// ---- RDT classes (docs/plugin.md, "RDT classes") ------------------------------------------------

Given("the plugin follows RDT classes", function (this: ScenarioWorld) {
  this.port.configurePlugin({ followRdtClasses: true });
});

Given("the plugin does not follow RDT classes", function (this: ScenarioWorld) {
  this.port.configurePlugin({ followRdtClasses: false });
});
