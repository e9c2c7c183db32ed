import { Given, Then, When } from "@cucumber/cucumber";
import { expect } from "chai";
import { describeEvent, need, QUIET_PERIOD_MS, type ScenarioWorld } from "../support/world.js";
import type { PodEvent } from "../support/worlds/types.js";

// ---- the runtime restarts (@runtime-restart) -------------------------------------------------

When("the runtime restarts", async function (this: ScenarioWorld) {
  const runtime = need(this, "runtime-restart");
  for (const pod of new Set(this.port.allEvents().map((e) => e.pod))) this.mark(pod);
  this.expectedErrors.push("nri stub: failure"); // failed reconnects while the runtime is down
  await runtime.restartRuntime();
});

Then(
  "the plugin is eventually synchronized by the runtime {int} times",
  async function (this: ScenarioWorld, n: number) {
    const syncs = () => this.port.runtimeSyncCount();
    expect(await this.until(syncs, (c) => c >= n), "Synchronize requests answered").to.equal(n);
  },
);

Then(
  "pods {names} reported no event since the restart",
  async function (this: ScenarioWorld, pods: string[]) {
    await this.settle(QUIET_PERIOD_MS);
    expect(pods.flatMap((p) => this.eventsSinceMark(p)).map(describeEvent)).to.deep.equal([]);
  },
);

Then(
  "the plugin's state lists exactly pods {names} with group Exists",
  async function (this: ScenarioWorld, pods: string[]) {
    const views = (await this.port.snapshot()).map((v) => `${v.pod}: ${v.group.kind}`).sort();
    expect(views, "the plugin's own state").to.deep.equal(pods.map((p) => `${p}: Exists`).sort());
  },
);

Given(
  "pod {string} is running with containers {names}",
  async function (this: ScenarioWorld, pod: string, names: string[]) {
    await this.port.runPod(pod);
    for (const name of names) await this.port.startContainer(pod, { name });
  },
);

// ---- pod churn -----------------------------------------------------------------------------

/** Ceiling of the churn step (a real containerd on a loaded 2-core VM needs ~1-2 s per pod). */
export const CHURN_TIMEOUT_MS = 300_000;

const churned = new WeakMap<ScenarioWorld, string[]>();

/** Runs `total` pods (run, start container, remove) with at most `parallel` in flight; records their names. */
async function churn(w: ScenarioWorld, total: number, container: string, parallel: number): Promise<void> {
  const names = Array.from({ length: total }, (_, i) => `churn-${String(i + 1).padStart(3, "0")}`);
  churned.set(w, names);
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let name = names[next++]; name !== undefined; name = names[next++]) {
      await w.port.runPod(name);
      await w.port.startContainer(name, { name: container });
      await w.port.removePod(name);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, total) }, lane));
}

function churnedPods(w: ScenarioWorld): string[] {
  const names = churned.get(w);
  if (!names) throw new Error("failed to find churned pods: no churn step ran in this scenario");
  return names;
}

/** What must hold for one churned pod's events; "" when it does, else the reason. */
function churnProblem(events: readonly PodEvent[]): string {
  const seen = events.map((e) => describeEvent(e).replace(/^[^:]*: /, ""));
  const text = `${events[0]?.pod ?? "?"}: ${seen.join(", ")}`;
  if (seen[0] !== "Exists 0 of 0") return `does not start with Exists 0 of 0 — ${text}`;
  if (!seen.includes("Exists 1 of 1")) return `never reached 1 of 1 — ${text}`;
  if (seen.at(-1) !== "Removed" || seen.filter((s) => s === "Removed").length !== 1)
    return `not removed exactly once, last — ${text}`;
  if (seen.some((s, i) => i > 0 && s === seen[i - 1])) return `a repeated event — ${text}`;
  const paths = new Set(
    events.flatMap((e) => (e.kind === "AddOrUpdate" && e.group.kind === "Exists" ? [e.group.path] : [])),
  );
  return paths.size === 1 ? "" : `${paths.size} group paths — ${text}`;
}

When(
  "{int} pods with container {string} are started and removed, {int} at a time",
  { timeout: CHURN_TIMEOUT_MS },
  async function (this: ScenarioWorld, total: number, container: string, parallel: number) {
    await churn(this, total, container, parallel);
  },
);

/** Waits for every churned pod's Removed event, then lists what is wrong with each pod's events. */
async function churnProblems(w: ScenarioWorld): Promise<string[]> {
  const pods = churnedPods(w);
  await Promise.all(pods.map((p) => w.port.waitForEvent(p, (e) => e.kind === "Removed", w.timeoutMs)));
  return pods.map((p) => churnProblem(w.port.events(p))).filter(Boolean);
}

/** Churned pods whose group is still on disk, or whose group was never reported. */
async function churnedPodsWithGroupLeft(w: ScenarioWorld): Promise<string[]> {
  const pods = churnedPods(w);
  const groups = await Promise.all(pods.map((p) => w.port.groupOf(p)));
  return pods.filter((_, i) => groups[i]?.path === undefined || groups[i]?.existsOnDisk);
}

Then(
  "every churned pod was reported with its group, 1 of 1 containers reconciled, then removed",
  async function (this: ScenarioWorld) {
    expect(await churnProblems(this)).to.deep.equal([]);
  },
);

Then("no churned pod has a group left or is still known to the plugin", async function (this: ScenarioWorld) {
  const pods = churnedPods(this);
  expect(
    await churnedPodsWithGroupLeft(this),
    "pods whose group is on disk or was never reported",
  ).to.deep.equal([]);
  expect(
    (await this.port.snapshot()).filter((v) => pods.includes(v.pod)),
    "churned pods in the plugin's state",
  ).to.deep.equal([]);
});

Then("the plugin dropped no events", async function (this: ScenarioWorld) {
  expect(await this.port.droppedEvents(), "events dropped by the plugin").to.equal(0);
});
