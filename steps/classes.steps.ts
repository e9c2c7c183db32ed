import { Given, Then, When, type DataTable } from "@cucumber/cucumber";
import { expect } from "chai";
import { need, type ScenarioWorld } from "../support/world.js";
import type { PodGroupView } from "../support/worlds/types.js";
import { directChildOf, ownedGroupTable } from "./helpers.js";

// RDT classes (@rdt-classes): control groups directly under the resctrl root that hold tasks of
// containers, and the plugin's groups inside them (docs/plugin.md, "RDT classes").

/** The message of the plugin's one warning per pod whose tasks live in a class it does not follow. */
const CLASS_WARNING = "pod has tasks in an RDT class";

// ---- classes and the containers that run in them ---------------------------------------------

Given("RDT class {string} exists", async function (this: ScenarioWorld, name: string) {
  await need(this, "rdt-classes").createRdtClass(name);
});

Given(
  "RDT class {string} already holds these monitoring groups:",
  async function (this: ScenarioWorld, name: string, table: DataTable) {
    const classes = need(this, "rdt-classes");
    for (const g of ownedGroupTable(table)) await classes.seedGroupInClass(name, g);
  },
);

Given(
  "container {string} of pod {string} runs in RDT class {string}",
  async function (this: ScenarioWorld, c: string, pod: string, name: string) {
    await need(this, "rdt-classes").placeContainerInClass(pod, c, name);
  },
);

When(
  "pod {string} starts with container {string} in RDT class {string}",
  async function (this: ScenarioWorld, pod: string, c: string, name: string) {
    await startInClass(this, pod, [c], name);
  },
);

When(
  "pod {string} starts with containers {names} in RDT class {string}",
  async function (this: ScenarioWorld, pod: string, names: string[], name: string) {
    await startInClass(this, pod, names, name);
  },
);

When(
  "container {string} of pod {string} starts in RDT class {string}",
  async function (this: ScenarioWorld, c: string, pod: string, name: string) {
    await need(this, "rdt-classes").placeContainerInClass(pod, c, name);
    await this.port.startContainer(pod, { name: c });
  },
);

When("RDT class {string} is removed", async function (this: ScenarioWorld, name: string) {
  await need(this, "rdt-classes").removeRdtClass(name);
});

/** A new pod whose containers start in class `name` (their tasks are in it when the runtime reports them). */
async function startInClass(w: ScenarioWorld, pod: string, names: string[], name: string): Promise<void> {
  const classes = need(w, "rdt-classes");
  await w.port.runPod(pod);
  for (const c of names) {
    await classes.placeContainerInClass(pod, c, name);
    await w.port.startContainer(pod, { name: c });
  }
}

// ---- the pod's groups ---------------------------------------------------------------------------

Then(
  "the group of pod {string} is a monitoring group of RDT class {string}",
  async function (this: ScenarioWorld, pod: string, name: string) {
    const g = await this.port.groupOf(pod);
    expect(g.existsOnDisk, `group of ${pod} at ${String(g.path)} exists`).to.equal(true);
    expect(g.path).to.match(directChildOf(`${need(this, "rdt-classes").rdtClassPath(name)}/mon_groups`));
  },
);

Then(
  "the plugin's state lists groups of pod {string} in the root and in RDT class {string}",
  async function (this: ScenarioWorld, pod: string, name: string) {
    const groups = await need(this, "rdt-classes").podGroups(pod);
    expect(groups.map(describeGroup), `groups of ${pod} in the plugin's state`).to.deep.equal([
      "root: Exists",
      `${name}: Exists`,
    ]);
  },
);

Then(
  "the plugin's state lists only the root group of pod {string}",
  async function (this: ScenarioWorld, pod: string) {
    const groups = await need(this, "rdt-classes").podGroups(pod);
    expect(groups.map(describeGroup), `groups of ${pod} in the plugin's state`).to.deep.equal([
      "root: Exists",
    ]);
  },
);

Then(
  "the group of pod {string} in RDT class {string} holds exactly the tasks of container {string}",
  async function (this: ScenarioWorld, pod: string, name: string, c: string) {
    await expectGroupHoldsContainer(this, pod, name, c);
  },
);

Then(
  "the group of pod {string} in the root holds exactly the tasks of container {string}",
  async function (this: ScenarioWorld, pod: string, c: string) {
    await expectGroupHoldsContainer(this, pod, undefined, c);
  },
);

Then("RDT class {string} holds no monitoring group", async function (this: ScenarioWorld, name: string) {
  // The port rejects for a class that is gone, so an empty answer means "exists, and empty".
  expect(
    await need(this, "rdt-classes").monitoringGroupsInClass(name),
    `mon_groups of ${name}`,
  ).to.deep.equal([]);
});

/** `root: Exists`, `gold: Exists`, … Pure. */
function describeGroup(g: PodGroupView): string {
  return `${g.rdtClass ?? "root"}: ${g.state}`;
}

/** The pod's group in class `name` (undefined: the root) exists and holds exactly the container's tasks, some. */
async function expectGroupHoldsContainer(
  w: ScenarioWorld,
  pod: string,
  name: string | undefined,
  c: string,
): Promise<void> {
  const classes = need(w, "rdt-classes");
  const [groups, expected] = await Promise.all([
    classes.podGroups(pod),
    classes.expectedTasksOfContainer(pod, c),
  ]);
  const g = groups.find((x) => x.rdtClass === name);
  const where = name === undefined ? "the root" : `RDT class ${name}`;
  expect(g, `the group of ${pod} in ${where} (groups: ${groups.map(describeGroup).join(", ")})`).to.not.equal(
    undefined,
  );
  expect(expected, `tasks of container ${c} of ${pod}`).to.have.length.greaterThan(0);
  expect(g?.tasks, `tasks in ${g?.path}`).to.deep.equal(expected);
}

// ---- what the plugin says about containers in classes -----------------------------------------

Then(
  "the plugin's state shows container(s) {names} of pod {string} Partial, with a reason naming RDT class {string} and --follow-rdt-classes",
  async function (this: ScenarioWorld, names: string[], pod: string, name: string) {
    const classes = need(this, "rdt-classes");
    const dir = classes.rdtClassPath(name).split("/").pop() ?? name;
    for (const c of names) {
      const s = await classes.containerState(pod, c);
      expect(s.state, `container ${c} of ${pod}`).to.equal("Partial");
      expect(s.reason, `reason of container ${c} of ${pod}`).to.be.a("string");
      expect(s.reason).to.include(dir).and.to.include("--follow-rdt-classes");
    }
  },
);

Then(
  "the plugin warned exactly once that a pod has tasks in an RDT class",
  async function (this: ScenarioWorld) {
    const lines = await this.port.logLines({ msgIncludes: CLASS_WARNING });
    expect(
      lines.map((l) => `${String(l.level)} ${String(l.msg)}`),
      "warnings about tasks in an RDT class",
    ).to.have.lengthOf(1);
    expect(lines[0]?.level, "level of the line (warn)").to.equal(40);
  },
);
