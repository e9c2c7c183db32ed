import assert from "node:assert/strict";
import { test } from "node:test";
import { exitMatches, HOLD_FIFO, threadedCommand } from "./cri-pods.js";

test("a container with N threads runs one busybox sh for 1, perl with N-1 extra threads otherwise; both exit 0 on SIGTERM", () => {
  const one = threadedCommand(1);
  assert.equal(one.mountHostUsr, false);
  assert.deepEqual(one.command.slice(0, 2), ["sh", "-c"]);
  assert.match(one.command[2] ?? "", /^trap "exit 0" TERM; /);
  assert.ok(one.command[2]?.includes(`read x <>${HOLD_FIFO}`));
  const eight = threadedCommand(8);
  assert.equal(eight.mountHostUsr, true);
  assert.ok(eight.command.includes("-Mthreads"));
  assert.match(eight.command.at(-1) ?? "", /for 1\.\.7;/);
  assert.match(eight.command.at(-1) ?? "", /^\$SIG\{TERM\} = sub \{ POSIX::_exit\(0\) \};/);
});

test("a crash is any non-zero exit status, a completion exactly 0", () => {
  assert.equal(exitMatches("crash", 137), true);
  assert.equal(exitMatches("crash", 0), false);
  assert.equal(exitMatches("complete", 0), true);
  assert.equal(exitMatches("complete", 143), false);
});
