// RealCgroupPidSource edge behaviour, written against StrykerJS mutation survivors (docs/testing.md):
// sorted output, cgroup.procs parsing (whitespace, anchored PIDs, the 40-char error excerpt, the
// (0, 2^31-1] range and its warning), thread listing (digit-only positive names, empty task dir,
// ENOTDIR/ESRCH), read errors of cgroup.procs (EIO → CgroupReadError with cause; ENOENT/ENODEV →
// CgroupGoneError), the `tried` list, sandboxGone's doubt cases and debug logs, the silent default
// logger. Errno faults that a temp dir cannot produce are injected by swapping one fs/promises
// function (syncBuiltinESMExports) for a single path suffix, restored in `finally`.
import assert from "node:assert/strict";
import { symlinkSync } from "node:fs";
import fsp from "node:fs/promises";
import { syncBuiltinESMExports } from "node:module";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CgroupGoneError, CgroupReadError } from "../src/plugin/errors.js";
import { RealCgroupPidSource, V1_HIERARCHIES } from "../src/plugin/real-pid-source.js";
import { memoryLogger } from "../support/worlds/mock/memory-logger.js";
import { SANDBOX_REL as REL, V2, cgroupTree as fixture, sandboxPod as sb } from "./cgroup-fixture.js";
import { ctr, runModuleInChild } from "./plugin-harness.js";

/** Runs `body` while `fs/promises.<fn>` fails with `errno` for paths ending in `suffix`. */
async function withFault<T>(
  fn: "readFile" | "readdir",
  suffix: string,
  errno: string,
  body: () => Promise<T>,
): Promise<T> {
  const mod = fsp as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const orig = mod[fn];
  assert.ok(orig);
  mod[fn] = (p: unknown, ...rest: unknown[]) =>
    String(p).endsWith(suffix)
      ? Promise.reject(Object.assign(new Error(`injected ${errno}`), { code: errno }))
      : orig(p, ...rest);
  syncBuiltinESMExports();
  try {
    return await body();
  } finally {
    mod[fn] = orig;
    syncBuiltinESMExports();
  }
}

const C_REL = "kubepods/podU/c1";
const c1 = { ...ctr("c1", "sb"), cgroupsPath: `/${C_REL}` };
const procs = (content: string) => ({ ...V2, [`${C_REL}/cgroup.procs`]: content });

describe("RealCgroupPidSource.tasksOf (survivors)", () => {
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

  it("without a logger option nothing is written to stdout or stderr (default logger is silent)", () => {
    const { cg, proc } = fixture({ files: procs("0\n7\n"), procDirs: ["7/task/7"] });
    const moduleUrl = new URL("../src/plugin/real-pid-source.js", import.meta.url).href;
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
});

describe("RealCgroupPidSource.sandboxGone (survivors)", () => {
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
