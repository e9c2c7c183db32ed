import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemFs } from "./mem-fs.js";

describe("MemFs audit option", () => {
  it("records and counts every call by default", async () => {
    const fs = MemFs.withResctrl();
    await fs.createDir("/sys/fs/resctrl/mon_groups/a");
    await fs.writeStr("/sys/fs/resctrl/mon_groups/a/tasks", "42");
    assert.equal(fs.calls("mkdir"), 1);
    assert.ok(fs.log.some((e) => e.op === "mkdir" && e.path === "/sys/fs/resctrl/mon_groups/a"));
  });

  it("audit: false keeps kernel semantics but records nothing (bounded memory for the daemon)", async () => {
    const fs = MemFs.withResctrl({ audit: false });
    for (let i = 0; i < 100; i++) {
      await fs.createDir(`/sys/fs/resctrl/mon_groups/g${i}`);
      await fs.writeStr(`/sys/fs/resctrl/mon_groups/g${i}/tasks`, String(1000 + i));
      await fs.removeDir(`/sys/fs/resctrl/mon_groups/g${i}`);
    }
    assert.equal(fs.log.length, 0);
    assert.equal(fs.calls("mkdir"), 0);
    await fs.createDir("/sys/fs/resctrl/mon_groups/b");
    await fs.writeStr("/sys/fs/resctrl/mon_groups/b/tasks", "7");
    assert.deepEqual(fs.tasksOf("/sys/fs/resctrl/mon_groups/b"), [7]);
    await assert.rejects(fs.createDir("/sys/fs/resctrl/mon_groups/b"), { code: "EEXIST" });
  });
});
