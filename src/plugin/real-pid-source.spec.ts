// RealCgroupPidSource against temp-dir cgroup and /proc trees (v2, v1, hybrid, systemd): which
// tasks a container has (every thread, sorted; cgroup.procs parsing; read errors), whether a pod
// sandbox or a container is positively gone (its cgroup absent everywhere AND its pid gone or
// reused; any doubt → false), and what it logs. Errno faults that a temp dir cannot produce are
// injected by swapping one fs/promises function (syncBuiltinESMExports) for a single path suffix,
// restored in `finally`.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import fsSync from "node:fs";
import fsp from "node:fs/promises";
import { syncBuiltinESMExports } from "node:module";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  SANDBOX_REL as REL,
  V2,
  cgroupTree as fixture,
  sandboxPod as sb,
  threads,
} from "../../test/support/cgroup-fixture.js";
import { ctr, runModuleInChild } from "../../test/support/plugin-harness.js";
import { newMapsAdding } from "../../test/support/v8-maps.js";
import { memoryLogger } from "../../support/worlds/shared/log-capture.js";
import { NriContainerState, type NriContainer, type NriPod } from "../nri/types.js";
import { CgroupGoneError, CgroupReadError } from "./errors.js";
import { RealCgroupPidSource, V1_HIERARCHIES } from "./real-pid-source.js";

/**
 * Runs `body` while `<fn>` fails with `errno` for paths ending in `suffix`: both the fs/promises
 * function and its node:fs `Sync` twin (the hot path reads synchronously).
 */
async function withFault<T>(
  fn: "readFile" | "readdir",
  suffix: string,
  errno: string,
  body: () => Promise<T>,
): Promise<T> {
  const mod = fsp as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const sync = fsSync as unknown as Record<string, (...a: unknown[]) => unknown>;
  const orig = mod[fn];
  const origSync = sync[`${fn}Sync`];
  assert.ok(orig && origSync);
  const injected = (): Error => Object.assign(new Error(`injected ${errno}`), { code: errno });
  mod[fn] = (p: unknown, ...rest: unknown[]) =>
    String(p).endsWith(suffix) ? Promise.reject(injected()) : orig(p, ...rest);
  sync[`${fn}Sync`] = (p: unknown, ...rest: unknown[]) => {
    if (String(p).endsWith(suffix)) throw injected();
    return origSync(p, ...rest);
  };
  syncBuiltinESMExports();
  try {
    return await body();
  } finally {
    mod[fn] = orig;
    sync[`${fn}Sync`] = origSync;
    syncBuiltinESMExports();
  }
}

/** A source over `files` (under the cgroup root) and the task dirs of `procs` (pid → its threads). */
const withProcs = (files: Record<string, string>, procs: Record<number, number[]>): RealCgroupPidSource =>
  fixture({ files, procDirs: threads(procs) }).src;

const cgroupfs = (id: string) => ({ ...ctr(id, "sb"), cgroupsPath: `/kubepods/burstable/podU/${id}` });
const systemd = (id: string) => ({
  ...ctr(id, "sb"),
  cgroupsPath: `kubepods-burstable-podU.slice:cri-containerd:${id}`,
});
const SYSTEMD_DIR = "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podU.slice";
const sbSystemd = (over: Partial<NriPod> = {}): NriPod =>
  sb({ cgroupParent: "", cgroupsPath: "kubepods-burstable-podU.slice:cri-containerd:sb1", ...over });

const C_REL = "kubepods/podU/c1";
const c1 = { ...ctr("c1", "sb"), cgroupsPath: `/${C_REL}` };
const procs = (content: string) => ({ ...V2, [`${C_REL}/cgroup.procs`]: content });

const CONTAINER_REL = "/kubepods/burstable/podU/c1";
/** Container c1 of sandbox sb1 (cgroup CONTAINER_REL) whose init process is `pid`. */
const container = (pid: number): NriContainer => ({
  id: "c1",
  podSandboxId: "sb1",
  name: "app",
  state: NriContainerState.RUNNING,
  labels: {},
  annotations: {},
  cgroupsPath: CONTAINER_REL,
  pid,
});

describe("RealCgroupPidSource.tasksOf", () => {
  it("cgroup v2 + systemd: returns every thread of every process, sorted", async () => {
    const src = withProcs(
      {
        "cgroup.controllers": "cpu pids\n",
        [`${SYSTEMD_DIR}/cri-containerd-c1.scope/cgroup.procs`]: "10\n20\n",
      },
      { 10: [10, 11, 12], 20: [20] },
    );
    assert.deepEqual(await src.tasksOf(systemd("c1"), undefined), [10, 11, 12, 20]);
  });

  it("cgroup v1 hybrid + cgroupfs: reads the pids hierarchy", async () => {
    const src = withProcs(
      {
        "pids/kubepods/burstable/podU/c1/cgroup.procs": "30\n",
        "unified/kubepods/burstable/podU/c1/cgroup.procs": "",
        "memory/kubepods/burstable/podU/c1/cgroup.procs": "30\n",
      },
      { 30: [30, 31] },
    );
    assert.deepEqual(await src.tasksOf(cgroupfs("c1"), undefined), [30, 31]);
  });

  it("cgroup v1 without pids: falls back to another mounted controller", async () => {
    const src = withProcs({ "cpu,cpuacct/kubepods/burstable/podU/c1/cgroup.procs": "40\n" }, { 40: [40] });
    assert.deepEqual(await src.tasksOf(cgroupfs("c1"), undefined), [40]);
  });

  it("drops PIDs ≤ 0 (never returns 0); skips processes that exited before their task dir was read", async () => {
    const src = withProcs(
      { "cgroup.controllers": "", "kubepods/burstable/podU/c1/cgroup.procs": "0\n-1\n50\n51\n" },
      { 50: [50] },
    );
    assert.deepEqual(await src.tasksOf(cgroupfs("c1"), undefined), [50]);
  });

  it("an existing empty cgroup gives []", async () => {
    const src = withProcs({ "cgroup.controllers": "", "kubepods/burstable/podU/c1/cgroup.procs": "\n" }, {});
    assert.deepEqual(await src.tasksOf(cgroupfs("c1"), undefined), []);
  });

  it("garbage in cgroup.procs → CgroupReadError naming the line", async () => {
    const src = withProcs(
      { "cgroup.controllers": "", "kubepods/burstable/podU/c1/cgroup.procs": "60\nabc\n" },
      { 60: [60] },
    );
    await assert.rejects(src.tasksOf(cgroupfs("c1"), undefined), (e: unknown) => {
      return e instanceof CgroupReadError && /line 2/.test(e.message);
    });
  });

  it("a vanished cgroup → CgroupGoneError (v2 and v1)", async () => {
    const v2 = withProcs({ "cgroup.controllers": "" }, {});
    await assert.rejects(v2.tasksOf(cgroupfs("gone"), undefined), CgroupGoneError);
    const v1 = withProcs({ "pids/other/cgroup.procs": "" }, {});
    await assert.rejects(v1.tasksOf(cgroupfs("gone"), undefined), CgroupGoneError);
  });

  it("cgroupPathOf joins the cgroup root and the container's relative path", () => {
    const src = new RealCgroupPidSource({ cgroupRoot: "/cg" });
    assert.equal(src.cgroupPathOf(c1, undefined), `/cg/${C_REL}`);
  });

  it("returns the threads of all processes sorted ascending, whatever the listing order", async () => {
    const { src } = fixture({
      files: procs("30\n10\n20\n"),
      procDirs: ["30/task/30", "30/task/35", "10/task/10", "20/task/20", "20/task/21"],
    });
    assert.deepEqual(await src.tasksOf(c1, undefined), [10, 20, 21, 30, 35]);
  });

  it("tolerates whitespace around lines and blank-looking lines of cgroup.procs", async () => {
    const { src } = fixture({ files: procs(" 10 \n\t\n20\r\n"), procDirs: ["10/task/10", "20/task/20"] });
    assert.deepEqual(await src.tasksOf(c1, undefined), [10, 20]);
  });

  for (const bad of ["x10", "10x"]) {
    it(`a line with junk around the digits (${bad}) is a CgroupReadError`, async () => {
      const { src } = fixture({ files: procs(`10\n${bad}\n`), procDirs: ["10/task/10"] });
      await assert.rejects(src.tasksOf(c1, undefined), CgroupReadError);
    });
  }

  it("the parse error quotes at most 40 characters of the bad line", async () => {
    const { src } = fixture({ files: procs(`${"a".repeat(100)}\n`) });
    await assert.rejects(src.tasksOf(c1, undefined), (e: Error) => {
      assert.ok(e.message.includes(JSON.stringify("a".repeat(40))), e.message);
      assert.ok(!e.message.includes("a".repeat(41)), e.message);
      return true;
    });
  });

  it("drops PIDs outside (0, 2^31-1] with a warning naming container, file and pid", async () => {
    const { logger, records } = memoryLogger("warn");
    const { src, cg } = fixture(
      {
        files: procs("0\n-1\n2147483647\n2147483648\n"),
        // Task dirs exist for every value, so a PID that slipped through would show up.
        procDirs: ["0/task", "-1/task", "2147483647/task/2147483647", "2147483648/task/2147483648"],
      },
      logger,
    );
    assert.deepEqual(await src.tasksOf(c1, undefined), [2147483647]);
    const warned = records.filter((r) => String(r.msg).startsWith("dropped non-positive PID"));
    assert.deepEqual(
      warned.map((r) => [r.pid, r.containerId, r.file]),
      [0, -1, 2147483648].map((p) => [p, "c1", join(cg, C_REL, "cgroup.procs")]),
    );
  });

  it("counts only all-digit positive task names; an empty task dir stands for the pid itself", async () => {
    const { src } = fixture({
      files: procs("5\n9\n"),
      procDirs: ["5/task/5", "5/task/0", "5/task/1e3", "5/task/x7", "9/task"],
    });
    assert.deepEqual(await src.tasksOf(c1, undefined), [5, 9]);
  });

  it("a task dir that cannot be listed (ENOTDIR) falls back to the pid, with a warning naming it", async () => {
    const { logger, records } = memoryLogger("warn");
    const { src } = fixture({ files: procs("7\n"), procFiles: { "7/task": "not a dir" } }, logger);
    assert.deepEqual(await src.tasksOf(c1, undefined), [7]);
    const w = records.find((r) => String(r.msg).startsWith("failed to list threads"));
    assert.equal(w?.pid, 7);
    assert.equal((w?.err as { code?: string } | undefined)?.code, "ENOTDIR");
  });

  it("a process that exits while its task dir is listed (ESRCH) is skipped", async () => {
    const { src } = fixture({ files: procs("7\n8\n"), procDirs: ["7/task/7", "8/task/8"] });
    const got = await withFault("readdir", "/8/task", "ESRCH", () => src.tasksOf(c1, undefined));
    assert.deepEqual(got, [7]);
  });

  it("cgroup.procs unreadable (EIO) → CgroupReadError naming the file, errno kept as cause", async () => {
    const { src, cg } = fixture({ files: procs("7\n"), procDirs: ["7/task/7"] });
    const file = join(cg, C_REL, "cgroup.procs");
    await withFault("readFile", "/cgroup.procs", "EIO", () =>
      assert.rejects(src.tasksOf(c1, undefined), (e: Error) => {
        assert.ok(e instanceof CgroupReadError, String(e));
        assert.ok(e.message.includes(file), e.message);
        assert.equal((e.cause as { code?: string } | undefined)?.code, "EIO");
        return true;
      }),
    );
  });

  for (const errno of ["ENOENT", "ENODEV"]) {
    it(`cgroup.procs vanishing between locate and read (${errno}) → CgroupGoneError naming it`, async () => {
      const { src, cg } = fixture({ files: procs("7\n"), procDirs: ["7/task/7"] });
      await withFault("readFile", "/cgroup.procs", errno, () =>
        assert.rejects(src.tasksOf(c1, undefined), (e: Error) => {
          assert.ok(e instanceof CgroupGoneError, String(e));
          assert.deepEqual(e.tried, [join(cg, C_REL, "cgroup.procs")]);
          return true;
        }),
      );
    });
  }

  it("CgroupGoneError.tried: v2 the one cgroup.procs; v1 every hierarchy in order", async () => {
    const v2 = fixture({ files: V2 });
    await assert.rejects(v2.src.tasksOf(c1, undefined), (e: CgroupGoneError) => {
      assert.deepEqual(e.tried, [join(v2.cg, C_REL, "cgroup.procs")]);
      return true;
    });
    const v1 = fixture({ dirs: ["pids", "memory"] });
    await assert.rejects(v1.src.tasksOf(c1, undefined), (e: CgroupGoneError) => {
      assert.deepEqual(
        e.tried,
        V1_HIERARCHIES.map((h) => join(v1.cg, h, C_REL, "cgroup.procs")),
      );
      return true;
    });
  });

  it("v2: a cgroup.procs that is not a regular file → CgroupGoneError, not a read error", async () => {
    const { src } = fixture({ files: V2, dirs: [`${C_REL}/cgroup.procs`] });
    await assert.rejects(src.tasksOf(c1, undefined), CgroupGoneError);
  });

  it("a leading blank line of cgroup.procs is skipped like any other", async () => {
    const { src } = fixture({ files: procs("\n10\n20\n"), procDirs: ["10/task/10", "20/task/20"] });
    assert.deepEqual(await src.tasksOf(c1, undefined), [10, 20]);
  });

  it("a bad last line without a trailing newline is quoted in full", async () => {
    const { src } = fixture({ files: procs("10\nabc"), procDirs: ["10/task/10"] });
    await assert.rejects(src.tasksOf(c1, undefined), (e: Error) => {
      assert.ok(e instanceof CgroupReadError, String(e));
      assert.ok(e.message.endsWith(`line 2 is not a PID: ${JSON.stringify("abc")}`), e.message);
      return true;
    });
  });

  it("cgroup v2, once seen, is remembered: later reads go straight to <root>/<path>/cgroup.procs", async () => {
    const { src, cg } = fixture({ files: procs("7\n"), procDirs: ["7/task/7"] });
    assert.deepEqual(await src.tasksOf(c1, undefined), [7]);
    rmSync(join(cg, "cgroup.controllers"));
    assert.deepEqual(await src.tasksOf(c1, undefined), [7], "the v2 marker is not looked at again");
    await assert.rejects(src.tasksOf(cgroupfs("gone"), undefined), (e: CgroupGoneError) => {
      assert.deepEqual(e.tried, [join(cg, "kubepods/burstable/podU/gone", "cgroup.procs")]);
      return true;
    });
  });

  it("a procRoot that is not a directory: each process stands for itself; an empty cgroup stays empty", async () => {
    const { cg, base } = fixture({ files: procs("7\n") });
    const procFile = join(base, "proc-file");
    fsSync.writeFileSync(procFile, "not a dir");
    const src = new RealCgroupPidSource({ cgroupRoot: cg, procRoot: procFile });
    assert.deepEqual(await src.tasksOf(c1, undefined), [7]);
    fsSync.writeFileSync(join(cg, C_REL, "cgroup.procs"), "");
    assert.deepEqual(await src.tasksOf(c1, undefined), []);
  });

  it("without a logger option nothing is written to stdout or stderr (default logger is silent)", () => {
    const { cg, proc } = fixture({ files: procs("0\n7\n"), procDirs: ["7/task/7"] });
    const moduleUrl = new URL("./real-pid-source.js", import.meta.url).href;
    const r = runModuleInChild([
      `const { RealCgroupPidSource } = await import(${JSON.stringify(moduleUrl)});`,
      `const src = new RealCgroupPidSource({ cgroupRoot: ${JSON.stringify(cg)}, procRoot: ${JSON.stringify(proc)} });`,
      `const t = await src.tasksOf(${JSON.stringify(c1)}, undefined);`,
      `process.stdout.write(JSON.stringify(t) + "\\n");`,
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "[7]\n", "only the child's own output; a PID-0 warning would be a log line");
    assert.equal(r.stderr, "");
  });
  it("reads cgroup.procs and /proc/<pid>/cgroup without creating a hidden class per read", () => {
    // Node 20 turns a string encoding argument of readFile(Sync) into a fresh options object whose
    // map V8 does not share: one map, descriptor array and IC handlers per read, old-space garbage
    // (docs/performance.md). V8's map log counts those `encoding` transitions.
    const { cg, proc } = fixture({
      files: { ...V2, ...procs("7\n") },
      procDirs: ["7/task/7"],
      procFiles: { "4242/cgroup": `0::${REL}\n` },
    });
    const reads = 400;
    const moduleUrl = new URL("./real-pid-source.js", import.meta.url).href;
    const transitions = newMapsAdding(
      [
        `const { RealCgroupPidSource } = await import(${JSON.stringify(moduleUrl)});`,
        `const src = new RealCgroupPidSource({ cgroupRoot: ${JSON.stringify(cg)}, procRoot: ${JSON.stringify(proc)} });`,
        `for (let i = 0; i < ${reads}; i++) {`,
        `  await src.tasksOf(${JSON.stringify(c1)}, undefined);`,
        `  await src.sandboxGone(${JSON.stringify(sb({ pid: 4242 }))});`,
        `}`,
      ],
      "encoding",
    );
    assert.ok(
      transitions < reads / 4,
      `${transitions} new maps for an encoding option in ${2 * reads} reads`,
    );
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
    const scope = `${SYSTEMD_DIR}/cri-containerd-sb1.scope`;
    assert.equal(await fixture({ files: V2, dirs: [scope] }).src.sandboxGone(sbSystemd()), false);
    assert.equal(await fixture({ files: V2, dirs: [SYSTEMD_DIR] }).src.sandboxGone(sbSystemd()), true);
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
    const malformed = fixture({ files: V2, procFiles: { "4242/cgroup": "/system.slice/cron.service\n" } });
    assert.equal(
      await malformed.src.sandboxGone(sb({ pid: 4242 })),
      false,
      "a line without its fields is doubt",
    );
    const mixed = fixture({
      files: V2,
      procFiles: { "4242/cgroup": "0::/system.slice/cron.service\n/garbage\n" },
    });
    assert.equal(
      await mixed.src.sandboxGone(sb({ pid: 4242 })),
      false,
      "one malformed line among well-formed ones is doubt too",
    );
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

  it("pid ≤ 0 means no process to check: the cgroup's absence alone decides", async () => {
    // /proc/0 and /proc/-1 claim the cgroup; they must not be consulted.
    const alive = { "0/cgroup": `0::${REL}\n`, "-1/cgroup": `0::${REL}\n` };
    const { src } = fixture({ files: V2, procFiles: alive });
    assert.equal(await src.sandboxGone(sb({ pid: 0 })), true);
    assert.equal(await src.sandboxGone(sb({ pid: -1 })), true);
  });

  it("the v2 marker failing to stat (ELOOP) is doubt, even if v1 hierarchies say absent", async () => {
    const { src, cg } = fixture({ dirs: ["pids/kubepods"] });
    symlinkSync("cgroup.controllers", join(cg, "cgroup.controllers"));
    assert.equal(await src.sandboxGone(sb()), false);
  });

  it("v1: a hierarchy root that is not a directory is doubt", async () => {
    const { src } = fixture({ files: { pids: "not a dir" }, dirs: ["memory"] });
    assert.equal(await src.sandboxGone(sb()), false);
  });

  it("v1: a file in the middle of the path (ENOTDIR) counts as absent", async () => {
    const { src } = fixture({ files: { "pids/kubepods": "not a dir" } });
    assert.equal(await src.sandboxGone(sb()), true);
  });

  it("/proc/<pid>/cgroup failing with ESRCH means the pid is gone", async () => {
    const { src } = fixture({ files: V2, procFiles: { "4242/cgroup": `0::${REL}\n` } });
    const gone = await withFault("readFile", "/4242/cgroup", "ESRCH", () =>
      src.sandboxGone(sb({ pid: 4242 })),
    );
    assert.equal(gone, true);
  });

  for (const [name, content, gone] of [
    ["trailing whitespace is trimmed", `0::${REL} \n`, false],
    ["any hierarchy holding it counts (hybrid)", `12:pids:${REL}\n0::/\n`, false],
    ["a host-side prefix before the path still matches", `0::/host${REL}\n`, false],
    ["a child of the path is another cgroup", `0::${REL}/child\n`, true],
  ] as const) {
    it(`/proc/<pid>/cgroup: ${name}`, async () => {
      const { src } = fixture({ files: V2, procFiles: { "4242/cgroup": content } });
      assert.equal(await src.sandboxGone(sb({ pid: 4242 })), gone);
    });
  }

  it("debug logs say why a sandbox is not treated as gone, naming it", async () => {
    const { logger, records } = memoryLogger("debug");
    const msgs = (m: string) => records.filter((r) => r.msg === m);
    const PATH = "sandbox cgroup path unknown; not treating it as gone";
    const CG = "sandbox cgroup undeterminable";
    const PID = "sandbox pid undeterminable";

    assert.equal(await fixture({ files: V2 }, logger).src.sandboxGone(sb({ cgroupsPath: "" })), false);
    assert.equal(msgs(PATH)[0]?.sandboxId, "sb1");
    assert.ok(msgs(PATH)[0]?.err, "the path error is logged");

    const present = fixture({ files: V2, dirs: [REL] }, logger);
    assert.equal(await present.src.sandboxGone(sb()), false);
    assert.equal(msgs(CG).length, 0, "a present cgroup is not doubt");
    const file = fixture({ files: { ...V2, [REL.slice(1)]: "a file" } }, logger);
    assert.equal(await file.src.sandboxGone(sb()), false);
    assert.deepEqual(
      msgs(CG).map((r) => [r.sandboxId, r.rel]),
      [["sb1", REL]],
    );

    const alive = fixture({ files: V2, procFiles: { "4242/cgroup": `0::${REL}\n` } }, logger);
    assert.equal(await alive.src.sandboxGone(sb({ pid: 4242 })), false);
    assert.equal(msgs(PID).length, 0, "a pid still in the cgroup is not doubt");
    const unreadable = fixture({ files: V2, procDirs: ["4242/cgroup"] }, logger);
    assert.equal(await unreadable.src.sandboxGone(sb({ pid: 4242 })), false);
    assert.deepEqual(
      msgs(PID).map((r) => [r.sandboxId, r.pid]),
      [["sb1", 4242]],
    );
  });
});

describe("RealCgroupPidSource.containerGone", () => {
  it("v2: cgroup present → false, even with its process gone", async () => {
    const { src } = fixture({ files: V2, dirs: [CONTAINER_REL] });
    assert.equal(await src.containerGone(container(4242), sb()), false);
  });

  it("v2: cgroup absent and no pid → true; with a pid, true only once /proc/<pid> is gone or elsewhere", async () => {
    const none = fixture({ files: V2 });
    assert.equal(await none.src.containerGone(container(0), sb()), true);
    assert.equal(await none.src.containerGone(container(4242), sb()), true, "/proc/4242 missing");
    const alive = fixture({ files: V2, procFiles: { "4242/cgroup": `0::${CONTAINER_REL}\n` } });
    assert.equal(await alive.src.containerGone(container(4242), sb()), false);
    const reused = fixture({ files: V2, procFiles: { "4242/cgroup": "0::/user.slice/x\n" } });
    assert.equal(await reused.src.containerGone(container(4242), sb()), true);
  });

  it("v1: present in any mounted hierarchy → false; absent from all → true", async () => {
    const present = fixture({ dirs: ["pids", "memory", `memory${CONTAINER_REL}`] });
    assert.equal(await present.src.containerGone(container(0), sb()), false);
    const absent = fixture({ dirs: ["pids", "memory"] });
    assert.equal(await absent.src.containerGone(container(0), sb()), true);
  });

  it("pid ≤ 0 means no process to check: the cgroup's absence alone decides", async () => {
    // /proc/0 and /proc/-1 claim the cgroup; they must not be consulted.
    const alive = { "0/cgroup": `0::${CONTAINER_REL}\n`, "-1/cgroup": `0::${CONTAINER_REL}\n` };
    const { src } = fixture({ files: V2, procFiles: alive });
    assert.equal(await src.containerGone(container(0), sb()), true);
    assert.equal(await src.containerGone(container(-1), sb()), true);
  });

  it("cgroup v2, once seen, is remembered for later checks", async () => {
    const { src, cg } = fixture({ files: V2 });
    assert.equal(await src.containerGone(container(0), sb()), true);
    rmSync(join(cg, "cgroup.controllers"));
    assert.equal(await src.containerGone(container(0), sb()), true, "not 'no hierarchy at all'");
  });

  it("doubt → false: no hierarchy, an invalid path", async () => {
    const { src } = fixture({});
    assert.equal(await src.containerGone(container(0), sb()), false);
    const v2 = fixture({ files: V2 });
    assert.equal(await v2.src.containerGone({ ...container(0), cgroupsPath: "" }, sb()), false);
  });
});

describe("RealCgroupPidSource on this host", () => {
  it("on this host's real /sys/fs/cgroup and /proc: finds this process and all its threads", async (t) => {
    // "<id>:<controllers>:<path>" per hierarchy; take the first one that is not the root cgroup.
    const paths = readFileSync("/proc/self/cgroup", "utf8")
      .split("\n")
      .map((l) => l.split(":").slice(2).join(":"));
    const path = paths.find((p) => p !== "/" && p !== "") ?? "/";
    if (path === "/" || path === "") {
      t.skip("this process runs in the root cgroup, which the source refuses by design");
      return;
    }
    const src = new RealCgroupPidSource();
    const tasks = await src.tasksOf({ ...ctr("self", "sb"), cgroupsPath: path }, undefined);
    assert.ok(tasks.includes(process.pid), `own pid ${process.pid} in ${path}`);
    const threads = readdirSync(`/proc/${process.pid}/task`).map(Number);
    for (const tid of threads) assert.ok(tasks.includes(tid), `thread ${tid}`);
  });
});
