import {
  After,
  AfterAll,
  Before,
  setDefaultTimeout,
  Status,
  type ITestCaseHookParameter,
} from "@cucumber/cucumber";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { describeEvent, pluginErrorLines, scenarioTimeoutMs, type ScenarioWorld } from "./world.js";
import { chooseWorld, shutdownWorlds } from "./worlds/index.js";
import { CAPABILITIES, capabilitiesOf, type ScenarioContext } from "./worlds/types.js";

/*
 * Hook order matters and is fixed by the order of definition below:
 *   0. reject unknown tags (a typo in a capability tag must not go unnoticed);
 *   1. choose the world (skip everything if the profile's world does not exist yet);
 *   2. one guard per capability tag (skip when the world cannot serve the tag);
 *   3. init the world in a fresh per-scenario environment.
 * A Before hook that returns "skipped" skips the remaining Before hooks and every step; the After
 * hooks still run, so they must cope with a world that was never created or initialized.
 */

/** Step timeout: well above the "eventually" deadline, so a slow wait fails with its own message. */
setDefaultTimeout(Math.max(60_000, 4 * scenarioTimeoutMs({})));

/** Timeout of world setup and teardown (a real containerd world starts processes). */
export const WORLD_SETUP_TIMEOUT_MS = 180_000;

const reportedReasons = new Set<string>();

/** Marks the scenario skipped with a visible reason: attached to the report and printed once per run. */
function skip(world: ScenarioWorld, reason: string): "skipped" {
  world.log(`SKIPPED: ${reason}`);
  if (!reportedReasons.has(reason)) {
    reportedReasons.add(reason);
    console.warn(`[scenarios] skipping: ${reason}`);
  }
  return "skipped";
}

/** Tags a feature may carry: the capabilities, plus `@flaky` (retried once, see cucumber.js). */
export const KNOWN_TAGS: ReadonlySet<string> = new Set([...CAPABILITIES.map((c) => `@${c}`), "@flaky"]);

Before({ name: "reject unknown tags" }, function ({ pickle }: ITestCaseHookParameter) {
  const unknown = pickle.tags.map((t) => t.name).filter((t) => !KNOWN_TAGS.has(t));
  // A misspelt capability tag would silently run the scenario in worlds that cannot serve it.
  if (unknown.length > 0) {
    throw new Error(
      `failed to accept tag(s) ${unknown.join(", ")}: known tags are ${[...KNOWN_TAGS].join(", ")}`,
    );
  }
});

Before({ name: "choose the world" }, async function (this: ScenarioWorld) {
  const choice = await chooseWorld(this.parameters);
  if ("unavailable" in choice) return skip(this, choice.unavailable);
  this.setPort(choice.world);
  return undefined;
});

for (const capability of CAPABILITIES) {
  Before({ name: `requires @${capability}`, tags: `@${capability}` }, function (this: ScenarioWorld) {
    if (capabilitiesOf(this.port).has(capability)) return undefined;
    return skip(this, `world "${this.port.name}" cannot serve @${capability}`);
  });
}

let scenarioCounter = 0;

Before(
  { name: "init the world", timeout: WORLD_SETUP_TIMEOUT_MS },
  async function (this: ScenarioWorld, { pickle }: ITestCaseHookParameter) {
    const ctx = await scenarioContext(this, pickle.uri, pickle.name);
    ctx.tags = pickle.tags.map((t) => t.name);
    tmpDirs.set(this, ctx.tmpDir);
    await this.port.init(ctx);
  },
);

const tmpDirs = new WeakMap<ScenarioWorld, string>();

/** A fresh tmp dir, a unique id and a group prefix no other scenario or earlier run shares. */
async function scenarioContext(world: ScenarioWorld, uri: string, name: string): Promise<ScenarioContext> {
  scenarioCounter += 1;
  const feature = basename(uri, ".feature")
    .replace(/[^A-Za-z0-9-]/g, "-")
    .slice(0, 24);
  const nonce = randomBytes(4).toString("hex");
  const id = `${feature}_${scenarioCounter}_${process.pid}`;
  const tmpDir = await mkdtemp(join(tmpdir(), `scn-${nonce}-`));
  world.log(`scenario ${JSON.stringify(name)}: id ${id}, tmp dir ${tmpDir}`);
  return {
    id,
    tmpDir,
    groupPrefix: `s${nonce}_`,
    timeoutMs: world.timeoutMs,
    parameters: world.parameters,
  };
}

After(
  { name: "attach the plugin log and dispose the world", timeout: WORLD_SETUP_TIMEOUT_MS },
  async function (this: ScenarioWorld, { result }: ITestCaseHookParameter) {
    const port = this.portIfAny();
    try {
      if (port && result?.status !== Status.SKIPPED) {
        const lines = await port
          .logLines()
          .catch((e: unknown) => [{ msg: `failed to read plugin log: ${String(e)}` }]);
        // The whole log goes to the report only (a non-text media type is not printed on the
        // terminal); a failed scenario also gets its last lines, printed after the failed step.
        this.attach(lines.map((l) => JSON.stringify(l)).join("\n"), {
          mediaType: "application/x-ndjson",
          fileName: "plugin-log.ndjson",
        });
        if (result?.status === Status.FAILED && lines.length > 0) {
          const tail = lines.slice(-PLUGIN_LOG_TAIL_LINES).map(compactLogLine);
          this.attach(
            `last ${tail.length} of ${lines.length} plugin log lines (all of them: plugin-log.ndjson in the report)\n${tail.join("\n")}`,
            { mediaType: "text/plain", fileName: "plugin-log-tail.txt" },
          );
        }
        const events = port.allEvents().map(describeEvent);
        this.attach(events.length ? events.join("\n") : "(no pod events)", {
          mediaType: "text/plain",
          fileName: "pod-events.txt",
        });
      }
    } finally {
      await port?.dispose();
      const dir = tmpDirs.get(this);
      if (dir) await rm(dir, { recursive: true, force: true });
    }
  },
);

/** Plugin log lines a failed scenario prints on the terminal. */
export const PLUGIN_LOG_TAIL_LINES = 15;

const LEVELS: Readonly<Record<number, string>> = {
  10: "trace",
  20: "debug",
  30: "info",
  40: "warn",
  50: "error",
  60: "fatal",
};

/** One log record as `level msg key=value …` (no time, pid or hostname), for the terminal. Pure. */
export function compactLogLine(l: Record<string, unknown>): string {
  const { level, msg, time: _t, pid: _p, hostname: _h, ...rest } = l;
  const fields = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
  const text = `${LEVELS[Number(level)] ?? String(level ?? "")} ${String(msg ?? "")}${fields ? ` ${fields}` : ""}`;
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

AfterAll(
  { name: "release what worlds share (e.g. the containerd world's daemon)", timeout: WORLD_SETUP_TIMEOUT_MS },
  async function () {
    await shutdownWorlds();
  },
);

/**
 * What to do with plugin error-level log lines no step expected: "fail" (default) fails a passing
 * scenario; "attach" only attaches them (`unexpected-plugin-errors.txt`) and logs a line, for worlds
 * whose daemons still log transient errors. Set per profile: worldParameters.pluginErrors.
 */
export type PluginErrorPolicy = "fail" | "attach";

// Defined after the disposing hook, so it runs before it (After hooks run in reverse order).
After(
  { name: "check for plugin errors no step expected" },
  async function (this: ScenarioWorld, { result }: ITestCaseHookParameter) {
    const port = this.portIfAny();
    if (!port || result?.status !== Status.PASSED) return;
    const unexpected = pluginErrorLines(await port.logLines()).filter(
      (l) => !this.expectedErrors.some((text) => String(l.msg ?? "").includes(text)),
    );
    if (unexpected.length === 0) return;
    const list = unexpected.map((l) => String(l.msg)).join("; ");
    const message = `the plugin logged ${unexpected.length} error(s) no step expected: ${list}`;
    if ((this.parameters.pluginErrors as PluginErrorPolicy | undefined) === "attach") {
      this.log(`WARNING: ${message}`);
      this.attach(unexpected.map((l) => JSON.stringify(l)).join("\n"), {
        mediaType: "text/plain",
        fileName: "unexpected-plugin-errors.txt",
      });
      return;
    }
    throw new Error(`failed to finish cleanly: ${message}`);
  },
);
