// LocalContainerd against a fake setup script (the script seam); the real one is exercised by
// test/containerd-interop.spec.ts.
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { DEFAULT_SUITE, LocalContainerd, SKIP_ENV, SUITE_ENV } from "./local-containerd.js";

const FAKE = `#!/usr/bin/env bash
echo "$*" >>"$FAKE_CALLS"
case $1 in
check) case $FAKE_MODE in ok) echo ok ;; unavailable) echo "no archive here"; exit 3 ;; *) echo boom >&2; exit 7 ;; esac ;;
start|restart) [[ -n $FAKE_SUITE_SEEN ]] && echo "\${NRI_CONTAINERD_SUITE:-unset}" >"$FAKE_SUITE_SEEN"
  [[ $FAKE_MODE == fail ]] && { echo "cannot start" >&2; exit 1; }
  printf 'DIR=%s\\nCRI_SOCKET=%s/run/c.sock\\nNRI_SOCKET=%s/nri.sock\\nLOG=%s/c.log\\nPID=%s\\n' "$2" "$2" "$2" "$2" "$([[ $1 == start ]] && echo 101 || echo 202)" ;;
stop) ;;
esac
`;

describe("LocalContainerd (fake script)", () => {
  let dir: string;
  let script: string;
  let calls: string;
  const savedSkip = process.env[SKIP_ENV];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "local-ctrd-spec-"));
    script = join(dir, "fake.sh");
    calls = join(dir, "calls");
    writeFileSync(script, FAKE);
    chmodSync(script, 0o755);
    delete process.env[SKIP_ENV];
  });
  afterEach(() => {
    if (savedSkip === undefined) delete process.env[SKIP_ENV];
    else process.env[SKIP_ENV] = savedSkip;
    rmSync(dir, { recursive: true, force: true });
  });
  const env = (mode: string): Record<string, string> => ({ FAKE_MODE: mode, FAKE_CALLS: calls });
  const asRoot = (t: { skip(msg: string): void }): boolean => {
    if (process.getuid?.() === 0) return true;
    t.skip("available() answers 'not root' before consulting the script; run as root to cover this");
    return false;
  };

  it("says why it is unavailable when the skip variable is set, without running the script", async () => {
    process.env[SKIP_ENV] = "1";
    assert.deepEqual(await LocalContainerd.available({ script, env: env("ok") }), {
      ok: false,
      reason: `local containerd disabled by ${SKIP_ENV}=1`,
    });
  });

  it("maps check's exit 0 to ok and exit 3 to its reason", async (t) => {
    if (!asRoot(t)) return;
    assert.deepEqual(await LocalContainerd.available({ script, env: env("ok") }), { ok: true });
    assert.deepEqual(await LocalContainerd.available({ script, env: env("unavailable") }), {
      ok: false,
      reason: "no archive here",
    });
  });

  it("rejects (never skips) when the check itself breaks", async (t) => {
    if (!asRoot(t)) return;
    await assert.rejects(LocalContainerd.available({ script, env: env("broken") }), /failed to check .*boom/);
  });

  it("start parses the script's KEY=value output; restart updates the pid; stop runs once", async () => {
    const run = join(dir, "run");
    const c = await LocalContainerd.start({ dir: run, script, env: env("ok") });
    assert.equal(c.dir, run);
    assert.equal(c.criSocket, `${run}/run/c.sock`);
    assert.equal(c.nriSocket, `${run}/nri.sock`);
    assert.equal(c.logPath, `${run}/c.log`);
    assert.equal(c.pid, 101);
    await c.restart();
    assert.equal(c.pid, 202);
    await c.stop();
    await c.stop();
    assert.deepEqual(readFileSync(calls, "utf8").trim().split("\n"), [
      `start ${run}`,
      `restart ${run}`,
      `stop ${run}`,
    ]);
  });

  it("passes the suite to the script and remembers it (env first, then this process's, then trixie)", async () => {
    const saved = process.env[SUITE_ENV];
    const seen = join(dir, "suite");
    try {
      delete process.env[SUITE_ENV];
      const forky = await LocalContainerd.start({
        dir: join(dir, "a"),
        script,
        env: { ...env("ok"), FAKE_SUITE_SEEN: seen, [SUITE_ENV]: "forky" },
      });
      assert.equal(forky.suite, "forky");
      assert.equal(readFileSync(seen, "utf8").trim(), "forky");
      const plain = await LocalContainerd.start({
        dir: join(dir, "b"),
        script,
        env: { ...env("ok"), FAKE_SUITE_SEEN: seen },
      });
      assert.equal(plain.suite, DEFAULT_SUITE);
      assert.equal(readFileSync(seen, "utf8").trim(), "unset", "setup.sh picks its own default");
      process.env[SUITE_ENV] = "forky";
      const inherited = await LocalContainerd.start({ dir: join(dir, "c"), script, env: env("ok") });
      assert.equal(inherited.suite, "forky");
    } finally {
      if (saved === undefined) delete process.env[SUITE_ENV];
      else process.env[SUITE_ENV] = saved;
    }
  });

  it("start rejects with the dir and the script's stderr in the cause", async () => {
    const run = join(dir, "run");
    const err: unknown = await LocalContainerd.start({ dir: run, script, env: env("fail") }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof Error);
    assert.equal(err.message, `failed to start local containerd ${run}`);
    assert.match(String((err.cause as Error).message), /cannot start/);
  });
});
