import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, it } from "node:test";
import { pino } from "pino";
import { FakeRuntime } from "../../support/fakes/fake-runtime.js";
import { fakeContainer, fakePod, tempSocket } from "../../support/fakes/fake-runtime-fixtures.js";
import { until } from "../../support/fakes/fake-runtime-wire.js";
import type { PluginHandler } from "./handler.js";
import { Code, type TtrpcError } from "./errors.js";
import { RuntimeUnavailableError } from "./stub-socket.js";
import { NriStub, type WaitingInfo } from "./stub.js";
import { openTrunk, type Trunk } from "./trunk.js";
import { NriEvent, type NriContainer, type NriPod } from "./types.js";

/** Records every callback; monitoring-style handler with mask 0x425. */
function recorder(): PluginHandler & {
  calls: string[];
  syncs: Array<{ pods: NriPod[]; ctrs: NriContainer[] }>;
} {
  const calls: string[] = [];
  const syncs: Array<{ pods: NriPod[]; ctrs: NriContainer[] }> = [];
  return {
    calls,
    syncs,
    synchronize(pods, ctrs) {
      syncs.push({ pods, ctrs });
      calls.push(`sync:${pods.length}/${ctrs.length}`);
    },
    runPodSandbox: (p) => void calls.push(`run:${p.name}`),
    removePodSandbox: (p) => void calls.push(`rmpod:${p.name}`),
    startContainer: (p, c) => void calls.push(`start:${p.name}/${c.name}:${c.pid}`),
    removeContainer: (p, c) => void calls.push(`rmctr:${p.name}/${c.name}`),
  };
}

describe("NriStub ↔ FakeRuntime over a unix socket", () => {
  let sock: ReturnType<typeof tempSocket>;
  let rt: FakeRuntime | undefined;
  let stub: NriStub | undefined;
  let cleanupServer: (() => Promise<void>) | undefined;
  beforeEach(() => {
    sock = tempSocket();
  });
  afterEach(async () => {
    await stub?.stop();
    await rt?.close();
    await cleanupServer?.();
    cleanupServer = undefined;
    stub = undefined;
    rt = undefined;
    sock.cleanup();
  });

  it("registers, configures mask 0x425 and synchronizes the runtime state", async () => {
    rt = await FakeRuntime.listen({ socketPath: sock.path });
    const pod = fakePod(1);
    rt.addPod(pod);
    rt.addContainer(fakeContainer(pod, 1));
    const h = recorder();
    stub = new NriStub(h, { name: "test", idx: "10", socketPath: sock.path });
    assert.equal(stub.eventMask, 0x425);
    const configured: number[] = [];
    stub.on("configured", (_req, mask: number) => configured.push(mask));
    let synced: { pods: NriPod[]; containers: NriContainer[] } | undefined;
    stub.on("synchronized", (s: { pods: NriPod[]; containers: NriContainer[] }) => (synced = s));
    await stub.start();
    await stub.waitSynchronized(3000);
    await rt.waitForPlugin(3000);
    assert.equal(stub.state, "synchronized");
    assert.deepEqual(configured, [0x425]);
    assert.equal(rt.plugin?.name, "test");
    assert.equal(rt.plugin?.idx, "10");
    assert.equal(rt.plugin?.mask, 0x425);
    assert.equal(h.syncs.length, 1);
    assert.deepEqual(
      synced?.pods.map((p) => p.id),
      [pod.id],
    );
    assert.equal(synced?.containers.length, 1);
    assert.equal(h.syncs[0]!.pods[0]!.uid, pod.uid);
    assert.equal(h.syncs[0]!.pods[0]!.cgroupParent, pod.cgroupParent);
    assert.equal(h.syncs[0]!.ctrs[0]!.cgroupsPath, fakeContainer(pod, 1).cgroupsPath);
    assert.equal(rt.plugin?.syncRequests.length, 1);
    assert.equal(rt.plugin?.syncRequests[0]!.more, false);
  });

  it("collects chunked sync (more=true) and delivers one complete state", async () => {
    rt = await FakeRuntime.listen({ socketPath: sock.path, syncChunkSize: 2 });
    for (let i = 1; i <= 3; i++) {
      const p = fakePod(i);
      rt.addPod(p);
      rt.addContainer(fakeContainer(p, i));
    }
    const h = recorder();
    stub = new NriStub(h, { name: "test", idx: "10", socketPath: sock.path });
    await stub.start();
    await rt.waitForPlugin(3000);
    const info = rt.plugin!;
    assert.equal(info.syncRequests.length, 3);
    assert.deepEqual(
      info.syncRequests.map((r) => r.more),
      [true, true, false],
    );
    assert.deepEqual(
      info.syncReplies.map((r) => r.more),
      [true, true, false],
    );
    assert.ok(info.syncReplies.every((r) => r.update.length === 0));
    assert.deepEqual(h.calls, ["sync:3/3"]);
    assert.ok(info.configureRequests[0]!.requestTimeout > 0);
  });

  it("dispatches each subscribed event and skips unsubscribed ones", async () => {
    rt = await FakeRuntime.listen({ socketPath: sock.path });
    const h = recorder();
    stub = new NriStub(h, { name: "test", idx: "10", socketPath: sock.path });
    await stub.start();
    await rt.waitForPlugin(3000);
    const pod = fakePod(7);
    const c = fakeContainer(pod, 7);
    assert.equal(await rt.runPodSandbox(pod), true);
    assert.equal(await rt.createContainer(pod, { ...c, pid: 0 }), false); // not subscribed
    assert.equal(await rt.startContainer(pod, c), true);
    assert.equal(await rt.stopContainer(pod, c), false);
    assert.equal(await rt.removeContainer(pod, c), true);
    assert.equal(await rt.stopPodSandbox(pod), false);
    assert.equal(await rt.removePodSandbox(pod), true);
    assert.deepEqual(h.calls, [
      "sync:0/0",
      "run:pod-7",
      `start:pod-7/c-7:${c.pid}`,
      "rmctr:pod-7/c-7",
      "rmpod:pod-7",
    ]);
  });

  it("dispatches the dedicated container RPCs and every StateChange event", async () => {
    rt = await FakeRuntime.listen({ socketPath: sock.path });
    const calls: string[] = [];
    const rec =
      (n: string) =>
      (_p: NriPod, c?: NriContainer): void =>
        void calls.push(c ? `${n}:${c.name}` : n);
    const h: PluginHandler = {
      runPodSandbox: rec("run"),
      stopPodSandbox: rec("stoppod"),
      removePodSandbox: rec("rmpod"),
      createContainer: rec("create"),
      postCreateContainer: rec("postcreate"),
      startContainer: rec("start"),
      postStartContainer: rec("poststart"),
      updateContainer: rec("update"),
      postUpdateContainer: rec("postupdate"),
      stopContainer: rec("stop"),
      removeContainer: rec("rm"),
    };
    stub = new NriStub(h, { name: "all", idx: "99", socketPath: sock.path });
    assert.equal(stub.eventMask, 0x7ff);
    await stub.start();
    await rt.waitForPlugin(3000);
    const pod = fakePod(1);
    const c = fakeContainer(pod, 1);
    await rt.runPodSandbox(pod);
    await rt.createContainer(pod, c);
    await rt.postCreateContainer(pod, c);
    await rt.startContainer(pod, c);
    await rt.postStartContainer(pod, c);
    await rt.updateContainer(pod, c);
    await rt.sendStateChange(NriEvent.POST_UPDATE_CONTAINER, pod, c);
    await rt.stopContainer(pod, c);
    await rt.removeContainer(pod, c);
    await rt.stopPodSandbox(pod);
    await rt.removePodSandbox(pod);
    assert.equal(await rt.sendStateChange(42, pod), true); // unknown event value: logged, empty reply
    assert.deepEqual(calls, [
      "run",
      "create:c-1",
      "postcreate:c-1",
      "start:c-1",
      "poststart:c-1",
      "update:c-1",
      "postupdate:c-1",
      "stop:c-1",
      "rm:c-1",
      "stoppod",
      "rmpod",
    ]);
    assert.equal(stub.state, "synchronized");
  });

  it("a handler rejection becomes an error status for that event, the connection stays up", async () => {
    rt = await FakeRuntime.listen({ socketPath: sock.path });
    stub = new NriStub(
      {
        runPodSandbox: () => {
          throw new Error("boom");
        },
      },
      { name: "test", idx: "10", socketPath: sock.path },
    );
    await stub.start();
    await rt.waitForPlugin(3000);
    await assert.rejects(rt.runPodSandbox(fakePod(1)), (e: Error & { code?: number }) => {
      return e.code === 2 && e.message === "boom";
    });
    assert.equal(stub.state, "synchronized");
  });

  it("an invalid mask from configure is logged and replaced by the derived mask", async () => {
    rt = await FakeRuntime.listen({ socketPath: sock.path });
    stub = new NriStub(
      { configure: () => ({ events: 0x800 }), startContainer: () => undefined },
      { name: "test", idx: "10", socketPath: sock.path },
    );
    await stub.start();
    await rt.waitForPlugin(3000);
    assert.equal(rt.plugin?.mask, 0x20);
  });

  it("an explicit valid mask from configure is used", async () => {
    rt = await FakeRuntime.listen({ socketPath: sock.path });
    stub = new NriStub(
      {
        configure: () => ({ events: 0x420 }),
        startContainer: () => undefined,
        removeContainer: () => undefined,
        runPodSandbox: () => undefined,
      },
      { name: "test", idx: "10", socketPath: sock.path },
    );
    await stub.start();
    await rt.waitForPlugin(3000);
    assert.equal(rt.plugin?.mask, 0x420);
    assert.equal(await rt.runPodSandbox(fakePod(1)), false);
  });

  it("EOF from the runtime closes the stub (no reconnect by default)", async () => {
    rt = await FakeRuntime.listen({ socketPath: sock.path });
    stub = new NriStub(recorder(), { name: "test", idx: "10", socketPath: sock.path });
    await stub.start();
    await stub.waitSynchronized(3000);
    await rt.waitForPlugin(3000);
    const closed = new Promise<unknown>((r) => stub!.once("closed", r));
    rt.dropPlugin();
    await closed;
    assert.equal(stub.state, "closed");
    await assert.rejects(stub.waitSynchronized(100), /closed/);
  });

  it("reconnects with backoff, re-registers and re-synchronizes the current state", async () => {
    rt = await FakeRuntime.listen({ socketPath: sock.path });
    const h = recorder();
    stub = new NriStub(h, {
      name: "test",
      idx: "10",
      socketPath: sock.path,
      reconnect: { initialMs: 10, maxMs: 50, jitter: 0 },
    });
    const reconnecting: Array<{ attempt: number; delayMs: number }> = [];
    stub.on("reconnecting", (i: { attempt: number; delayMs: number }) => reconnecting.push(i));
    let registered = 0;
    stub.on("registered", () => registered++);
    await stub.start();
    await stub.waitSynchronized(3000);
    const pod = fakePod(3);
    await rt.runPodSandbox(pod);
    // Runtime restart: the plugin sees EOF, the socket is gone for a while, then comes back.
    await rt.close();
    rt = undefined;
    await until(() => reconnecting.length >= 2);
    assert.equal(reconnecting[0]!.attempt, 1);
    assert.equal(reconnecting[0]!.delayMs, 10);
    assert.equal(reconnecting[1]!.delayMs, 20);
    assert.notEqual(stub.state, "synchronized");
    rt = await FakeRuntime.listen({ socketPath: sock.path });
    rt.addPod(pod);
    await rt.waitForPlugin(3000);
    await stub.waitSynchronized(3000);
    assert.equal(registered, 2);
    assert.deepEqual(
      h.calls.filter((c) => c.startsWith("sync")),
      ["sync:0/0", "sync:1/0"],
    );
    assert.equal(await rt.removePodSandbox(pod), true);
    assert.ok(h.calls.includes("rmpod:pod-3"));
  });

  it("validates name and idx before connecting, and refuses a handler without events", () => {
    assert.throws(() => new NriStub(recorder(), { name: "", idx: "10" }), /invalid plugin name/);
    assert.throws(() => new NriStub(recorder(), { name: "x", idx: "1" }), /invalid plugin index/);
    assert.throws(() => new NriStub(recorder(), { name: "x", idx: "100" }), /invalid plugin index/);
    assert.throws(
      () => new NriStub({ synchronize: () => undefined }, { name: "x", idx: "10" }),
      /no event method/,
    );
  });

  it("uses a pre-connected socket given in the options", async () => {
    rt = await FakeRuntime.listen({ socketPath: sock.path });
    const conn = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.createConnection(sock.path, () => resolve(s));
      s.once("error", reject);
    });
    stub = new NriStub(recorder(), { name: "pre", idx: "11", socket: conn });
    await stub.start();
    await rt.waitForPlugin(3000);
    assert.equal(rt.plugin?.name, "pre");
  });

  it("start() rejects when RegisterPlugin is not answered in time", async () => {
    const silentServer = net.createServer((s) => void s.resume()); // reads (and so sees EOF), never answers
    await new Promise<void>((r) => silentServer.listen(sock.path, r));
    try {
      stub = new NriStub(recorder(), {
        name: "test",
        idx: "10",
        socketPath: sock.path,
        registrationTimeoutMs: 50,
      });
      const keep = setInterval(() => undefined, 10); // client timers are unref'd
      await assert.rejects(stub.start(), (e: Error) => {
        return (
          /failed to register plugin 10-test/.test(e.message) &&
          /deadline exceeded/.test(String((e.cause as Error).message))
        );
      });
      clearInterval(keep);
    } finally {
      await stub?.stop();
      await new Promise((r) => silentServer.close(r));
    }
  });

  it("with reconnect, start() keeps retrying and rejects only on stop(); waitSynchronized times out", async () => {
    stub = new NriStub(recorder(), {
      name: "test",
      idx: "10",
      socketPath: sock.path,
      reconnect: { initialMs: 5, maxMs: 10, jitter: 0 },
    });
    let attempts = 0;
    stub.on("reconnecting", () => attempts++);
    const started = stub.start();
    await assert.rejects(stub.waitSynchronized(50), /timed out/);
    await until(() => attempts >= 3);
    assert.equal(stub.state, "connecting");
    await stub.stop();
    await assert.rejects(started, /stopped before registration/);
    assert.equal(stub.state, "closed");
  });

  it("answers v0.12 per-event methods with UNIMPLEMENTED so newer runtimes fall back to StateChange", async () => {
    // A hand-made runtime: serves RegisterPlugin on conn 2, calls the plugin on conn 1.
    let runtimeTrunk: Trunk | undefined;
    const registered = new Promise<void>((resolve) => {
      const srv = net.createServer((s) => {
        runtimeTrunk = openTrunk(s, { serveConn: 2, callConn: 1, callTimeoutMs: 2000 });
        runtimeTrunk.server.register("nri.pkg.api.v1alpha1.Runtime", "RegisterPlugin", () => {
          resolve();
          return new Uint8Array(0);
        });
      });
      srv.listen(sock.path);
      cleanupServer = () => new Promise((r) => srv.close(() => r()));
    });
    stub = new NriStub(recorder(), { name: "test", idx: "10", socketPath: sock.path });
    await stub.start();
    await registered;
    await assert.rejects(
      runtimeTrunk!.client.call("nri.pkg.api.v1alpha1.Plugin", "RunPodSandbox", new Uint8Array(0)),
      (e: TtrpcError) => e.code === Code.UNIMPLEMENTED && e.message === "method RunPodSandbox",
    );
  });

  it("start() without reconnect rejects when nothing listens", async () => {
    stub = new NriStub(recorder(), { name: "test", idx: "10", socketPath: sock.path });
    await assert.rejects(stub.start(), /failed to connect nri stub 10-test/);
    assert.equal(stub.state, "closed");
  });
});

describe("NriStub as a runtime-launched plugin (NRI_PLUGIN_SOCKET=3)", () => {
  it("uses the inherited fd 3 with a containerd-like minimal environment", async () => {
    const sock = tempSocket();
    // Generous: a cold `node --import tsx` start can take seconds on a loaded machine.
    const rt = await FakeRuntime.listen({ socketPath: sock.path, registrationTimeoutMs: 60_000 });
    try {
      const conn = await new Promise<net.Socket>((resolve, reject) => {
        const s = net.createConnection(sock.path, () => resolve(s));
        s.once("error", reject);
      });
      conn.pause();
      const script = fileURLToPath(new URL("../../support/fakes/fake-runtime-fd-plugin.ts", import.meta.url));
      const child = spawn(process.execPath, ["--import", "tsx", script], {
        stdio: ["ignore", "pipe", "inherit", conn],
        env: { NRI_PLUGIN_NAME: "launched", NRI_PLUGIN_IDX: "07", NRI_PLUGIN_SOCKET: "3" },
        cwd: fileURLToPath(new URL("../..", import.meta.url)),
      });
      conn.destroy(); // the child holds its own copy of the descriptor
      let out = "";
      child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
      await rt.waitForPlugin(60_000);
      assert.equal(rt.plugin?.name, "launched");
      assert.equal(rt.plugin?.idx, "07");
      assert.equal(rt.plugin?.mask, 0x5);
      assert.equal(await rt.runPodSandbox(fakePod(1)), true);
      await until(() => out.includes("run pod-1"), 10_000);
      rt.dropPlugin();
      assert.equal(await exited, 0);
    } finally {
      await rt.close();
      sock.cleanup();
    }
  });
});

/** A pino logger that keeps its JSON lines (raw and parsed). */
function capturedLogger(): {
  logger: pino.Logger;
  raw: string[];
  lines: Array<Record<string, unknown> & { level: number; msg: string }>;
} {
  const raw: string[] = [];
  const lines: Array<Record<string, unknown> & { level: number; msg: string }> = [];
  const logger = pino(
    { level: "debug" },
    {
      write: (l: string) => {
        raw.push(l);
        lines.push(JSON.parse(l) as Record<string, unknown> & { level: number; msg: string });
      },
    },
  );
  return { logger, raw, lines };
}

describe("NriStub waiting for a runtime that is not there yet", { timeout: 90_000 }, () => {
  let sock: ReturnType<typeof tempSocket>;
  let rt: FakeRuntime | undefined;
  let stub: NriStub | undefined;
  beforeEach(() => {
    sock = tempSocket("stub-wait-");
  });
  afterEach(async () => {
    await stub?.stop();
    await rt?.close();
    stub = undefined;
    rt = undefined;
    sock.cleanup();
  });

  it("no socket yet (ENOENT): one info line per attempt saying where it waits, no error, then registers", async () => {
    const log = capturedLogger();
    stub = new NriStub(recorder(), {
      name: "test",
      idx: "10",
      socketPath: sock.path,
      logger: log.logger,
      reconnect: { initialMs: 10, maxMs: 40, jitter: 0 },
    });
    const waiting: WaitingInfo[] = [];
    const errors: unknown[] = [];
    let reconnecting = 0;
    stub.on("waiting", (w: WaitingInfo) => waiting.push(w));
    stub.on("reconnecting", () => reconnecting++);
    stub.on("error", (e: unknown) => errors.push(e));
    const started = stub.start();
    await until(() => waiting.length >= 3);
    assert.deepEqual(waiting.slice(0, 3), [
      { socket: sock.path, attempt: 1, delayMs: 10, code: "ENOENT" },
      { socket: sock.path, attempt: 2, delayMs: 20, code: "ENOENT" },
      { socket: sock.path, attempt: 3, delayMs: 40, code: "ENOENT" },
    ]);
    const lines = log.lines.filter((l) => l.msg.startsWith("waiting for the runtime"));
    assert.deepEqual(
      lines.slice(0, 3).map((l) => l.msg),
      [
        `waiting for the runtime at ${sock.path}, next attempt in 0.01 s`,
        `waiting for the runtime at ${sock.path}, next attempt in 0.02 s`,
        `waiting for the runtime at ${sock.path}, next attempt in 0.04 s`,
      ],
    );
    const first = lines[0]!;
    assert.equal(first.level, 30);
    assert.deepEqual(
      { socket: first.socket, attempt: first.attempt, delayMs: first.delayMs, code: first.code },
      { socket: sock.path, attempt: 1, delayMs: 10, code: "ENOENT" },
    );
    assert.equal(first.plugin, "10-test");
    rt = await FakeRuntime.listen({ socketPath: sock.path });
    await started;
    await stub.waitSynchronized(3000);
    assert.deepEqual(errors, [], "no error event for an expected wait");
    assert.deepEqual(
      log.lines.filter((l) => l.level >= 40 || l.msg === "nri stub: reconnecting").map((l) => l.msg),
      [],
      "neither an error/warn line nor a second line per attempt",
    );
    assert.deepEqual(
      log.raw.filter((l) => l.includes('"err"') || l.includes("    at ")),
      [],
      "no error object, no stack",
    );
    assert.equal(reconnecting, waiting.length, '"reconnecting" is still emitted for every retry');
    assert.equal(lines.length, waiting.length, "one line per attempt");
    assert.ok(
      log.lines.some((l) => l.msg === "nri stub: registered"),
      "registered line",
    );
    assert.ok(
      log.lines.some((l) => l.msg === "nri stub: synchronized"),
      "synchronized line",
    );
  });

  it("a stale socket nobody listens on (ECONNREFUSED) is waited on the same way", async () => {
    // A runtime killed while listening leaves its socket file behind.
    const child = spawnSync(
      process.execPath,
      [
        "-e",
        "require('net').createServer().listen(process.argv[1], () => process.kill(process.pid, 'SIGKILL'))",
        sock.path,
      ],
      { timeout: 10_000 },
    );
    assert.equal(child.signal, "SIGKILL");
    const log = capturedLogger();
    stub = new NriStub(recorder(), {
      name: "test",
      idx: "10",
      socketPath: sock.path,
      logger: log.logger,
      reconnect: { initialMs: 10, maxMs: 10, jitter: 0 },
    });
    const waiting: WaitingInfo[] = [];
    stub.on("waiting", (w: WaitingInfo) => waiting.push(w));
    const started = stub.start();
    await until(() => waiting.length >= 2);
    assert.equal(waiting[0]!.code, "ECONNREFUSED");
    assert.deepEqual(
      log.lines.filter((l) => l.level >= 40),
      [],
    );
    rt = await FakeRuntime.listen({ socketPath: sock.path }); // replaces the stale file
    await started;
    await rt.waitForPlugin(3000);
  });

  it("an unexpected connect error keeps the error-level 'nri stub: failure' line with the error", async () => {
    const log = capturedLogger();
    stub = new NriStub(recorder(), {
      name: "test",
      idx: "10",
      socketPath: "/etc/passwd/nri.sock", // ENOTDIR: a misconfiguration, not a runtime that is late
      logger: log.logger,
      reconnect: { initialMs: 10, maxMs: 10, jitter: 0 },
    });
    const errors: Error[] = [];
    stub.on("error", (e: Error) => errors.push(e));
    const started = stub.start();
    await until(() => errors.length >= 2);
    const failure = log.lines.find((l) => l.msg === "nri stub: failure");
    assert.equal(failure?.level, 50);
    assert.match(JSON.stringify(failure?.err), /ENOTDIR/);
    assert.ok(
      log.lines.some((l) => l.msg === "nri stub: reconnecting" && l.attempt === 1),
      "reconnecting line",
    );
    assert.equal(
      log.lines.filter((l) => l.msg.startsWith("waiting for the runtime")).length,
      0,
      "not reported as waiting",
    );
    await stub.stop();
    await assert.rejects(started, /stopped before registration/);
  });

  it("without reconnect, start() rejects with RuntimeUnavailableError and logs no error", async () => {
    const log = capturedLogger();
    stub = new NriStub(recorder(), { name: "test", idx: "10", socketPath: sock.path, logger: log.logger });
    await assert.rejects(stub.start(), (e: unknown) => {
      assert.ok(e instanceof RuntimeUnavailableError, `a RuntimeUnavailableError: ${String(e)}`);
      assert.equal(e.socket, sock.path);
      assert.equal(e.code, "ENOENT");
      assert.equal(
        e.message,
        `failed to connect nri stub 10-test: no runtime listening at ${sock.path} (ENOENT)`,
      );
      assert.equal((e.cause as { code?: string }).code, "ENOENT");
      return true;
    });
    assert.equal(stub.state, "closed");
    assert.deepEqual(
      log.lines.filter((l) => l.level >= 40),
      [],
    );
  });

  it("reconnect.keepAlive holds the process open while waiting; stop() lets it exit; default does not hold it", () => {
    const run = (keepAlive: boolean): { status: number | null; stdout: string; stderr: string } => {
      const script = [
        `import { NriStub } from ${JSON.stringify(new URL("./stub.ts", import.meta.url).href)};`,
        "const stub = new NriStub({ runPodSandbox() {} }, {",
        `  name: "alive", idx: "10", socketPath: ${JSON.stringify(sock.path)},`,
        `  reconnect: { initialMs: 20, maxMs: 20, jitter: 0, keepAlive: ${keepAlive} },`,
        "});",
        "let n = 0;",
        'stub.on("waiting", () => { if (++n === 5) { console.log("waited 5 times"); void stub.stop(); } });',
        'stub.start().catch((e) => console.log("start: " + e.message));',
        'process.on("exit", (code) => console.log("exit " + code + " after " + n));',
      ].join("\n");
      return spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
        encoding: "utf8",
        timeout: 20_000,
        cwd: fileURLToPath(new URL("../..", import.meta.url)),
      });
    };
    const held = run(true);
    assert.equal(held.status, 0, held.stderr);
    assert.deepEqual(held.stdout.trim().split("\n"), [
      "waited 5 times",
      "start: failed to start nri stub 10-alive: stopped before registration",
      "exit 0 after 5",
    ]);
    const loose = run(false);
    assert.equal(loose.status, 0, loose.stderr);
    assert.deepEqual(
      loose.stdout.trim().split("\n"),
      ["exit 0 after 1"],
      "the unref'd retry does not hold it",
    );
  });
});
