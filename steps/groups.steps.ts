import { Given, Then, type DataTable } from "@cucumber/cucumber";
import { expect } from "chai";
import { need, pluginErrorLines, type ScenarioWorld } from "../support/world.js";
import { cleanupCounters } from "./log-records.js";
import { directChildOf, seedTable } from "./helpers.js";

// ---- a pod's group and its tasks -------------------------------------------------------------

/** Asserts that the group of `pod` holds exactly its containers' tasks, and that there are some. */
async function expectContainerTasksInGroup(w: ScenarioWorld, pod: string): Promise<void> {
  const [actual, expected] = await Promise.all([w.port.tasksOf(pod), w.port.expectedTasksOf(pod)]);
  expect(expected, `tasks expected in the group of ${pod}`).to.have.length.greaterThan(0);
  expect(actual, `tasks in the group of ${pod}`).to.deep.equal(expected);
}

Then(
  "the group of pod {string} holds exactly the tasks of its containers",
  async function (this: ScenarioWorld, pod: string) {
    await expectContainerTasksInGroup(this, pod);
  },
);

Then(
  "the group of every pod holds exactly the tasks of its containers",
  async function (this: ScenarioWorld) {
    expect(this.declaredPods.size, "pods declared by the scenario").to.be.greaterThan(0);
    await Promise.all([...this.declaredPods.keys()].map((p) => expectContainerTasksInGroup(this, p)));
  },
);

Then("the group of pod {string} exists on disk", async function (this: ScenarioWorld, pod: string) {
  const g = await this.port.groupOf(pod);
  expect(g.existsOnDisk, `group of ${pod} at ${String(g.path)}`).to.equal(true);
});

Then("the groups of pods {names} exist on disk", async function (this: ScenarioWorld, pods: string[]) {
  const groups = await Promise.all(pods.map((p) => this.port.groupOf(p)));
  expect(groups.map((g, i) => `${pods[i]}: ${g.existsOnDisk}`)).to.deep.equal(pods.map((p) => `${p}: true`));
});

Then("pod {string} has no group on disk", async function (this: ScenarioWorld, pod: string) {
  const g = await this.port.groupOf(pod);
  expect({ reported: g.reported?.kind, onDisk: g.existsOnDisk }).to.deep.equal({
    reported: "Failed",
    onDisk: false,
  });
});

Then("no monitoring group exists for pod {string}", async function (this: ScenarioWorld, pod: string) {
  const g = await this.port.groupOf(pod);
  expect(
    { reported: g.reported?.kind ?? "nothing", onDisk: g.existsOnDisk },
    `group of pod ${pod}`,
  ).to.deep.equal({
    reported: "nothing",
    onDisk: false,
  });
});

Then("the group of pod {string} is gone", async function (this: ScenarioWorld, pod: string) {
  const g = await this.port.groupOf(pod);
  expect({ hadPath: g.path !== undefined, onDisk: g.existsOnDisk }).to.deep.equal({
    hadPath: true,
    onDisk: false,
  });
});

Then("the groups of pods {names} are gone", async function (this: ScenarioWorld, pods: string[]) {
  const groups = await Promise.all(pods.map((p) => this.port.groupOf(p)));
  expect(groups.map((g, i) => `${pods[i]}: ${g.path !== undefined}/${g.existsOnDisk}`)).to.deep.equal(
    pods.map((p) => `${p}: true/false`),
  );
});

Then("the group path of pod {string} did not change", function (this: ScenarioWorld, pod: string) {
  const paths = new Set(
    this.port
      .events(pod)
      .flatMap((e) => (e.kind === "AddOrUpdate" && e.group.kind === "Exists" ? [e.group.path] : [])),
  );
  expect([...paths], `group paths reported for ${pod}`).to.have.lengthOf(1);
});

Then("pods {names} have different groups", async function (this: ScenarioWorld, pods: string[]) {
  const paths = (await Promise.all(pods.map((p) => this.port.groupOf(p)))).map((g) => g.path);
  expect(paths, "group paths").to.not.include(undefined);
  expect(new Set(paths).size, `group paths ${JSON.stringify(paths)}`).to.equal(pods.length);
});

Then(
  "the group of pod {string} is a direct child of the root mon_groups",
  async function (this: ScenarioWorld, pod: string) {
    const g = await this.port.groupOf(pod);
    expect(g.existsOnDisk, `group of ${pod} at ${String(g.path)} exists`).to.equal(true);
    expect(g.path).to.match(directChildOf(`${this.port.resctrlRoot()}/mon_groups`));
  },
);

Then("nothing outside the resctrl root was touched", async function (this: ScenarioWorld) {
  const audit = need(this, "fs-audit");
  expect(await audit.groupsCreated(), "groups the plugin created").to.have.length.greaterThan(0);
  expect(await audit.pathsTouchedOutsideRoot()).to.deep.equal([]);
});

Then("no task id 0 was ever written to a group", async function (this: ScenarioWorld) {
  const writes = await need(this, "fs-audit").taskWrites();
  expect(writes.length, "task writes (none at all would make this check vacuous)").to.be.greaterThan(0);
  expect(
    writes.filter((t) => !(t > 0)),
    `task writes: ${writes.join(",")}`,
  ).to.deep.equal([]);
});

// ---- pre-existing groups, mounting and startup cleanup ---------------------------------------

Given(
  "the resctrl filesystem already holds these groups:",
  async function (this: ScenarioWorld, table: DataTable) {
    for (const group of seedTable(table)) await this.port.seedGroup(group);
  },
);

/** The seeded groups among `labels` that exist on disk (`exists` true) or do not (false). */
async function seededGroupsWhere(w: ScenarioWorld, labels: string[], exists: boolean): Promise<string[]> {
  const found = await Promise.all(labels.map((l) => w.port.seededGroupExists(l)));
  return labels.filter((_, i) => found[i] === exists);
}

Then("the group(s) {names} is/are gone", async function (this: ScenarioWorld, labels: string[]) {
  expect(await seededGroupsWhere(this, labels, true), "groups still there").to.deep.equal([]);
});

Then("the group(s) {names} is/are still there", async function (this: ScenarioWorld, labels: string[]) {
  expect(await seededGroupsWhere(this, labels, false), "groups gone").to.deep.equal([]);
});

Then(
  "the plugin logged a cleanup that removed {int} groups and left {int} foreign groups alone",
  async function (this: ScenarioWorld, removed: number, foreign: number) {
    const counters = cleanupCounters(await this.port.logLines());
    expect(counters).to.deep.include({ removed, nonPrefixGroups: foreign, removalFailures: 0 });
  },
);

Then("the plugin logged no error", async function (this: ScenarioWorld) {
  const lines = await this.port.logLines();
  expect(lines.length, "plugin log lines (none at all would make this check vacuous)").to.be.greaterThan(0);
  expect(pluginErrorLines(lines).map((l) => String(l.msg))).to.deep.equal([]);
});

Then("the plugin logged the error {string}", async function (this: ScenarioWorld, text: string) {
  const errors = pluginErrorLines(await this.port.logLines()).map((l) => String(l.msg));
  expect(
    errors.filter((m) => m.includes(text)),
    "matching error lines",
  ).to.have.length.greaterThan(0);
  this.expectedErrors.push(text);
});

Given("resctrl is not mounted yet", async function (this: ScenarioWorld) {
  await need(this, "mount-control").unmountResctrl();
});

Then("resctrl is {mounted}", async function (this: ScenarioWorld, mounted: boolean) {
  expect(await need(this, "mount-control").resctrlMounted()).to.equal(mounted);
});
