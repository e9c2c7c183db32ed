// The daemon's memory-provider limbo flag: `--memory-rmid-limbo-ms` / NRI_RESCTRL_MEMORY_RMID_LIMBO_MS
// parsed, documented in --help, and handed to the MemFs as `rmidLimboMs` (proved through the
// plugin's retry answers with FakeRuntime on the NRI socket). The daemon's other flags are tested in
// test/daemon-e2e.spec.ts ("daemon options").
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { pino } from "pino";
import { FakeRuntime } from "../support/fakes/fake-runtime.js";
import { fakePod } from "../support/fakes/fake-runtime-fixtures.js";
import { DEFAULT_MEMORY_RMID_LIMBO_MS, parseCliOptions, startDaemon, usage } from "./cli.js";

describe("--memory-rmid-limbo-ms", () => {
  it("defaults to 0: freed RMIDs are free at once", () => {
    assert.equal(DEFAULT_MEMORY_RMID_LIMBO_MS, 0);
    assert.equal(parseCliOptions([], {}).memoryRmidLimboMs, 0);
    assert.equal(parseCliOptions([], { NRI_RESCTRL_MEMORY_RMID_LIMBO_MS: "" }).memoryRmidLimboMs, 0);
  });

  it("comes from the flag or the environment; the flag wins", () => {
    assert.equal(parseCliOptions(["--memory-rmid-limbo-ms", "250"], {}).memoryRmidLimboMs, 250);
    assert.equal(parseCliOptions(["--memory-rmid-limbo-ms=0"], {}).memoryRmidLimboMs, 0);
    const env = { NRI_RESCTRL_MEMORY_RMID_LIMBO_MS: "1000" };
    assert.equal(parseCliOptions([], env).memoryRmidLimboMs, 1000);
    assert.equal(parseCliOptions(["--memory-rmid-limbo-ms", "5"], env).memoryRmidLimboMs, 5);
  });

  for (const bad of ["-1", "x", "1.5", "1e3", " 7", "99999999999999999999"]) {
    it(`rejects ${JSON.stringify(bad)} from the flag and from the environment`, () => {
      assert.throws(
        () => parseCliOptions([`--memory-rmid-limbo-ms=${bad}`], {}),
        /failed to parse --memory-rmid-limbo-ms/,
      );
      assert.throws(
        () => parseCliOptions([], { NRI_RESCTRL_MEMORY_RMID_LIMBO_MS: bad }),
        /failed to parse --memory-rmid-limbo-ms/,
      );
    });
  }

  it("is documented in --help with its environment variable and default", () => {
    const line = usage()
      .split("\n")
      .find((l) => l.trimStart().startsWith("--memory-rmid-limbo-ms"));
    assert.ok(line, "a --help line for --memory-rmid-limbo-ms");
    assert.match(line, /limbo/);
    assert.match(line, /\(default: 0\)/);
    assert.match(line, /\[NRI_RESCTRL_MEMORY_RMID_LIMBO_MS\]/);
  });

  /**
   * Starts the daemon with the memory provider and 2 RMIDs (root + one group) against a
   * FakeRuntime; pod 1 takes the last RMID, pod 2 is Failed; pod 1 is removed, then pod 2's group
   * creation is retried. Resolves with the retry's rejection (its class name) or "ok".
   */
  async function retryAfterFreeing(limboMs: number): Promise<string> {
    const dir = mkdtempSync(join(tmpdir(), "cli-limbo-"));
    const socketPath = join(dir, "nri.sock");
    const runtime = await FakeRuntime.listen({ socketPath });
    const o = parseCliOptions(
      [
        "--resctrl-provider=memory",
        "--memory-rmids=2",
        `--memory-rmid-limbo-ms=${limboMs}`,
        `--nri-socket=${socketPath}`,
        `--cgroup-root=${join(dir, "cgroup")}`,
        "--no-reconnect",
      ],
      {},
    );
    const daemon = await startDaemon(o, pino({ level: "silent" }));
    try {
      await daemon.registered;
      await runtime.waitForPlugin(10_000);
      const [p1, p2] = [fakePod(1), fakePod(2)];
      await runtime.runPodSandbox(p1);
      await runtime.runPodSandbox(p2);
      const kinds = (): string[] => daemon.plugin.snapshot().map((s) => s.groupState.kind);
      assert.deepEqual(kinds(), ["Exists", "Failed"], "pod 1 took the last RMID");
      await runtime.stopPodSandbox(p1);
      await runtime.removePodSandbox(p1);
      assert.equal(daemon.plugin.snapshot().length, 1, "pod 1 is gone");
      return await daemon.plugin.retryGroupCreation(p2.uid).then(
        () => "ok",
        (err: unknown) => (err instanceof Error ? err.name : String(err)),
      );
    } finally {
      await daemon.stop();
      await runtime.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it("reaches the memory provider: a freed RMID waits in limbo (EBUSY → RmidLimboError)", async () => {
    assert.equal(await retryAfterFreeing(600_000), "RmidLimboError");
  });

  it("reaches the memory provider: with 0 a freed RMID is usable at once", async () => {
    assert.equal(await retryAfterFreeing(0), "ok");
  });
});
