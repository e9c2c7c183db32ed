import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ClusterModel, FIRST_MOCK_TID } from "./cluster-model.js";

describe("ClusterModel", () => {
  it("gives each container its own live threads and the pod's sandbox id", () => {
    const m = new ClusterModel();
    const web = m.pod("web");
    const app = m.addContainer(web, { name: "app", threads: 3 });
    const side = m.addContainer(web, { name: "side" });
    assert.equal(app.nri.podSandboxId, web.nri.id);
    assert.equal(app.tids.length, 3);
    assert.ok(app.tids.every((t) => t >= FIRST_MOCK_TID && m.alive(t)));
    assert.deepEqual(
      m.liveTasksOf("web"),
      [...app.tids, ...side.tids].sort((a, b) => a - b),
    );
  });

  it("lets threads of removed containers and vanishing scripts exit, and never reuses them", () => {
    const m = new ClusterModel();
    const web = m.pod("web");
    const app = m.addContainer(web, { name: "app" });
    const old = app.tids[0] ?? 0;
    m.setScript("web", "app", "vanishing");
    assert.equal(m.alive(old), false);
    assert.deepEqual(m.liveTasksOf("web"), []);
    m.setScript("web", "app", "steady");
    assert.notEqual(app.tids[0], old);
    assert.equal(m.alive(app.tids[0] ?? 0), true);
    m.removeContainer(app);
    assert.deepEqual(m.liveTasksOf("web"), []);
  });

  it("applies a script set before the container exists; with-zero adds 0 to the PID answer", () => {
    const m = new ClusterModel();
    m.setScript("web", "app", "with-zero");
    const app = m.addContainer(m.pod("web"), { name: "app" });
    assert.deepEqual(m.pidAnswer(app), [0, ...app.tids]);
  });

  it("maps UIDs back to scenario names, keeping a chosen UID", () => {
    const m = new ClusterModel();
    m.pod("evil", "../../etc");
    assert.equal(m.nameOfUid("../../etc"), "evil");
    assert.equal(m.nameOfUid("nope"), "uid:nope");
    assert.throws(() => m.container("evil", "x"), /failed to find container "x" of pod evil/);
  });
});

describe("ClusterModel: placement", () => {
  it("puts a pod in the scenario's namespace unless placed, and adds the placement's labels", () => {
    const m = new ClusterModel();
    assert.equal(m.pod("web").nri.namespace, "scenario");
    const job = m.pod("job", undefined, { namespace: "batch", labels: { monitoring: "off" } });
    assert.equal(job.nri.namespace, "batch");
    assert.deepEqual(job.nri.labels, { "scenario/pod": "job", monitoring: "off" });
  });
});
