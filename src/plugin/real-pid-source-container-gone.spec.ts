// RealCgroupPidSource.containerGone: a container counts as exited only when its cgroup is absent
// and its init process is gone (or the pid now lives elsewhere); any doubt answers false.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { NriContainerState, type NriContainer } from "../nri/types.js";
import { V2, cgroupTree, sandboxPod } from "../../test/cgroup-fixture.js";

const REL = "/kubepods/burstable/podU/c1";
const ctr = (pid: number): NriContainer => ({
  id: "c1",
  podSandboxId: "sb1",
  name: "app",
  state: NriContainerState.RUNNING,
  labels: {},
  annotations: {},
  cgroupsPath: REL,
  pid,
});

describe("RealCgroupPidSource.containerGone", () => {
  it("v2: cgroup present → false, even with its process gone", async () => {
    const { src } = cgroupTree({ files: V2, dirs: [REL] });
    assert.equal(await src.containerGone(ctr(4242), sandboxPod()), false);
  });

  it("v2: cgroup absent and no pid → true; with a pid, true only once /proc/<pid> is gone or elsewhere", async () => {
    const none = cgroupTree({ files: V2 });
    assert.equal(await none.src.containerGone(ctr(0), sandboxPod()), true);
    assert.equal(await none.src.containerGone(ctr(4242), sandboxPod()), true, "/proc/4242 missing");
    const alive = cgroupTree({ files: V2, procFiles: { "4242/cgroup": `0::${REL}\n` } });
    assert.equal(await alive.src.containerGone(ctr(4242), sandboxPod()), false);
    const reused = cgroupTree({ files: V2, procFiles: { "4242/cgroup": "0::/user.slice/x\n" } });
    assert.equal(await reused.src.containerGone(ctr(4242), sandboxPod()), true);
  });

  it("v1: present in any mounted hierarchy → false; absent from all → true", async () => {
    const present = cgroupTree({ dirs: ["pids", "memory", `memory${REL}`] });
    assert.equal(await present.src.containerGone(ctr(0), sandboxPod()), false);
    const absent = cgroupTree({ dirs: ["pids", "memory"] });
    assert.equal(await absent.src.containerGone(ctr(0), sandboxPod()), true);
  });

  it("doubt → false: no hierarchy, an invalid path", async () => {
    const { src } = cgroupTree({});
    assert.equal(await src.containerGone(ctr(0), sandboxPod()), false);
    const v2 = cgroupTree({ files: V2 });
    assert.equal(await v2.src.containerGone({ ...ctr(0), cgroupsPath: "" }, sandboxPod()), false);
  });
});
