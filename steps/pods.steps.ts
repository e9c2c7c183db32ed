import { Given, When, type DataTable } from "@cucumber/cucumber";
import { need, type ScenarioWorld } from "../support/world.js";
import { containers, parseLabel, podTable } from "./helpers.js";

// ---- pods that exist before the plugin registers ---------------------------------------------

Given(
  "pod {string} is already running with container {string}",
  async function (this: ScenarioWorld, pod: string, c: string) {
    this.declaredPods.set(pod, [c]);
    await this.port.preexistingPod(pod, containers([c]));
  },
);

Given(
  "pod {string} is already running with containers {names}",
  async function (this: ScenarioWorld, pod: string, names: string[]) {
    this.declaredPods.set(pod, names);
    await this.port.preexistingPod(pod, containers(names));
  },
);

Given(
  "pod {string} is already running with container {string} of {int} threads",
  async function (this: ScenarioWorld, pod: string, c: string, threads: number) {
    this.declaredPods.set(pod, [c]);
    await this.port.preexistingPod(pod, containers([c], threads));
  },
);

Given(
  "{int} pods are already running, each with container {string} and a {int} KiB annotation",
  async function (this: ScenarioWorld, n: number, c: string, kib: number) {
    for (let i = 0; i < n; i += 1) {
      const pod = `pod-${i}`;
      this.declaredPods.set(pod, [c]);
      await this.port.preexistingPod(pod, containers([c]), { annotationBytes: kib * 1024 });
    }
  },
);

Given("these pods are already running:", async function (this: ScenarioWorld, table: DataTable) {
  for (const [pod, names] of podTable(table)) this.declaredPods.set(pod, names);
  for (const [pod, names] of this.declaredPods) await this.port.preexistingPod(pod, containers(names));
});

Given(
  "pod {string} with container {string} was running before the plugin started",
  async function (this: ScenarioWorld, pod: string, c: string) {
    await this.port.preexistingPod(pod, containers([c]));
    await this.port.startPlugin();
  },
);

Given(
  "pod {string} with container {string} was started after the plugin started",
  async function (this: ScenarioWorld, pod: string, c: string) {
    await this.port.startPlugin();
    await this.port.runPod(pod);
    await this.port.startContainer(pod, { name: c });
  },
);

// ---- pods and containers after the plugin registered -----------------------------------------

Given("pod {string} is running", async function (this: ScenarioWorld, pod: string) {
  await this.port.runPod(pod);
});

When("pod {string} starts", async function (this: ScenarioWorld, pod: string) {
  await this.port.runPod(pod);
});

When("pod {string} starts with UID {string}", async function (this: ScenarioWorld, pod: string, uid: string) {
  await need(this, "chosen-pod-uids").runPodWithUid(pod, uid);
});

Given(
  "pod {string} is running with container {string}",
  async function (this: ScenarioWorld, pod: string, c: string) {
    await this.port.runPod(pod);
    await this.port.startContainer(pod, { name: c });
  },
);

When(
  "container {string} of pod {string} starts",
  async function (this: ScenarioWorld, c: string, pod: string) {
    await this.port.startContainer(pod, { name: c });
  },
);

When(
  "container {string} of pod {string} starts with {int} threads",
  async function (this: ScenarioWorld, c: string, pod: string, threads: number) {
    await this.port.startContainer(pod, { name: c, threads });
  },
);

When(
  "a regular container {string} joins pod {string}",
  async function (this: ScenarioWorld, c: string, pod: string) {
    await this.port.startContainer(pod, { name: c });
  },
);

When(
  "an ephemeral container {string} joins pod {string}",
  async function (this: ScenarioWorld, c: string, pod: string) {
    await this.port.addEphemeralContainer(pod, { name: c });
  },
);

When(
  "an ephemeral container {string} is added to pod {string}",
  async function (this: ScenarioWorld, c: string, pod: string) {
    await this.port.addEphemeralContainer(pod, { name: c });
  },
);

When(
  "container {string} of pod {string} starts before the runtime reported the pod",
  async function (this: ScenarioWorld, c: string, pod: string) {
    await need(this, "scripted-runtime").startContainerBeforePod(pod, { name: c });
  },
);

When(
  "the runtime reports container {string} of pod {string} started again",
  async function (this: ScenarioWorld, c: string, pod: string) {
    await need(this, "scripted-runtime").resendContainerStart(pod, c);
  },
);

When("the runtime reports pod {string} started again", async function (this: ScenarioWorld, pod: string) {
  await need(this, "scripted-runtime").resendPodStart(pod);
});

When(
  "container {string} of pod {string} is removed",
  async function (this: ScenarioWorld, c: string, pod: string) {
    await this.port.removeContainer(pod, c);
  },
);

When("pod {string} is removed", async function (this: ScenarioWorld, pod: string) {
  await this.port.removePod(pod);
});

// ---- where a pod runs, what it runs, how it goes --------------------------------------------

When(
  "pod {string} starts in namespace {string} with container {string}",
  async function (this: ScenarioWorld, pod: string, namespace: string, c: string) {
    await need(this, "pod-metadata").runPodWith(pod, { namespace });
    await this.port.startContainer(pod, { name: c });
  },
);

When(
  "pod {string} labelled {string} starts with container {string}",
  async function (this: ScenarioWorld, pod: string, label: string, c: string) {
    await need(this, "pod-metadata").runPodWith(pod, { labels: parseLabel(label) });
    await this.port.startContainer(pod, { name: c });
  },
);

Given(
  "pod {string} is running with container {string} that streams through memory",
  async function (this: ScenarioWorld, pod: string, c: string) {
    await this.port.runPod(pod);
    await this.port.startContainer(pod, { name: c, workload: "memory-stream" });
  },
);

When("pod {string} is removed in the kubelet's order", async function (this: ScenarioWorld, pod: string) {
  await need(this, "removal-orders").removePodInOrder(pod, "kubelet");
});

When(
  "the operator removes pod {string} with crictl, its containers first",
  async function (this: ScenarioWorld, pod: string) {
    await need(this, "removal-orders").removePodInOrder(pod, "crictl-containers-first");
  },
);
