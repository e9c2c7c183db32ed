// The daemon's flags parsed here: the memory-provider limbo flag `--memory-rmid-limbo-ms` / NRI_RESCTRL_MEMORY_RMID_LIMBO_MS
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
import { DEFAULT_MEMORY_RMID_LIMBO_MS, parseCliOptions, parseDuration, startDaemon, usage } from "./cli.js";

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

describe("--retry-interval, --http-listen, --node-name and the pod filters", () => {
  it("--retry-interval: default 10s, durations with units, 0 = none; flag wins over env", () => {
    assert.equal(parseCliOptions([], {}).retryIntervalMs, 10_000);
    assert.equal(parseCliOptions(["--retry-interval", "0"], {}).retryIntervalMs, 0);
    assert.equal(parseCliOptions(["--retry-interval", "500ms"], {}).retryIntervalMs, 500);
    assert.equal(parseCliOptions(["--retry-interval", "1.5s"], {}).retryIntervalMs, 1500);
    assert.equal(parseCliOptions(["--retry-interval", "2m"], {}).retryIntervalMs, 120_000);
    const env = { NRI_RESCTRL_RETRY_INTERVAL: "30s" };
    assert.equal(parseCliOptions([], env).retryIntervalMs, 30_000);
    assert.equal(parseCliOptions(["--retry-interval=1s"], env).retryIntervalMs, 1000);
    for (const bad of ["10", "-1s", "1d", "50ms", "25h", "s", "1 s"]) {
      assert.throws(() => parseCliOptions(["--retry-interval", bad], {}), /--retry-interval/, bad);
    }
    assert.equal(parseDuration("x", "100ms"), 100);
  });

  it("--http-listen: off by default, HOST:PORT validated at parse time", () => {
    assert.equal(parseCliOptions([], {}).httpListen, undefined);
    assert.equal(parseCliOptions(["--http-listen", "0.0.0.0:9100"], {}).httpListen, "0.0.0.0:9100");
    assert.equal(parseCliOptions([], { NRI_RESCTRL_HTTP_LISTEN: "[::1]:0" }).httpListen, "[::1]:0");
    for (const bad of ["9100", ":9100x", "host:99999", "a b:1"])
      assert.throws(() => parseCliOptions(["--http-listen", bad], {}), /--http-listen/, bad);
  });

  it("--node-name comes from NODE_NAME (downward API)", () => {
    assert.equal(parseCliOptions([], { NODE_NAME: "node-7" }).nodeName, "node-7");
    assert.equal(parseCliOptions([], {}).nodeName, undefined);
  });

  it("filters: namespaces, exclude-namespaces, label selector from flags or env", () => {
    assert.deepEqual(parseCliOptions([], {}).plugin.podFilter, {
      namespaces: [],
      excludeNamespaces: [],
      podLabelSelector: [],
    });
    const o = parseCliOptions(["--namespaces", "a,b", "--pod-label-selector", "tier=web,!skip"], {
      NRI_RESCTRL_EXCLUDE_NAMESPACES: "kube-system",
    });
    assert.deepEqual(o.plugin.podFilter, {
      namespaces: ["a", "b"],
      excludeNamespaces: ["kube-system"],
      podLabelSelector: [
        { key: "tier", op: "=", value: "web" },
        { key: "skip", op: "!exists" },
      ],
    });
    assert.throws(() => parseCliOptions(["--namespaces", "Bad_NS"], {}), /namespaces/);
    assert.throws(() => parseCliOptions(["--pod-label-selector", "a b"], {}), /podLabelSelector/);
  });

  it("--follow-rdt-classes: off by default; flag or env", () => {
    assert.equal(parseCliOptions([], {}).plugin.followRdtClasses, false);
    assert.equal(parseCliOptions(["--follow-rdt-classes"], {}).plugin.followRdtClasses, true);
    const env = { NRI_RESCTRL_FOLLOW_RDT_CLASSES: "true" };
    assert.equal(parseCliOptions([], env).plugin.followRdtClasses, true);
    assert.equal(parseCliOptions(["--no-follow-rdt-classes"], env).plugin.followRdtClasses, false);
    assert.match(usage(), /--\[no-\]follow-rdt-classes .*\[NRI_RESCTRL_FOLLOW_RDT_CLASSES\]/);
  });

  it("every new flag is in --help with its environment variable", () => {
    const help = usage();
    for (const [flag, env] of [
      ["--retry-interval", "NRI_RESCTRL_RETRY_INTERVAL"],
      ["--http-listen", "NRI_RESCTRL_HTTP_LISTEN"],
      ["--node-name", "NODE_NAME"],
      ["--namespaces", "NRI_RESCTRL_NAMESPACES"],
      ["--exclude-namespaces", "NRI_RESCTRL_EXCLUDE_NAMESPACES"],
      ["--pod-label-selector", "NRI_RESCTRL_POD_LABEL_SELECTOR"],
    ]) {
      const line = help.split("\n").find((l) => l.includes(`${flag} `));
      assert.ok(line?.includes(`[${env}]`), `${flag}: ${line}`);
    }
  });
});
