import assert from "node:assert/strict";
import { test } from "node:test";
import { execa } from "execa";
import { threadedCommand } from "./cri-pods.js";
import { daemonCommand, removeDaemonBuild } from "./daemon-build.js";

test("the daemon command the containerd world spawns runs the real CLI", { timeout: 120_000 }, async () => {
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

test("a container with N threads runs busybox sleep for 1, perl with N-1 extra threads otherwise", () => {
  assert.deepEqual(threadedCommand(1), { command: ["sleep", "3600"], mountHostUsr: false });
  const eight = threadedCommand(8);
  assert.equal(eight.mountHostUsr, true);
  assert.ok(eight.command.includes("-Mthreads"));
  assert.match(eight.command.at(-1) ?? "", /for 1\.\.7;/);
});
