import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import fc from "fast-check";
import { groupWithLog, overriding, rejectsWith } from "../../test/support/resctrl-helpers.js";
import { MemFs } from "../memfs/mem-fs.js";
import { CapacityError, InvalidPidError, IoError, NoPermissionError, OutsideRootError } from "./errors.js";
import { Resctrl } from "./resctrl.js";
import { addPartial, emptyAssignment, sortIds } from "./tasks.js";

const ROOT = "/sys/fs/resctrl";

async function setup() {
  const fs = MemFs.withResctrl();
  const rc = Resctrl.withProvider(fs);
  const group = await rc.createGroup("u1");
  return { fs, rc, group };
}

describe("Resctrl.assignTasks", () => {
  it("writes each PID once, one write per PID, and the kernel model moves them", async () => {
    const { fs, rc, group } = await setup();
    const r = await rc.assignTasks(group, [5, 7, 5, 9]);
    assert.deepEqual(r, { assigned: 3, missing: 0, foreign: 0, denied: 0, failedPids: [] });
    assert.equal(fs.calls("write", `${group}/tasks`), 3);
    assert.deepEqual(
      fs.log.filter((e) => e.op === "write").map((e) => e.data),
      ["5", "7", "9"],
    );
    assert.deepEqual(fs.tasksOf(group), [5, 7, 9]);
  });

  it("gone (ESRCH) and foreign (EINVAL) tasks are classified and do not abort the batch", async () => {
    const { fs, rc, group } = await setup();
    fs.pidGone(2);
    fs.pidForeign(3);
    const r = await rc.assignTasks(group, [1, 2, 3, 4]);
    assert.equal(r.assigned, 2);
    assert.equal(r.missing, 1);
    assert.equal(r.foreign, 1);
    assert.deepEqual(r.failedPids, [
      { pid: 2, outcome: "gone" },
      { pid: 3, outcome: "foreign" },
    ]);
    assert.deepEqual(fs.tasksOf(group), [1, 4]);
  });

  it("a task in another control group is foreign (real kernel rule in MemFs)", async () => {
    const { fs, rc, group } = await setup();
    await fs.createDir(`${ROOT}/ctrl1`);
    await fs.writeStr(`${ROOT}/ctrl1/tasks`, "42");
    const r = await rc.assignTasks(group, [42]);
    assert.equal(r.foreign, 1);
    assert.equal(fs.groupOf(42), `${ROOT}/ctrl1`);
  });

  it("EPERM for one task while the file is writable → denied, batch continues", async () => {
    const { fs, rc, group } = await setup();
    fs.pidDenied(8);
    const r = await rc.assignTasks(group, [8, 9]);
    assert.equal(r.denied, 1);
    assert.equal(r.assigned, 1);
    assert.deepEqual(r.failedPids, [{ pid: 8, outcome: "denied" }]);
  });

  it("ENOSPC → CapacityError; EACCES on the tasks file itself → NoPermissionError (not per-task denied)", async () => {
    const { fs, rc, group } = await setup();
    fs.failNext("write", `${group}/tasks`, "ENOSPC");
    await assert.rejects(rc.assignTasks(group, [1]), CapacityError);
    await rc.assignTasks(group, [10]);
    fs.denyPath(`${group}/tasks`, ["write"]);
    await assert.rejects(rc.assignTasks(group, [11, 12]), (e: unknown) => {
      assert.ok(e instanceof NoPermissionError);
      assert.deepEqual(e.partial, { assigned: 0, missing: 0, foreign: 0, denied: 0, failedPids: [] });
      return true;
    });
  });

  it("a fatal error mid-batch keeps the counts so far in err.partial and the kernel status", async () => {
    const { fs, rc, group } = await setup();
    fs.pidGone(2);
    let calls = 0;
    const racing = overriding(fs, {
      writeStr: async (p: string, d: string) => {
        calls += 1;
        if (calls === 4) await fs.removeDir(group);
        return fs.writeStr(p, d);
      },
    });
    const rc2 = Resctrl.withProvider(racing);
    await assert.rejects(rc2.assignTasks(group, [1, 2, 3, 4, 5]), (e: unknown) => {
      assert.ok(e instanceof IoError);
      assert.equal(e.code, "ENOENT");
      assert.equal(e.path, `${group}/tasks`);
      assert.deepEqual(e.partial, {
        assigned: 2,
        missing: 1,
        foreign: 0,
        denied: 0,
        failedPids: [{ pid: 2, outcome: "gone" }],
      });
      return true;
    });
    assert.equal(rc.root, ROOT);
  });

  it("kernelStatus comes from info/last_cmd_status after a failed write", async () => {
    const { fs, rc, group } = await setup();
    fs.failNext("write", `${group}/tasks`, "EIO");
    fs.addFile(`${ROOT}/info/last_cmd_status`, "Something odd\n");
    await assert.rejects(
      rc.assignTasks(group, [1]),
      (e: unknown) => e instanceof IoError && e.kernelStatus === "Something odd",
    );
  });

  it("PIDs ≤ 0, fractions, NaN → InvalidPidError before anything is written; PID 0 never reaches the kernel", async () => {
    const { fs, rc, group } = await setup();
    for (const bad of [[0], [1, -3], [1.5], [Number.NaN], [2 ** 60]]) {
      await assert.rejects(rc.assignTasks(group, bad), InvalidPidError, JSON.stringify(bad));
    }
    assert.equal(fs.calls("write"), 0);
    assert.equal(fs.zeroPidWrites, 0);
  });

  it("an empty list writes nothing", async () => {
    const { fs, rc, group } = await setup();
    assert.deepEqual(await rc.assignTasks(group, []), {
      assigned: 0,
      missing: 0,
      foreign: 0,
      denied: 0,
      failedPids: [],
    });
    assert.equal(fs.calls("write"), 0);
  });

  it("a group path outside root → OutsideRootError, nothing written", async () => {
    const { fs, rc } = await setup();
    await assert.rejects(rc.assignTasks("/tmp/x", [1]), OutsideRootError);
    await assert.rejects(rc.assignTasks(`${ROOT}/mon_groups/../../..`, [1]), OutsideRootError);
    await assert.rejects(rc.listGroupTasks("/etc"), OutsideRootError);
    assert.equal(fs.calls("write") + fs.calls("read"), 0);
  });

  it("an invalid-PID error lists at most five of them", async () => {
    const { rc, group } = await groupWithLog();
    await assert.rejects(rc.assignTasks(group, [0, -1, -2, -3, -4, -5, -6]), (err: unknown) => {
      assert.ok(err instanceof InvalidPidError);
      assert.match(err.message, /invalid PID\(s\) 0, -1, -2, -3, -4 \(/);
      return true;
    });
  });

  it("EACCES on one task (tasks file writable) is a per-task refusal like EPERM", async () => {
    const { fs, rc, group } = await groupWithLog();
    fs.failNext("write", `${group}/tasks`, "EACCES");
    const r = await rc.assignTasks(group, [11, 12]);
    assert.equal(r.assigned, 1);
    assert.equal(r.denied, 1);
    assert.deepEqual(r.failedPids, [{ pid: 11, outcome: "denied" }]);
  });

  it("the tasks file's writability is checked once per call, however many tasks are refused", async () => {
    const { fs, rc, group } = await groupWithLog();
    for (const pid of [21, 22, 23]) fs.pidDenied(pid);
    const r = await rc.assignTasks(group, [21, 22, 23]);
    assert.equal(r.denied, 3);
    assert.equal(fs.calls("checkWrite", `${group}/tasks`), 1);
  });

  it("the debug log carries the counts", async () => {
    const { rc, group, records } = await groupWithLog();
    await rc.assignTasks(group, [31, 32]);
    const rec = records.find((r) => r.msg === "assigned tasks");
    assert.equal(rec?.assigned, 2);
    assert.equal(rec?.groupPath, group);
  });

  it("addPartial adds counts to a ResctrlError (with or without a partial) and ignores other errors", () => {
    const earlier = { ...emptyAssignment(), assigned: 2 };
    const bare = new IoError("x");
    addPartial(bare, earlier);
    assert.deepEqual(bare.partial, earlier);
    const plain = new Error("y") as Error & { partial?: unknown };
    addPartial(plain, earlier);
    assert.equal(plain.partial, undefined);
    assert.doesNotThrow(() => addPartial("not an error", earlier));
  });
});

describe("Resctrl.listGroupTasks", () => {
  it("parses the tasks file in order", async () => {
    const { rc, group } = await setup();
    await rc.assignTasks(group, [3, 1, 2]);
    assert.deepEqual(await rc.listGroupTasks(group), [1, 2, 3]);
  });

  it("blank lines skipped; a bad line → IoError naming the line", async () => {
    const fs = MemFs.withResctrl();
    const rc = Resctrl.withProvider(fs);
    fs.addFile(`${ROOT}/mon_groups/x/tasks`, "1\n\n  2 \n");
    assert.deepEqual(await rc.listGroupTasks(`${ROOT}/mon_groups/x`), [1, 2]);
    fs.addFile(`${ROOT}/mon_groups/x/tasks`, "1\na bc\n");
    await assert.rejects(
      rc.listGroupTasks(`${ROOT}/mon_groups/x`),
      (e: unknown) => e instanceof IoError && /line 2/.test(e.message),
    );
  });

  it("read errors use the shared mapping", async () => {
    const { fs, rc, group } = await setup();
    fs.denyPath(`${group}/tasks`, ["read"]);
    await assert.rejects(rc.listGroupTasks(group), NoPermissionError);
    await assert.rejects(
      rc.listGroupTasks(`${ROOT}/mon_groups/nope`),
      (e: unknown) => e instanceof IoError && e.code === "ENOENT",
    );
  });

  it("a tasks line that is not a positive decimal integer fails the listing, naming file and line", async () => {
    for (const line of ["0", "1e3", "0x10", "-5", "12abc", "x12"]) {
      const { fs, rc, group } = await groupWithLog();
      fs.addFile(`${group}/tasks`, `4\n${line}\n`);
      await rejectsWith(rc.listGroupTasks(group), IoError, { path: `${group}/tasks`, code: "EINVAL" });
      await assert.rejects(rc.listGroupTasks(group), /line 2 is not a task id/);
    }
  });

  it("a tasks read failure names the tasks file", async () => {
    const { fs, rc, group } = await groupWithLog();
    fs.failNext("read", `${group}/tasks`, "EIO");
    await rejectsWith(rc.listGroupTasks(group), IoError, { path: `${group}/tasks`, code: "EIO" });
  });
});

describe("listGroupTasks parsing against the line-by-line rules", () => {
  /** The rules as first written: split lines, trim, /^\d+$/, a safe integer > 0, else an error naming the line. */
  const reference = (text: string): number[] | string => {
    const out: number[] = [];
    for (const [i, raw] of text.split("\n").entries()) {
      const line = raw.trim();
      if (line === "") continue;
      const n = /^\d+$/.test(line) ? Number(line) : NaN;
      if (!Number.isSafeInteger(n) || n <= 0)
        return `line ${i + 1} is not a task id: ${JSON.stringify(line)}`;
      out.push(n);
    }
    return out;
  };
  const token = fc.oneof(
    fc.integer({ min: 0, max: 4_194_304 }).map(String),
    fc.constantFrom("", "007", "9007199254740993", "99999999999999999999999", "1e3", "-5", "+5", "x", "1 2"),
    // every character trim() strips, and two it keeps
    fc.constantFrom(
      ..." \t\v\f\r\u00a0\u1680\u2000\u2005\u200a\u2028\u2029\u202f\u205f\u3000\ufeff\u200b\u0085",
    ),
    fc.string({ maxLength: 3 }),
  );
  const text = fc
    .array(
      fc.array(token, { maxLength: 3 }).map((t) => t.join("")),
      { maxLength: 8 },
    )
    .map((lines) => lines.join("\n"));

  it("accepts and rejects exactly what they do, naming the same line", async () => {
    const fs = MemFs.withResctrl();
    const rc = Resctrl.withProvider(fs);
    const group = await rc.createGroup("u1");
    await fc.assert(
      fc.asyncProperty(text, async (t) => {
        fs.addFile(`${group}/tasks`, t);
        const want = reference(t);
        if (typeof want !== "string")
          assert.deepEqual(await rc.listGroupTasks(group), want, JSON.stringify(t));
        else
          await assert.rejects(
            rc.listGroupTasks(group),
            (e: unknown) => e instanceof IoError && e.message.endsWith(want),
            JSON.stringify(t),
          );
      }),
      { numRuns: 3000 },
    );
  });
});

describe("sortIds", () => {
  it("sorts ascending in place like sort((a, b) => a - b), short and long arrays", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(fc.integer({ min: 1, max: 1000 }), { maxLength: 12 }),
          fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 60, maxLength: 100 }),
        ),
        (a) => {
          const want = [...a].sort((x, y) => x - y);
          const got = sortIds(a);
          assert.equal(got, a, "in place");
          assert.deepEqual(got, want);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
