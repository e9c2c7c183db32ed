// The daemon started before the runtime (a node boots, containerd is upgraded): `node --import tsx
// src/cli.ts` spawned WITHOUT --control-socket, so nothing but the NRI stub can keep it running,
// pointed at an NRI socket that does not exist yet. It must stay up, say where it waits (one info
// line per attempt, no stack), register and be synchronized as soon as a FakeRuntime listens there,
// outlive a runtime restart, and stop on SIGTERM/SIGINT with exit 0. --no-reconnect instead exits 1
// with one error line.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { execa, type ResultPromise } from "execa";
import { formatDelay } from "../src/nri/backoff.js";
import { FakeRuntime } from "../support/fakes/fake-runtime.js";
import { tempSocket } from "../support/fakes/fake-runtime-fixtures.js";
import { until } from "./support/plugin-harness.js";

const repo = new URL("..", import.meta.url).pathname;

type Line = Record<string, unknown> & { level: number; msg: string };

/** A spawned daemon and everything it printed. */
interface Spawned {
  proc: ResultPromise<{ reject: false }>;
  /** The raw stdout lines (pino JSON). */
  raw: string[];
  lines: Line[];
  stderr: () => string;
  /** True once the process exited. */
  exited: () => boolean;
  /** Everything printed, for assertion messages. */
  dump: () => string;
}

function spawnDaemon(nriSocket: string, extra: string[] = []): Spawned {
  const proc = execa(
    process.execPath,
    ["--import", "tsx", "src/cli.ts", "--resctrl-provider", "memory", "--nri-socket", nriSocket, ...extra],
    // No control socket (flag or env): the NRI stub is the only thing that can hold the daemon open.
    { cwd: repo, reject: false, env: { NRI_RESCTRL_CONTROL_SOCKET: "", NRI_RESCTRL_LOG_LEVEL: "info" } },
  );
  const raw: string[] = [];
  const lines: Line[] = [];
  let buf = "";
  let err = "";
  let done = false;
  proc.stdout?.on("data", (b: Buffer) => {
    buf += b.toString();
    const parts = buf.split("\n");
    buf = parts.pop()!;
    for (const l of parts) {
      if (l === "") continue;
      raw.push(l);
      if (l.startsWith("{")) lines.push(JSON.parse(l) as Line);
    }
  });
  proc.stderr?.on("data", (b: Buffer) => (err += b.toString()));
  proc.once("exit", () => (done = true));
  return {
    proc,
    raw,
    lines,
    stderr: () => err,
    exited: () => done,
    dump: () => `stdout:\n${raw.join("\n")}\nstderr:\n${err}`,
  };
}

const WAITING = /^waiting for the runtime at (.+), next attempt in (\d+(?:\.\d+)?) s$/;

/** The "waiting for the runtime" lines, each checked for form, fields and the absence of a stack. */
function waitingLines(d: Spawned, socket: string): Line[] {
  const waits = d.lines.filter((l) => l.msg.startsWith("waiting for the runtime"));
  for (const l of waits) {
    const m = WAITING.exec(l.msg);
    assert.ok(m, `waiting line in the expected form: ${l.msg}`);
    assert.equal(m[1], socket);
    assert.equal(l.level, 30, "info level");
    assert.equal(l.socket, socket);
    assert.equal(typeof l.attempt, "number");
    assert.equal(typeof l.delayMs, "number");
    assert.equal(`${m[2]} s`, formatDelay(l.delayMs as number), "the delay said is the delay used");
    assert.match(String(l.code), /^(ENOENT|ECONNREFUSED)$/);
    assert.equal(l.err, undefined, "no error object on a waiting line");
  }
  return waits;
}

/** Lines at warn level or above, and raw lines with a stack frame. */
function problems(d: Spawned, from = 0): string[] {
  return d.raw.slice(from).filter((l) => l.includes("    at ") || (JSON.parse(l) as Line).level >= 40);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Sends `sig`, waits for the exit; returns the exit code and how long it took. */
async function stopWith(d: Spawned, sig: NodeJS.Signals): Promise<{ code: number | undefined; ms: number }> {
  const t0 = Date.now();
  d.proc.kill(sig);
  const r = await d.proc;
  return { code: r.exitCode, ms: Date.now() - t0 };
}

describe("daemon started before the runtime (no --control-socket)", { timeout: 120_000 }, () => {
  const spawned: Spawned[] = [];
  const runtimes: FakeRuntime[] = [];
  const socks: Array<ReturnType<typeof tempSocket>> = [];
  const sock = (): string => {
    const s = tempSocket("daemon-wait-");
    socks.push(s);
    return s.path;
  };
  const start = (path: string, extra?: string[]): Spawned => {
    const d = spawnDaemon(path, extra);
    spawned.push(d);
    return d;
  };

  after(async () => {
    for (const d of spawned) if (!d.exited()) d.proc.kill("SIGKILL");
    await Promise.all(spawned.map((d) => d.proc));
    for (const r of runtimes) await r.close();
    for (const s of socks) s.cleanup();
  });

  it("waits for the absent socket, registers once the runtime listens, outlives a restart, SIGTERM → 0", async () => {
    const path = sock();
    const d = start(path);
    // From its first output (a cold tsx start can take seconds), it must still be running 3 s later.
    await until(() => d.raw.length > 0 || d.exited(), 30_000);
    await sleep(3000);
    assert.equal(d.exited(), false, `the daemon is still waiting after 3 s\n${d.dump()}`);
    const waits = waitingLines(d, path);
    assert.ok(waits.length >= 2, `one waiting line per attempt (got ${waits.length})\n${d.dump()}`);
    assert.deepEqual(
      waits.map((l) => l.attempt),
      waits.map((_, i) => i + 1),
      "attempts counted 1, 2, 3, ...",
    );
    assert.ok(
      waits.every((l) => l.code === "ENOENT"),
      "no socket file: ENOENT",
    );
    assert.ok((waits.at(-1)!.delayMs as number) > (waits[0]!.delayMs as number), "the delay grows (backoff)");
    assert.deepEqual(problems(d), [], "no warning, error or stack while waiting");

    // The runtime comes up: registration and the first Synchronize follow the next attempt.
    const runtime = await FakeRuntime.listen({ socketPath: path, registrationTimeoutMs: 30_000 });
    runtimes.push(runtime);
    await runtime.waitForPlugin(30_000);
    assert.equal(runtime.plugin?.name, "resctrl");
    assert.equal(runtime.plugin?.idx, "10");
    await until(() => d.lines.some((l) => l.msg === "nri stub: synchronized"), 10_000);
    assert.ok(
      d.lines.some((l) => l.msg === "nri stub: registered"),
      `registered line\n${d.dump()}`,
    );
    assert.deepEqual(problems(d), [], "no warning, error or stack up to the registration");

    // The runtime restarts: the daemon (still without any other handle) waits again and re-registers.
    const beforeRestart = d.raw.length;
    await runtime.close();
    runtimes.pop();
    await until(() => waitingLines(d, path).length > waits.length || d.exited(), 10_000);
    await sleep(500);
    assert.equal(d.exited(), false, `the daemon outlives the runtime going away\n${d.dump()}`);
    const again = await FakeRuntime.listen({ socketPath: path, registrationTimeoutMs: 30_000 });
    runtimes.push(again);
    await again.waitForPlugin(30_000);
    // The runtime may see the plugin ready before its log lines reach this pipe.
    await until(() => d.lines.filter((l) => l.msg === "nri stub: synchronized").length === 2, 10_000);
    assert.equal(d.lines.filter((l) => l.msg === "nri stub: registered").length, 2);
    assert.deepEqual(
      problems(d, beforeRestart).filter((l) => !l.includes("connection closed")),
      [],
      "only the closed connection is a warning",
    );

    const r = await stopWith(d, "SIGTERM");
    assert.equal(r.code, 0, d.dump());
    assert.ok(r.ms < 5000, `SIGTERM → exit in ${r.ms} ms`);
  });

  it("SIGINT while still waiting: exit 0 promptly", async () => {
    const path = sock();
    const d = start(path);
    await until(() => waitingLines(d, path).length > 0 || d.exited(), 30_000);
    assert.equal(d.exited(), false, d.dump());
    const r = await stopWith(d, "SIGINT");
    assert.equal(r.code, 0, d.dump());
    assert.ok(r.ms < 5000, `SIGINT → exit in ${r.ms} ms`);
    assert.ok(
      d.lines.some((l) => l.msg === "shutting down" && l.why === "SIGINT"),
      `shutting down on SIGINT\n${d.dump()}`,
    );
  });

  it("--no-reconnect with an absent socket: exit 1 with one error line, no stack", async () => {
    const path = sock();
    const d = start(path, ["--no-reconnect"]);
    const r = await d.proc;
    assert.equal(r.exitCode, 1, d.dump());
    const errors = d.lines.filter((l) => l.level >= 40);
    assert.equal(errors.length, 1, `exactly one error line\n${d.dump()}`);
    assert.equal(errors[0]!.level, 60);
    assert.equal(
      errors[0]!.msg,
      `failed to register with the runtime: nothing listens at ${path} (ENOENT) and reconnect is disabled`,
    );
    assert.equal(errors[0]!.socket, path);
    assert.equal(errors[0]!.code, "ENOENT");
    assert.deepEqual(
      d.raw.filter((l) => l.includes("    at ")),
      [],
      "no stack trace",
    );
    assert.equal(d.stderr(), "");
  });
});
