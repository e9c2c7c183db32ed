// Pod filters (--namespaces, --exclude-namespaces, --pod-label-selector): an unselected pod gets
// no group, no events, and its containers are ignored; it is listed as unmonitored until it goes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { NriContainerState } from "../nri/types.js";
import { ctr, gate, harness, pod, until } from "../../test/support/plugin-harness.js";
import { parseLabelSelector } from "./pod-filter.js";

const excludeSystem = {
  podFilter: { namespaces: [], excludeNamespaces: ["kube-system"], podLabelSelector: [] },
};

function systemPod(uid: string) {
  return { ...pod(uid), namespace: "kube-system" };
}

describe("ResctrlPlugin pod filters", () => {
  it("an excluded pod gets no group, no events; its container events are ignored; removal forgets it", async () => {
    const h = harness({ cfg: excludeSystem });
    const p = systemPod("s1");
    h.pids.setPids("c1", [11]);
    await h.plugin.runPodSandbox(p);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    await h.plugin.stopContainer(p, ctr("c1", p.id, NriContainerState.STOPPED));
    await h.plugin.removeContainer(p, ctr("c1", p.id, NriContainerState.STOPPED));
    assert.deepEqual(h.events, []);
    assert.deepEqual(h.plugin.snapshot(), []);
    assert.deepEqual(h.plugin.unassignedContainers(), [], "not NoPod either");
    assert.equal(h.fs.isDir("/sys/fs/resctrl/mon_groups/pod_s1"), false);
    assert.equal(h.pids.calls("c1"), 0, "its cgroup is never read");
    assert.deepEqual(h.plugin.unmonitoredPods(), [
      { podUid: "s1", podName: "name-s1", podNamespace: "kube-system", sandboxIds: [p.id] },
    ]);
    assert.ok(h.logs.some((l) => l.msg === "pod not selected by the filters; not monitored"));
    await h.plugin.removePodSandbox(p);
    assert.deepEqual(h.plugin.unmonitoredPods(), []);
    assert.deepEqual(h.events, []);
  });

  it("selected pods work as before", async () => {
    const h = harness({ cfg: excludeSystem });
    const p = pod("u1");
    h.pids.setPids("c1", [11]);
    await h.plugin.runPodSandbox(p);
    await h.plugin.startContainer(p, ctr("c1", p.id));
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Exists 1/1"]);
    assert.deepEqual(h.plugin.unmonitoredPods(), []);
  });

  it("a container seen before its excluded pod is dropped when the pod appears", async () => {
    const h = harness({ cfg: excludeSystem });
    const p = systemPod("s1");
    await h.plugin.startContainer(p, ctr("c1", p.id));
    assert.equal(h.plugin.unassignedContainers().length, 1);
    await h.plugin.runPodSandbox(p);
    assert.deepEqual(h.plugin.unassignedContainers(), []);
    assert.deepEqual(h.events, []);
  });

  it("Synchronize: only selected pods get groups; containers of others are ignored; a resync forgets gone ones", async () => {
    const h = harness({
      cfg: {
        podFilter: {
          namespaces: [],
          excludeNamespaces: [],
          podLabelSelector: parseLabelSelector("monitor=yes"),
        },
      },
    });
    const a = { ...pod("a"), labels: { monitor: "yes" } };
    const b = pod("b");
    h.pids.setPids("ca", [11]).setPids("cb", [12]);
    await h.plugin.synchronize([a, b], [ctr("ca", a.id), ctr("cb", b.id)]);
    await h.plugin.idle();
    assert.deepEqual(h.trace(), ["a Exists 0/0", "a Exists 1/1"]);
    assert.deepEqual(
      h.plugin.unmonitoredPods().map((u) => u.podUid),
      ["b"],
    );
    assert.deepEqual(h.plugin.unassignedContainers(), []);
    assert.equal(h.pids.calls("cb"), 0);
    await h.plugin.synchronize([a], [ctr("ca", a.id)]);
    await h.plugin.idle();
    assert.deepEqual(h.plugin.unmonitoredPods(), []);
  });

  it("the sweep forgets an unmonitored pod whose sandbox is gone", async () => {
    const h = harness({ cfg: excludeSystem });
    await h.plugin.runPodSandbox(systemPod("s1"));
    assert.equal((await h.plugin.sweep()).unmonitoredForgotten, 0);
    h.pids.setSandboxGone("s1", true);
    assert.equal((await h.plugin.sweep()).unmonitoredForgotten, 1);
    assert.deepEqual(h.plugin.unmonitoredPods(), []);
  });

  it("two sandboxes of one excluded pod UID are listed as one pod with both sandbox ids", async () => {
    const h = harness({ cfg: excludeSystem });
    await h.plugin.runPodSandbox(systemPod("s1"));
    await h.plugin.runPodSandbox({ ...systemPod("s1"), id: "sb-s1-b" });
    assert.deepEqual(h.plugin.unmonitoredPods(), [
      { podUid: "s1", podName: "name-s1", podNamespace: "kube-system", sandboxIds: ["sb-s1", "sb-s1-b"] },
    ]);
  });

  it("an excluded pod is logged once, with the filter, however often a resync lists it", async () => {
    const h = harness({ cfg: excludeSystem });
    const p = systemPod("s1");
    await h.plugin.synchronize([p], []);
    await h.plugin.synchronize([p], []);
    await h.plugin.runPodSandbox(p);
    await h.plugin.idle();
    const notSelected = h.logs.filter((l) => l.msg === "pod not selected by the filters; not monitored");
    assert.equal(notSelected.length, 1);
    assert.equal(notSelected[0]?.podUid, "s1");
    assert.equal(notSelected[0]?.pod, "kube-system/name-s1");
    assert.equal(notSelected[0]?.filter, "exclude-namespaces=kube-system");
  });

  it("Synchronize logs how many listed pods the filters leave out", async () => {
    const h = harness({ cfg: excludeSystem });
    await h.plugin.synchronize([pod("u1"), systemPod("s1"), systemPod("s2")], []);
    await h.plugin.idle();
    const summary = h.logs.find((l) => l.msg === "synchronized");
    assert.equal(summary?.pods, 1);
    assert.equal(summary?.unmonitored, 2);
  });

  it("a STOP_CONTAINER without a sandbox id is matched to its excluded pod and ignored", async () => {
    const h = harness({ cfg: excludeSystem });
    const p = systemPod("s1");
    await h.plugin.runPodSandbox(p);
    await h.plugin.stopContainer(p, ctr("c1", "", NriContainerState.STOPPED));
    assert.deepEqual(h.plugin.unassignedContainers(), []);
    assert.deepEqual(h.plugin.snapshot(), []);
  });

  it("the sweep keeps an unmonitored pod when its sandbox check rejects", async () => {
    const h = harness({ cfg: excludeSystem });
    await h.plugin.runPodSandbox(systemPod("s1"));
    h.pids.setSandboxGone("s1", new Error("EACCES"));
    assert.equal((await h.plugin.sweep()).unmonitoredForgotten, 0);
    assert.equal(h.plugin.unmonitoredPods().length, 1);
  });

  it("the sweep does not forget an unmonitored sandbox recorded again while its check ran", async () => {
    const h = harness({ cfg: excludeSystem });
    const p = systemPod("s1");
    await h.plugin.runPodSandbox(p);
    const g = gate();
    h.pids.setSandboxGone("s1", true);
    const original = h.pids.sandboxGone.bind(h.pids);
    let asked = false;
    h.pids.sandboxGone = async (x) => {
      asked = true;
      await g.promise;
      return original(x);
    };
    const sweeping = h.plugin.sweep();
    await until(() => asked);
    await h.plugin.removePodSandbox(p);
    await h.plugin.runPodSandbox({ ...p, labels: { again: "yes" } });
    g.open();
    assert.equal((await sweeping).unmonitoredForgotten, 1);
    assert.deepEqual(
      h.plugin.unmonitoredPods().map((u) => u.sandboxIds),
      [[p.id]],
      "the newer record stays",
    );
  });
});
