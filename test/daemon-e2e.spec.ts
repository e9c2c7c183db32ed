// The daemon end to end: `node --import tsx src/cli.ts` spawned with execa, the memory resctrl
// provider (MemFs, kernel-like rules, a PID is writable only if /proc/<pid> exists) and the REAL
// PID source pointed (--cgroup-root) at a fixture cgroup v2 tree whose cgroup.procs files list real
// PIDs of this machine (this test process, a spawned `sleep`). The real /proc supplies the threads.
// Driven by FakeRuntime over the NRI socket, observed only through the gRPC control API.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { execa, type ResultPromise } from "execa";
import { ControlClient, GroupState, Kind, type PodEvent } from "../src/control/index.js";
import { parseCliOptions } from "../src/cli.js";
import { NriContainerState, type NriContainer, type NriPod } from "../src/nri/types.js";
import { FakeRuntime } from "../support/fakes/fake-runtime.js";
import { fakeContainer, fakePod } from "../support/fakes/fake-runtime-fixtures.js";

const repo = new URL("..", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "daemon-e2e-"));
const nriSock = join(dir, "nri", "nri.sock");
const ctlSock = join(dir, "control.sock");
const cgroupRoot = join(dir, "cgroup");
const MON = "/sys/fs/resctrl/mon_groups";

/** Writes the fixture cgroup of `c` listing `pids`. */
function cgroupOf(c: NriContainer, pids: number[]): void {
  const d = join(cgroupRoot, c.cgroupsPath);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, "cgroup.procs"), pids.map((p) => `${p}\n`).join(""));
}

async function until<T>(
  what: string,
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 10_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const show = (e: PodEvent): string =>
  e.kind === Kind.REMOVED
    ? `${e.podUid} Removed`
    : `${e.podUid} ${e.groupState === GroupState.EXISTS ? "Exists" : "Failed"} ${e.totalContainers}/${e.reconciledContainers}`;

describe("daemon end to end (memory resctrl, real PID source over a fixture cgroup tree)", () => {
  let runtime: FakeRuntime;
  let daemon: ResultPromise<{ reject: false; all: true }>;
  let client: ControlClient;
  const events: PodEvent[] = [];
  const logs: Array<Record<string, unknown>> = [];
  let sleeper: ResultPromise<{ reject: false }> | undefined;
  const p1 = fakePod(1);
  const c1 = fakeContainer(p1, 1);
  const c1stopped = fakeContainer(p1, 9, { state: NriContainerState.STOPPED });
  const ownThreads = readdirSync("/proc/self/task").map(Number);

  before(async () => {
    mkdirSync(cgroupRoot, { recursive: true });
    writeFileSync(join(cgroupRoot, "cgroup.controllers"), "cpu pids\n");
    cgroupOf(c1, [process.pid]);
    // A runtime that lists exited containers in Synchronize (containerd does not; the plugin must cope with both).
    runtime = await FakeRuntime.listen({ socketPath: nriSock, listExitedContainers: true });
    runtime.addPod(p1);
    runtime.addContainer(c1);
    runtime.addContainer(c1stopped);
    daemon = execa(
      process.execPath,
      [
        "--import",
        "tsx",
        "src/cli.ts",
        "--resctrl-provider",
        "memory",
        "--memory-rmids",
        "4",
        "--nri-socket",
        nriSock,
        "--control-socket",
        ctlSock,
        "--cgroup-root",
        cgroupRoot,
        "--plugin-idx",
        "42",
      ],
      { cwd: repo, reject: false, all: true, env: { NRI_RESCTRL_LOG_LEVEL: "debug" } },
    );
    daemon.stdout?.on("data", (b: Buffer) => {
      for (const l of b.toString().split("\n"))
        if (l.startsWith("{")) logs.push(JSON.parse(l) as Record<string, unknown>);
    });
    await runtime.waitForPlugin(20_000);
    client = await ControlClient.connect(ctlSock, 10_000);
    client.watchEvents(true, (e) => events.push(e));
  });

  after(async () => {
    client?.close();
    if (daemon && daemon.exitCode === null) daemon.kill("SIGKILL");
    sleeper?.kill("SIGKILL");
    await runtime?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("registers as 42-resctrl with mask 0x625", () => {
    assert.equal(runtime.plugin?.idx, "42");
    assert.equal(runtime.plugin?.name, "resctrl");
    assert.equal(runtime.plugin?.mask, 0x625);
  });

  it("a preexisting pod is synchronized: group created, every thread of its process moved, STOPPED ignored", async () => {
    const st = await until("p1 reconciled", async () => {
      const s = await client.getState();
      return s.pods[0]?.reconciledContainers === 1 && s;
    });
    const p = st.pods[0]!;
    assert.equal(p.podUid, p1.uid);
    assert.equal(p.groupPath, `${MON}/pod_${p1.uid}`);
    assert.equal(p.totalContainers, 1, "the STOPPED container is not counted");
    const alive = ownThreads.filter((t) => existsSync(`/proc/${process.pid}/task/${t}`));
    for (const t of alive) assert.ok(p.tasks.includes(t), `thread ${t} of this process is in the group`);
    assert.ok(alive.length > 1, "node has several threads: the thread-level fix is exercised");
    assert.equal(events.find((e) => e.podUid === p1.uid)?.fromSnapshot, true);
  });

  it("a pod started after registration: RUN → 0/0, START → 1/1 with the container's process", async () => {
    sleeper = execa("sleep", ["600"], { reject: false });
    const p2 = fakePod(2);
    const c2 = fakeContainer(p2, 2);
    cgroupOf(c2, [sleeper.pid!]);
    const from = events.length;
    assert.equal(await runtime.runPodSandbox(p2), true);
    assert.equal(await runtime.startContainer(p2, c2), true);
    await until("p2 events", () => events.length >= from + 2);
    assert.deepEqual(events.slice(from).map(show), [`${p2.uid} Exists 0/0`, `${p2.uid} Exists 1/1`]);
    const s = await client.getState();
    assert.deepEqual(s.pods.find((p) => p.podUid === p2.uid)?.tasks, [sleeper.pid]);
    // A structured log line per reconcile, with counts.
    // stdout is read asynchronously: the record may arrive after the control API's event.
    const line = await until("the reconcile record", () =>
      logs.find((l) => l.msg === "reconciled container" && l.podUid === p2.uid),
    );
    assert.equal(line?.converged, true);
    assert.equal(line?.assigned, 1);
  });

  it("RMIDs exhausted → Failed; RetryGroupCreation → RESOURCE_EXHAUSTED; after a removal → EXISTS", async () => {
    const p3 = fakePod(3);
    const p4 = fakePod(4);
    await runtime.runPodSandbox(p3);
    await runtime.runPodSandbox(p4);
    const s = await client.getState();
    assert.equal(s.pods.find((p) => p.podUid === p4.uid)?.groupState, GroupState.FAILED);
    await assert.rejects(
      client.retryGroupCreation(p4.uid),
      (e: { code?: number }) => e.code === status.RESOURCE_EXHAUSTED,
    );
    await assert.rejects(
      client.retryGroupCreation("no-such-pod"),
      (e: { code?: number }) => e.code === status.NOT_FOUND,
    );
    const from = events.length;
    await runtime.removePodSandbox(p3);
    await until("Removed", () =>
      events.slice(from).some((e) => e.podUid === p3.uid && e.kind === Kind.REMOVED),
    );
    const ps = await client.retryGroupCreation(p4.uid);
    assert.equal(ps.groupState, GroupState.EXISTS);
    const all = await client.retryAllOnce();
    assert.equal(all.report?.groupAttempts, 0);
  });

  it("runtime restart: reconnects, resyncs (chunked) without duplicate groups or events; vanished pods removed", async () => {
    const before = await client.getState();
    const from = events.length;
    const pods: NriPod[] = runtime.pods();
    const ctrs: NriContainer[] = runtime.containers();
    await runtime.close();
    const gone = fakePod(4);
    runtime = await FakeRuntime.listen({ socketPath: nriSock, syncChunkSize: 1 });
    for (const p of pods) if (p.uid !== gone.uid) runtime.addPod(p);
    for (const c of ctrs) runtime.addContainer(c);
    await runtime.waitForPlugin(20_000);
    const after = await until("p4 dropped on resync", async () => {
      const s = await client.getState();
      return s.pods.length === before.pods.length - 1 && s;
    });
    assert.deepEqual(
      events.slice(from).map(show),
      [`${gone.uid} Removed`],
      "the resync only reports what changed",
    );
    for (const p of after.pods) {
      const b = before.pods.find((x) => x.podUid === p.podUid);
      assert.equal(p.groupPath, b?.groupPath);
      assert.equal(p.reconciledContainers, b?.reconciledContainers);
    }
    assert.equal(
      logs.filter((l) => l.msg === "startup cleanup done").length,
      1,
      "cleanup ran once per process",
    );
  });

  it("SIGTERM: clean exit 0, control socket removed", async () => {
    client.close();
    daemon.kill("SIGTERM");
    const r = await daemon;
    assert.equal(r.exitCode, 0, r.all);
    assert.equal(existsSync(ctlSock), false);
  });
});

describe("daemon options", () => {
  it("flags win over env vars; env vars over defaults", () => {
    const o = parseCliOptions(["--group-prefix", "flag_"], {
      NRI_RESCTRL_GROUP_PREFIX: "env_",
      NRI_RESCTRL_MAX_RECONCILE_PASSES: "5",
      NRI_RESCTRL_AUTO_MOUNT: "false",
    });
    assert.equal(o.plugin.groupPrefix, "flag_");
    assert.equal(o.plugin.maxReconcilePasses, 5);
    assert.equal(o.plugin.autoMount, false);
    assert.equal(
      parseCliOptions(["--auto-mount"], { NRI_RESCTRL_AUTO_MOUNT: "false" }).plugin.autoMount,
      true,
    );
    assert.equal(parseCliOptions(["--no-cleanup-on-start"], {}).plugin.cleanupOnStart, false);
    assert.equal(parseCliOptions([], {}).nriSocket, undefined, "stub default (or NRI_PLUGIN_SOCKET fd)");
  });

  for (const [args, re] of [
    [["--max-reconcile-passes", "0"], /maxReconcilePasses/],
    [["--group-prefix", "a/b"], /groupPrefix/],
    [["--plugin-idx", "7"], /plugin-idx/],
    [["--resctrl-provider", "fake"], /resctrl-provider/],
    [["--unknown"], /Unknown option/],
  ] as const) {
    it(`rejects ${args.join(" ")}`, () => {
      assert.throws(() => parseCliOptions([...args], {}), re);
    });
  }

  it("waiting for an absent runtime: the control API is up, SIGTERM exits 0; --no-reconnect exits 1", async () => {
    const d = mkdtempSync(join(tmpdir(), "daemon-wait-"));
    try {
      const ctl = join(d, "c.sock");
      const base = [
        "--import",
        "tsx",
        "src/cli.ts",
        "--resctrl-provider",
        "memory",
        "--nri-socket",
        join(d, "none.sock"),
      ];
      const waiting = execa(process.execPath, [...base, "--control-socket", ctl], {
        cwd: repo,
        reject: false,
      });
      await until("control socket", () => existsSync(ctl), 20_000);
      const c = await ControlClient.connect(ctl);
      assert.deepEqual((await c.getState()).pods, []);
      c.close();
      waiting.kill("SIGTERM");
      const r = await waiting;
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(existsSync(ctl), false);
      const once = await execa(process.execPath, [...base, "--no-reconnect"], { cwd: repo, reject: false });
      assert.equal(once.exitCode, 1);
      assert.match(once.stdout, /failed to register|failed to start/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it("bad input exits 2 with the usage text", async () => {
    const r = await execa(process.execPath, ["--import", "tsx", "src/cli.ts", "--memory-rmids", "x"], {
      cwd: repo,
      reject: false,
    });
    assert.equal(r.exitCode, 2);
    assert.match(r.stderr, /memory-rmids/);
    assert.match(r.stderr, /Usage: nri-resctrl-plugin/);
  });
});
