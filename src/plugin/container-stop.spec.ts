// The counting rule: a pod counts its containers that are created or running; a container leaves
// the count when it stops (STOP_CONTAINER, or a Synchronize that lists it STOPPED) and is forgotten
// on REMOVE_CONTAINER; the counts do not depend on whether a resync happened in between.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { NriContainerState } from "../nri/types.js";
import { ctr, harness, pod } from "../../test/plugin-harness.js";
import { CgroupGoneError } from "./errors.js";

const STOPPED = NriContainerState.STOPPED;

describe("counting rule: stopped containers leave the count", () => {
  it("a STOP_CONTAINER lowers the counts once; the container stays listed as Stopped until REMOVE_CONTAINER", async () => {
    const h = harness();
    h.pids.setPids("a", [11]).setPids("b", [12]);
    await h.plugin.runPodSandbox(pod("u1"));
    await h.plugin.startContainer(pod("u1"), ctr("a", "sb-u1"));
    await h.plugin.startContainer(pod("u1"), ctr("b", "sb-u1"));
    await h.plugin.stopContainer(pod("u1"), ctr("b", "sb-u1", STOPPED));
    await h.plugin.stopContainer(pod("u1"), ctr("b", "sb-u1", STOPPED));
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Exists 1/1", "u1 Exists 2/2", "u1 Exists 1/1"]);
    assert.deepEqual(
      h.plugin.snapshot()[0]?.containers.map((c) => `${c.id} ${c.state}`),
      ["a Reconciled", "b Stopped"],
    );
    await h.plugin.removeContainer(pod("u1"), ctr("b", "sb-u1", STOPPED));
    assert.deepEqual(h.trace().length, 4, "removing a stopped container changes no count");
    assert.deepEqual(
      h.plugin.snapshot()[0]?.containers.map((c) => c.id),
      ["a"],
    );
  });

  it("a crash and restart (same name, new id) ends at 1 of 1, never 2 of 2", async () => {
    const h = harness();
    h.pids.setPids("app-0", [11]).setPids("app-1", [21]);
    await h.plugin.runPodSandbox(pod("u1"));
    await h.plugin.startContainer(pod("u1"), ctr("app-0", "sb-u1"));
    await h.plugin.stopContainer(pod("u1"), ctr("app-0", "sb-u1", STOPPED));
    await h.plugin.startContainer(pod("u1"), ctr("app-1", "sb-u1"));
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Exists 1/1", "u1 Exists 0/0", "u1 Exists 1/1"]);
  });

  it("counts are identical with and without a resync that lists the stopped container STOPPED", async () => {
    const run = async (resync: boolean): Promise<string[]> => {
      const h = harness();
      h.pids.setPids("a", [11]).setPids("b", [12]);
      await h.plugin.synchronize([pod("u1")], [ctr("a", "sb-u1"), ctr("b", "sb-u1")]);
      await h.plugin.idle();
      await h.plugin.stopContainer(pod("u1"), ctr("b", "sb-u1", STOPPED));
      if (resync) {
        await h.plugin.synchronize([pod("u1")], [ctr("a", "sb-u1"), ctr("b", "sb-u1", STOPPED)]);
        await h.plugin.idle();
      }
      const s = h.plugin.snapshot()[0];
      return [
        ...h.trace(),
        `${s?.reconciledContainers}/${s?.totalContainers}`,
        ...(s?.containers.map((c) => `${c.id} ${c.state}`) ?? []),
      ];
    };
    assert.deepEqual(await run(true), await run(false));
    assert.deepEqual(await run(false), [
      "u1 Exists 0/0",
      "u1 Exists 1/1",
      "u1 Exists 2/2",
      "u1 Exists 1/1",
      "1/1",
      "a Reconciled",
      "b Stopped",
    ]);
  });

  it("a first Synchronize that lists a container STOPPED gives the same state as its STOP_CONTAINER would", async () => {
    const h = harness();
    h.pids.setPids("a", [11]);
    await h.plugin.synchronize([pod("u1")], [ctr("a", "sb-u1"), ctr("b", "sb-u1", STOPPED)]);
    await h.plugin.idle();
    const s = h.plugin.snapshot()[0];
    assert.equal(`${s?.reconciledContainers}/${s?.totalContainers}`, "1/1");
    assert.deepEqual(s?.containers.map((c) => `${c.id} ${c.state}`).sort(), ["a Reconciled", "b Stopped"]);
  });

  it("a container listed RUNNING in a Synchronize and stopped right after leaves the count", async () => {
    const h = harness();
    h.pids.setPids("a", [11]).setPids("gone", []);
    await h.plugin.synchronize([pod("u1")], [ctr("a", "sb-u1"), ctr("gone", "sb-u1")]);
    await h.plugin.stopContainer(pod("u1"), ctr("gone", "sb-u1", STOPPED));
    await h.plugin.idle();
    const s = h.plugin.snapshot()[0];
    assert.equal(`${s?.reconciledContainers}/${s?.totalContainers}`, "1/1");
  });

  it("a STOP that arrives before the container's START makes the late START a no-op", async () => {
    const h = harness();
    h.pids.setPids("fast", [11]);
    await h.plugin.runPodSandbox(pod("u1"));
    await h.plugin.stopContainer(pod("u1"), ctr("fast", "sb-u1", STOPPED));
    await h.plugin.startContainer(pod("u1"), ctr("fast", "sb-u1"));
    assert.deepEqual(h.trace(), ["u1 Exists 0/0"]);
    assert.equal(h.pids.calls("fast"), 0, "the tasks of a stopped container are not even read");
  });

  it("a container stopped before its pod was seen stays uncounted when the pod appears", async () => {
    const h = harness();
    h.pids.setPids("early", [11]);
    await h.plugin.startContainer(pod("u1"), ctr("early", "sb-u1"));
    await h.plugin.stopContainer(pod("u1"), ctr("early", "sb-u1", STOPPED));
    assert.equal(await h.plugin.retryContainerReconcile("early"), "Stopped");
    await h.plugin.runPodSandbox(pod("u1"));
    assert.deepEqual(h.trace(), ["u1 Exists 0/0"]);
    assert.deepEqual(
      h.plugin.snapshot()[0]?.containers.map((c) => `${c.id} ${c.state}`),
      ["early Stopped"],
    );
  });

  it("retrying a stopped container answers Stopped without I/O; retryAllOnce skips it", async () => {
    const h = harness();
    h.pids.setPids("a", []);
    await h.plugin.runPodSandbox(pod("u1"));
    await h.plugin.startContainer(pod("u1"), ctr("a", "sb-u1"));
    await h.plugin.stopContainer(pod("u1"), ctr("a", "sb-u1", STOPPED));
    const calls = h.pids.calls("a");
    assert.equal(await h.plugin.retryContainerReconcile("a"), "Stopped");
    const report = await h.plugin.retryAllOnce();
    assert.equal(report.containerAttempts, 0);
    assert.equal(h.pids.calls("a"), calls);
  });

  it("a pod whose containers all stopped and whose sandbox is gone is pruned by a retry sweep", async () => {
    const h = harness();
    h.pids.setPids("a", [11]);
    await h.plugin.runPodSandbox(pod("u1"));
    await h.plugin.startContainer(pod("u1"), ctr("a", "sb-u1"));
    await h.plugin.stopContainer(pod("u1"), ctr("a", "sb-u1", STOPPED));
    h.pids.setSandboxGone("u1", true);
    assert.equal((await h.plugin.retryAllOnce()).podsPruned, 1);
    assert.equal(h.trace().at(-1), "u1 Removed");
  });

  it("a pod with a stopped container but a live sandbox is kept by a retry sweep", async () => {
    const h = harness();
    h.pids.setPids("a", [11]);
    await h.plugin.runPodSandbox(pod("u1"));
    await h.plugin.startContainer(pod("u1"), ctr("a", "sb-u1"));
    await h.plugin.stopContainer(pod("u1"), ctr("a", "sb-u1", STOPPED));
    assert.equal((await h.plugin.retryAllOnce()).podsPruned, 0);
    assert.equal(h.plugin.snapshot().length, 1);
  });

  it("a container listed RUNNING whose cgroup and process are gone leaves the count without a STOP (containerd 1.7 drops it)", async () => {
    const h = harness();
    h.pids
      .setPids("a", [11])
      .setError("gone", new CgroupGoneError("gone", ["/x"]))
      .setContainerGone("gone", true);
    await h.plugin.synchronize([pod("u1")], [ctr("a", "sb-u1"), ctr("gone", "sb-u1")]);
    await h.plugin.idle();
    const s = h.plugin.snapshot()[0];
    assert.equal(`${s?.reconciledContainers}/${s?.totalContainers}`, "1/1");
    assert.equal(s?.containers.find((c) => c.id === "gone")?.state, "Stopped");
    assert.ok(h.logs.some((l) => l.msg.startsWith("container exited without a stop from the runtime")));
  });

  it("a gone cgroup whose process may live (doubt) stays Partial, and a retry of a positively gone one answers Stopped", async () => {
    const h = harness();
    h.pids.setError("x", new CgroupGoneError("x", ["/x"]));
    await h.plugin.runPodSandbox(pod("u1"));
    await h.plugin.startContainer(pod("u1"), ctr("x", "sb-u1"));
    assert.equal(h.plugin.snapshot()[0]?.containers[0]?.state, "Partial");
    h.pids.setContainerGone("x", true);
    assert.equal(await h.plugin.retryContainerReconcile("x"), "Stopped");
    assert.equal(h.trace().at(-1), "u1 Exists 0/0");
  });
});
