import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CommandResult, HostPort, RunOptions } from "../support/worlds/hardware/host.js";
import { INIT_COMMAND, Kube, PLACEHOLDER_IMAGE, WORKLOAD_IMAGE } from "../support/worlds/hardware/kube.js";
import { PodDriver, exitMatches } from "../support/worlds/hardware/pod-driver.js";

// PodDriver and Kube against a tiny fake of kubectl + the kubelet + crictl, which interprets the
// exact command lines the world sends. It checks the flow (what is patched, waited for, removed)
// and that every command is well formed; the real thing runs only on the hardware host.

interface FakeContainer {
  image: string;
  id?: string;
  state: "running" | "waiting" | "terminated";
  restarts?: number;
  exitCode?: number;
}
interface FakePod {
  uid: string;
  containers: Map<string, FakeContainer>;
  ephemeral: Map<string, FakeContainer>;
  init: Map<string, FakeContainer>;
  sandbox?: string;
}
/** What the runtime (crictl inspect) knows of a container id. */
interface FakeRuntimeContainer {
  state: "CONTAINER_RUNNING" | "CONTAINER_EXITED";
  exitCode: number;
  pid: number;
  attempt: number;
}

class FakeCluster implements HostPort {
  readonly pods = new Map<string, FakePod>();
  readonly log: string[] = [];
  readonly removedContainers: string[] = [];
  readonly removedSandboxes: string[] = [];
  /** Sandboxes still listed but already removed by the kubelet: `crictl rmp` answers NotFound. */
  readonly sandboxesGoneFirst = new Set<string>();
  /** Sandboxes whose removal fails for another reason. */
  readonly sandboxesBroken = new Set<string>();
  /** Runtime containers by id, kept after exit (as the kubelet keeps them) until `crictl rm`. */
  readonly runtime = new Map<string, FakeRuntimeContainer>();
  /** The kubelet restarts a container that exited non-zero (restartPolicy OnFailure). */
  restartOnFailure = true;
  #ids = 0;

  uid = (): number => 0;
  readFile = async (): Promise<string> => {
    throw new Error("not used");
  };
  stat = async () => undefined;

  async run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    this.log.push([cmd, ...args].join(" "));
    const ok = (stdout = ""): CommandResult => ({ exitCode: 0, stdout, stderr: "", timedOut: false });
    const err = (stderr: string): CommandResult => ({ exitCode: 1, stdout: "", stderr, timedOut: false });
    const a = [...args];
    if (cmd === "k3s" && a[0] === "crictl") return this.#crictl(a.slice(1), ok, err);
    if (cmd === "kill") return this.#kill(a, ok, err);
    assert.equal(cmd, "kubectl");
    if (a[0] === "apply") return ok();
    if (a[0] === "create") {
      const m = JSON.parse(opts.input ?? "") as {
        metadata: { name: string };
        spec: {
          restartPolicy: string;
          containers: { name: string; image: string; imagePullPolicy: string }[];
          initContainers?: { name: string; image: string; imagePullPolicy: string; command: string[] }[];
        };
      };
      assert.equal(m.spec.restartPolicy, "OnFailure");
      const pod: FakePod = {
        uid: `uid-${this.pods.size + 1}`,
        containers: new Map(),
        ephemeral: new Map(),
        init: new Map(),
        sandbox: `sb-${this.pods.size + 1}`,
      };
      for (const c of m.spec.initContainers ?? []) {
        // The kubelet runs each to completion (its command exits 0) before the containers.
        assert.deepEqual(c.command, [...INIT_COMMAND]);
        const done = this.#start(c.image);
        this.#exit(done, 0);
        pod.init.set(c.name, done);
      }
      for (const c of m.spec.containers) {
        assert.equal(c.imagePullPolicy, "Never");
        pod.containers.set(c.name, this.#start(c.image));
      }
      this.pods.set(m.metadata.name, pod);
      return ok(JSON.stringify({ metadata: { name: m.metadata.name, uid: pod.uid } }));
    }
    assert.equal(a[0], "-n");
    const verb = a[2];
    const name = (a[3] ?? "").replace(/^pod\//, ""); // `debug pod/NAME`
    if (verb === "get") {
      const p = this.pods.get(a[4]!);
      if (!p) return err(`Error from server (NotFound): pods "${a[4]}" not found`);
      const st = (m: Map<string, FakeContainer>) =>
        [...m].map(([n, c]) => ({
          name: n,
          containerID: c.id ? `containerd://${c.id}` : undefined,
          restartCount: c.restarts ?? 0,
          state:
            c.state === "waiting"
              ? { waiting: { reason: "ErrImageNeverPull" } }
              : c.state === "terminated"
                ? { terminated: { exitCode: c.exitCode } }
                : { running: {} },
        }));
      return ok(
        JSON.stringify({
          metadata: { uid: p.uid },
          status: {
            phase: "Pending",
            initContainerStatuses: st(p.init),
            containerStatuses: st(p.containers),
            ephemeralContainerStatuses: st(p.ephemeral),
          },
        }),
      );
    }
    if (verb === "patch") {
      const patch = JSON.parse(a[a.indexOf("-p") + 1]!) as {
        spec: { containers: { name: string; image: string }[] };
      };
      const p = this.pods.get(a[4]!)!;
      for (const c of patch.spec.containers) {
        assert.ok(p.containers.has(c.name), `container ${c.name} exists`);
        // The kubelet kills a container whose image changed and starts the new image (which,
        // for the placeholder, never happens: the slot waits on ErrImageNeverPull).
        const old = p.containers.get(c.name)!;
        if (old.state === "running") this.#exit(old, 0); // the workload exits 0 on SIGTERM
        p.containers.set(c.name, this.#start(c.image));
      }
      return ok();
    }
    if (verb === "debug") {
      const cname = a.find((x) => x.startsWith("--container="))!.split("=")[1]!;
      assert.ok(a.includes(`--image=${WORKLOAD_IMAGE}`) && a.includes("--attach=false") && a.includes("--"));
      this.pods.get(name)!.ephemeral.set(cname, this.#start(WORKLOAD_IMAGE));
      return ok();
    }
    if (verb === "delete") {
      if (a.includes("-l")) return ok();
      this.pods.delete(a[4]!);
      return ok();
    }
    return err(`fake: unknown command ${a.join(" ")}`);
  }

  #crictl(a: string[], ok: (s?: string) => CommandResult, err: (s: string) => CommandResult): CommandResult {
    if (a[0] === "inspecti") return ok();
    if (a[0] === "pods") {
      const uid = a[a.indexOf("--label") + 1]!.split("=")[1];
      const sbs = [...this.pods.values(), ...this.#gone]
        .filter((p) => p.uid === uid && p.sandbox)
        .map((p) => p.sandbox);
      return ok(sbs.join("\n"));
    }
    if (a[0] === "rmp") {
      if (this.sandboxesGoneFirst.has(a[2]!))
        return err(
          `getting sandbox status of pod "${a[2]}": rpc error: code = NotFound desc = an error occurred when try to find sandbox: not found`,
        );
      if (this.sandboxesBroken.has(a[2]!))
        return err(`removing the pod sandbox "${a[2]}": permission denied`);
      this.removedSandboxes.push(a[2]!);
      return ok();
    }
    if (a[0] === "rm") {
      if (!this.runtime.has(a[2]!)) return err(`container "${a[2]}" not found`);
      this.runtime.delete(a[2]!);
      this.removedContainers.push(a[2]!);
      return ok();
    }
    if (a[0] === "inspect") {
      assert.deepEqual(a.slice(1, 3), ["-o", "json"]);
      const r = this.runtime.get(a[3]!);
      if (!r) return err(`container "${a[3]}" not found`);
      return ok(
        JSON.stringify({
          status: { id: a[3], state: r.state, exitCode: r.exitCode, metadata: { attempt: r.attempt } },
          info: { pid: r.state === "CONTAINER_RUNNING" ? r.pid : 0 },
        }),
      );
    }
    if (a[0] === "stop") {
      assert.equal(a[1], "--timeout");
      const c = this.#byId(a[3]!);
      if (!c) return err(`container "${a[3]}" not found`);
      if (c.state === "running") this.#exit(c, 0);
      return ok();
    }
    return err(`fake crictl: unknown ${a.join(" ")}`);
  }

  /** `kill -s SIG PID` from the host: the process ends (KILL: 137, TERM: the workload's exit 0). */
  #kill(a: string[], ok: () => CommandResult, err: (s: string) => CommandResult): CommandResult {
    assert.equal(a[0], "-s");
    const pid = Number(a[2]);
    for (const p of this.pods.values()) {
      for (const [kind, m] of [
        ["regular", p.containers],
        ["ephemeral", p.ephemeral],
      ] as const) {
        for (const [name, c] of m) {
          if (!c.id || c.state !== "running" || this.runtime.get(c.id)?.pid !== pid) continue;
          const code = a[1] === "KILL" ? 137 : 0;
          this.#exit(c, code);
          if (kind === "regular" && code !== 0 && this.restartOnFailure) {
            const next = this.#start(c.image, (c.restarts ?? 0) + 1);
            m.set(name, next);
          }
          return ok();
        }
      }
    }
    return err(`kill: (${pid}) - No such process`);
  }

  #exit(c: FakeContainer, code: number): void {
    c.state = "terminated";
    c.exitCode = code;
    const r = this.runtime.get(c.id!)!;
    r.state = "CONTAINER_EXITED";
    r.exitCode = code;
  }

  #byId(id: string): FakeContainer | undefined {
    for (const p of this.pods.values())
      for (const m of [p.containers, p.ephemeral, p.init])
        for (const c of m.values()) if (c.id === id) return c;
    return undefined;
  }

  readonly #gone: FakePod[] = [];
  #start(image: string, restarts = 0): FakeContainer {
    if (image === PLACEHOLDER_IMAGE) return { image, state: "waiting", restarts };
    const id = `ctr${++this.#ids}`;
    this.runtime.set(id, {
      state: "CONTAINER_RUNNING",
      exitCode: 0,
      pid: 1000 + this.#ids,
      attempt: restarts,
    });
    return { image, id, state: "running", restarts };
  }
  /** Keeps a deleted pod's sandbox visible to crictl, as the kubelet's GC would for a minute. */
  keepSandboxOf(name: string): void {
    this.#gone.push(this.pods.get(name)!);
  }
}

describe("PodDriver over a fake cluster", () => {
  let dir: string;
  let cluster: FakeCluster;
  let driver: PodDriver;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "hw-driver-"));
    cluster = new FakeCluster();
    driver = new PodDriver(new Kube(cluster, { timeoutMs: 2_000 }), {
      run: "hw-t",
      cfgRoot: dir,
      timeoutMs: 2_000,
    });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("creates a pod with its containers running and three free slots waiting", async () => {
    const p = await driver.create("web", [{ name: "app", threads: 4 }]);
    assert.equal(p.kubeName, "hw-t-web");
    assert.equal(p.uid, "uid-1");
    assert.equal(p.slots, 4);
    assert.ok(p.containers.get("app")?.id?.startsWith("ctr"));
    assert.equal(await readFile(join(dir, "hw-t-web", "c0"), "utf8"), "4\n");
    const fake = cluster.pods.get("hw-t-web")!;
    assert.deepEqual(
      [...fake.containers.values()].map((c) => c.state),
      ["running", "waiting", "waiting", "waiting"],
    );
  });

  it("starts a late container by patching the next slot, with its thread count written first", async () => {
    const p = await driver.create("db", []);
    const c = await driver.startContainer(p, { name: "postgres", threads: 8 });
    assert.equal(c.kubeName, "c0");
    assert.equal(await readFile(join(dir, "hw-t-db", "c0"), "utf8"), "8\n");
    assert.ok(cluster.log.some((l) => l.includes("patch pod hw-t-db") && l.includes(WORKLOAD_IMAGE)));
    assert.ok(c.id);
  });

  it("adds ephemeral containers with kubectl debug", async () => {
    const p = await driver.create("eph", [{ name: "app" }]);
    const c = await driver.addEphemeral(p, { name: "debugger", threads: 2 });
    assert.equal(c.ephemeral, true);
    assert.ok(c.id);
    await assert.rejects(driver.addEphemeral(p, { name: "debugger" }), /name is taken/);
  });

  it("removes a container: slot back to the placeholder, then the runtime container", async () => {
    const p = await driver.create("rm", [{ name: "app" }, { name: "sidecar" }]);
    const side = p.containers.get("sidecar")!;
    const id = side.id!;
    await driver.removeContainer(p, side);
    assert.equal(side.removed, true);
    assert.ok(cluster.log.some((l) => l.includes("patch pod hw-t-rm") && l.includes(PLACEHOLDER_IMAGE)));
    assert.ok(cluster.removedContainers.includes(id), "crictl rm of the stopped container");
  });

  it("runs out of slots with a clear error", async () => {
    const p = await driver.create("full", []);
    for (const n of ["a", "b", "c"]) await driver.startContainer(p, { name: n });
    await assert.rejects(driver.startContainer(p, { name: "d" }), /all 3 slots are used/);
  });

  it("removes a pod and its sandbox at once", async () => {
    const p = await driver.create("gone", [{ name: "app" }]);
    cluster.keepSandboxOf("hw-t-gone");
    await driver.removePod(p);
    assert.equal(p.removed, true);
    assert.ok(
      cluster.removedSandboxes.includes("sb-6"),
      `sandboxes removed: ${cluster.removedSandboxes.join(",")}`,
    );
    assert.ok([...p.containers.values()].every((c) => c.removed));
  });

  it("removes a pod whose sandbox the kubelet removed first, and still reports other failures", async () => {
    const p = await driver.create("raced", [{ name: "app" }]);
    const sandbox = (cluster.pods.get("hw-t-raced")!.sandbox = "sb-raced");
    cluster.keepSandboxOf("hw-t-raced");
    cluster.sandboxesGoneFirst.add(sandbox);
    await driver.removePod(p);
    assert.equal(p.removed, true);
    assert.ok(!cluster.removedSandboxes.includes(sandbox));

    const q = await driver.create("stuck-sandbox", [{ name: "app" }]);
    cluster.sandboxesBroken.add((cluster.pods.get("hw-t-stuck-sandbox")!.sandbox = "sb-broken"));
    cluster.keepSandboxOf("hw-t-stuck-sandbox");
    await assert.rejects(driver.removePod(q), /permission denied/);
    assert.equal(q.removed, false);
  });

  it("fails with the pod's state when a container never runs", async () => {
    const slow = new PodDriver(new Kube(cluster, { timeoutMs: 1_000 }), {
      run: "hw-t",
      cfgRoot: dir,
      timeoutMs: 300,
    });
    const p = await slow.create("stuck", []);
    cluster.pods.get("hw-t-stuck")!.containers.get("c0")!.image = "x"; // the patch will be ignored below
    const orig = cluster.run.bind(cluster);
    cluster.run = async (cmd, args, o) =>
      args.includes("patch") ? { exitCode: 0, stdout: "", stderr: "", timedOut: false } : orig(cmd, args, o);
    await assert.rejects(
      slow.startContainer(p, { name: "app" }),
      /container c0 to run within 300 ms \(phase Pending, running \[\], waiting \[c0:ErrImageNeverPull/,
    );
    cluster.run = orig;
  });
});

describe("PodDriver: containers that exit, restart and stop, and init containers", () => {
  let dir: string;
  let cluster: FakeCluster;
  let driver: PodDriver;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "hw-life-"));
    cluster = new FakeCluster();
    driver = new PodDriver(new Kube(cluster, { timeoutMs: 2_000 }), {
      run: "hw-l",
      cfgRoot: dir,
      timeoutMs: 1_000,
    });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("a crash is SIGKILL from the host; the kubelet's replacement is taken as attempt + 1, the exited one kept", async () => {
    const p = await driver.create("web", [{ name: "app" }, { name: "sidecar" }]);
    const app = p.containers.get("app")!;
    const first = app.id!;
    await driver.exit(p, app, "crash");
    assert.ok(
      cluster.log.includes(`kill -s KILL ${cluster.runtime.get(first)!.pid}`),
      cluster.log.join("\n"),
    );
    assert.equal(app.exited, true);
    assert.equal(cluster.runtime.get(first)?.state, "CONTAINER_EXITED");
    await driver.awaitRestart(p, app);
    assert.equal(app.exited, false);
    assert.equal(app.attempt, 1);
    assert.notEqual(app.id, first);
    assert.deepEqual(app.ids, [first, app.id]);
    assert.equal(cluster.runtime.has(first), true, "the exited attempt is not removed");
    // Removal removes every attempt the runtime still has, the latest first.
    await driver.removeContainer(p, app);
    assert.deepEqual(cluster.removedContainers.slice(-2), [app.ids[1], first]);
  });

  it("a completion is SIGTERM answered by exit 0; the kubelet does not restart it, so a restart is refused", async () => {
    const p = await driver.create("job", [{ name: "task" }]);
    const task = p.containers.get("task")!;
    await driver.exit(p, task, "complete");
    assert.ok(cluster.log.some((l) => l.startsWith("kill -s TERM ")));
    assert.equal(cluster.runtime.get(task.id!)?.exitCode, 0);
    const quick = new PodDriver(new Kube(cluster, { timeoutMs: 2_000 }), {
      run: "hw-l",
      cfgRoot: dir,
      timeoutMs: 300,
    });
    await assert.rejects(quick.awaitRestart(p, task), /the kubelet to restart container c0 within 300 ms/);
  });

  it("rejects an exit whose status does not match, and signals only running containers", async () => {
    const p = await driver.create("odd", [{ name: "app" }]);
    const app = p.containers.get("app")!;
    cluster.restartOnFailure = false;
    await driver.signalExit(p, app, "crash");
    await assert.rejects(
      driver.awaitExit(p, app, "complete"),
      /failed to make container app of odd complete: it exited with status 137/,
    );
    cluster.restartOnFailure = true;
    await assert.rejects(driver.signalExit(p, app, "crash"), /it is not running/);
  });

  it("ends a debug session: the ephemeral container's process exits 0 and is never restarted", async () => {
    const p = await driver.create("dbg", [{ name: "app" }]);
    const dbg = await driver.addEphemeral(p, { name: "debugger" });
    await driver.exit(p, dbg, "complete");
    assert.equal(dbg.exited, true);
    await assert.rejects(driver.awaitRestart(p, dbg), /never restarts an ephemeral container/);
  });

  it("stops a slot through the kubelet (image patched to the placeholder) and an ephemeral container with crictl stop", async () => {
    const p = await driver.create("stop", [{ name: "app" }, { name: "sidecar" }]);
    const side = p.containers.get("sidecar")!;
    await driver.stop(p, side);
    assert.ok(cluster.log.some((l) => l.includes("patch pod hw-l-stop") && l.includes(PLACEHOLDER_IMAGE)));
    assert.equal(side.exited, true);
    assert.equal(cluster.runtime.get(side.id!)?.state, "CONTAINER_EXITED");
    assert.equal(side.removed, false);
    const dbg = await driver.addEphemeral(p, { name: "debugger" });
    await driver.stop(p, dbg);
    assert.ok(cluster.log.includes(`k3s crictl stop --timeout 2 ${dbg.id}`));
    // The stopped slot is then removed without another stop.
    await driver.removeContainer(p, side);
    assert.equal(side.removed, true);
    assert.ok(cluster.removedContainers.includes(side.id!));
  });

  it("creates a pod whose init containers completed before its containers run", async () => {
    const p = await driver.create("init", [{ name: "app" }], ["setup"]);
    const setup = p.containers.get("setup")!;
    assert.equal(setup.kubeName, "init-setup");
    assert.equal(setup.init, true);
    assert.equal(setup.exited, true);
    assert.ok(setup.id && cluster.runtime.get(setup.id)?.exitCode === 0);
    assert.equal(p.containers.get("app")!.kubeName, "c0");
    assert.equal(p.containers.get("app")!.exited, false);
  });

  it("classifies exit statuses", () => {
    assert.equal(exitMatches("crash", 137), true);
    assert.equal(exitMatches("crash", 0), false);
    assert.equal(exitMatches("complete", 0), true);
    assert.equal(exitMatches("complete", 1), false);
  });
});

describe("Kube.waitClusterReady", () => {
  const result = (exitCode: number, stderr = ""): CommandResult => ({
    exitCode,
    stdout: "",
    stderr,
    timedOut: false,
  });
  const host = (answers: CommandResult[]): HostPort => ({
    uid: () => 0,
    readFile: async () => "",
    stat: async () => undefined,
    run: async () => answers.shift() ?? result(0),
  });

  it("polls until the API answers and the node is Ready", async () => {
    const answers = [
      result(1, "connection refused"),
      result(0),
      result(1, "node not ready"),
      result(0),
      result(0),
    ];
    await new Kube(host(answers)).waitClusterReady(5_000, 1);
    assert.equal(answers.length, 0);
  });

  it("names the last problem at the deadline", async () => {
    const always = {
      uid: () => 0,
      readFile: async () => "",
      stat: async () => undefined,
      run: async () => result(1, "connection refused"),
    };
    await assert.rejects(new Kube(always).waitClusterReady(0, 1), /within 0 ms: connection refused/);
  });
});
