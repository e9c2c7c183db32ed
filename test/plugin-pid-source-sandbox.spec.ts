// RealCgroupPidSource.sandboxGone and sandboxCgroupPath against temp-dir fixture trees (v2, v1,
// hybrid, systemd): true only when the pause cgroup is gone everywhere AND its pid is gone/reused.
import assert from "node:assert/strict";
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { NriPod } from "../src/nri/types.js";
import { sandboxCgroupPath } from "../src/plugin/cgroup-path.js";
import { CgroupPathError } from "../src/plugin/errors.js";
import { RealCgroupPidSource } from "../src/plugin/real-pid-source.js";
import { SANDBOX_REL as REL, V2, cgroupTree as fixture, sandboxPod as sb } from "./cgroup-fixture.js";

const SYSTEMD_POD = "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podU.slice";
const sbSystemd = (over: Partial<NriPod> = {}): NriPod =>
  sb({ cgroupParent: "", cgroupsPath: "kubepods-burstable-podU.slice:cri-containerd:sb1", ...over });

describe("sandboxCgroupPath", () => {
  it("resolves cgroupfs and systemd forms like container paths; empty is an error", () => {
    assert.equal(sandboxCgroupPath(sb()), REL);
    assert.equal(sandboxCgroupPath(sbSystemd()), `/${SYSTEMD_POD}/cri-containerd-sb1.scope`);
    assert.throws(() => sandboxCgroupPath(sb({ cgroupsPath: "" })), CgroupPathError);
    assert.throws(() => sandboxCgroupPath(sb({ cgroupsPath: "/kubepods/../x" })), CgroupPathError);
  });
});

describe("RealCgroupPidSource.sandboxGone", () => {
  it("v2: cgroup present → false; absent and no pid → true", async () => {
    const alive = fixture({ files: V2, dirs: [REL] });
    assert.equal(await alive.src.sandboxGone(sb()), false);
    const gone = fixture({ files: V2, dirs: ["kubepods/burstable/podU"] });
    assert.equal(await gone.src.sandboxGone(sb()), true);
  });

  it("v2 systemd: scope present → false; scope gone → true", async () => {
    const scope = `${SYSTEMD_POD}/cri-containerd-sb1.scope`;
    assert.equal(await fixture({ files: V2, dirs: [scope] }).src.sandboxGone(sbSystemd()), false);
    assert.equal(await fixture({ files: V2, dirs: [SYSTEMD_POD] }).src.sandboxGone(sbSystemd()), true);
  });

  it("pid > 0: gone only if /proc/<pid> is missing or the pid now lives in another cgroup", async () => {
    const missing = fixture({ files: V2 });
    assert.equal(await missing.src.sandboxGone(sb({ pid: 4242 })), true);
    const reused = fixture({ files: V2, procFiles: { "4242/cgroup": "0::/system.slice/cron.service\n" } });
    assert.equal(await reused.src.sandboxGone(sb({ pid: 4242 })), true);
    const same = fixture({ files: V2, procFiles: { "4242/cgroup": `0::${REL}\n` } });
    assert.equal(await same.src.sandboxGone(sb({ pid: 4242 })), false, "still the pause process");
    const empty = fixture({ files: V2, procFiles: { "4242/cgroup": "" } });
    assert.equal(await empty.src.sandboxGone(sb({ pid: 4242 })), false, "unreadable content is doubt");
  });

  it("cgroup present wins even if the pid is gone", async () => {
    const f = fixture({ files: V2, dirs: [REL] });
    assert.equal(await f.src.sandboxGone(sb({ pid: 4242 })), false);
  });

  it("v1: present in any mounted hierarchy → false; absent from all mounted → true", async () => {
    const inMemory = fixture({ dirs: ["pids", `memory${REL}`] });
    assert.equal(await inMemory.src.sandboxGone(sb()), false);
    const absent = fixture({ dirs: ["pids/kubepods", "cpu,cpuacct", "memory"] });
    assert.equal(await absent.src.sandboxGone(sb()), true);
  });

  it("hybrid: the unified hierarchy counts too", async () => {
    const f = fixture({ dirs: ["pids", `unified${REL}`] });
    assert.equal(await f.src.sandboxGone(sb()), false);
    const g = fixture({ dirs: ["pids", "unified"] });
    assert.equal(await g.src.sandboxGone(sb()), true);
  });

  it("undeterminable → false: no hierarchy at all, empty or invalid path, a file where a dir should be", async () => {
    assert.equal(await fixture({}).src.sandboxGone(sb()), false, "no v2 marker and no v1 hierarchy");
    assert.equal(await fixture({ files: V2 }).src.sandboxGone(sb({ cgroupsPath: "" })), false);
    assert.equal(await fixture({ files: V2 }).src.sandboxGone(sb({ cgroupsPath: "a:b" })), false);
    const file = fixture({ files: { ...V2, [REL.slice(1)]: "not a dir" } });
    assert.equal(await file.src.sandboxGone(sb()), false);
    const { base } = fixture({});
    const cgroupRootMissing = new RealCgroupPidSource({
      cgroupRoot: join(base, "does-not-exist"),
      procRoot: join(base, "does-not-exist-proc"),
    });
    assert.equal(await cgroupRootMissing.sandboxGone(sb()), false);
  });

  it("a cgroup stat error other than not-found (ELOOP, ENAMETOOLONG) is doubt → false", async () => {
    const f = fixture({ files: V2 });
    symlinkSync("kubepods", join(f.base, "cgroup", "kubepods"));
    assert.equal(await f.src.sandboxGone(sb()), false, "symlink loop");
    const long = `/kubepods/${"x".repeat(300)}/sb1`;
    assert.equal(
      await fixture({ files: V2, dirs: ["kubepods"] }).src.sandboxGone(sb({ cgroupsPath: long })),
      false,
    );
  });

  it("a /proc read error other than not-found is doubt → false (EISDIR)", async () => {
    const f = fixture({ files: V2 });
    mkdirSync(join(f.base, "proc", "4242", "cgroup"), { recursive: true });
    assert.equal(await f.src.sandboxGone(sb({ pid: 4242 })), false);
  });
});
