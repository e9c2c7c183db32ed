import assert from "node:assert/strict";
import { test } from "node:test";
import { execa } from "execa";
import { daemonCommand, removeDaemonBuild } from "./daemon-build.js";

test("the daemon command the worlds spawn runs the real CLI", { timeout: 120_000 }, async () => {
  try {
    const args = await daemonCommand();
    const r = await execa(process.execPath, [...args, "--help"], { reject: false });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /--resctrl-provider/);
    assert.match(r.stdout, /--control-socket/);
  } finally {
    await removeDaemonBuild();
  }
});
