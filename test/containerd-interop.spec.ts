// Interop of our NRI stub with a real containerd 1.7.24 (NRI v0.6.1), driven through CRI.
// Skipped, with the reason, where no local containerd can run (not root, no archive, ...).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { CriClient, type PodSpec } from "../support/containerd/cri-client.js";
import { LocalContainerd } from "../support/containerd/local-containerd.js";
import { NriStub } from "../src/nri/index.js";
import type { PluginHandler } from "../src/nri/handler.js";
import type { NriConfigureRequest, NriContainer, NriPod } from "../src/nri/types.js";

const WAIT_MS = 10_000;

type Seen =
  | { kind: "configure"; req: NriConfigureRequest }
  | { kind: "synchronize"; pods: NriPod[]; containers: NriContainer[] }
  | { kind: "runPodSandbox" | "stopPodSandbox" | "removePodSandbox"; pod: NriPod }
  | {
      kind: "createContainer" | "startContainer" | "stopContainer" | "removeContainer";
      pod: NriPod;
      container: NriContainer;
    };

/** The recorded callbacks of one kind (distributes over the union; other members reduce to never). */
type SeenOf<K extends Seen["kind"]> = Seen & { kind: K };

/** A handler that records every callback, in order, and lets the test wait for one. */
class Recorder {
  readonly seen: Seen[] = [];
  readonly #waiters = new Set<() => void>();

  readonly handler: PluginHandler = {
    configure: (req) => void this.#push({ kind: "configure", req }),
    synchronize: (pods, containers) => void this.#push({ kind: "synchronize", pods, containers }),
    runPodSandbox: (pod) => void this.#push({ kind: "runPodSandbox", pod }),
    stopPodSandbox: (pod) => void this.#push({ kind: "stopPodSandbox", pod }),
    removePodSandbox: (pod) => void this.#push({ kind: "removePodSandbox", pod }),
    createContainer: (pod, container) => void this.#push({ kind: "createContainer", pod, container }),
    startContainer: (pod, container) => void this.#push({ kind: "startContainer", pod, container }),
    stopContainer: (pod, container) => void this.#push({ kind: "stopContainer", pod, container }),
    removeContainer: (pod, container) => void this.#push({ kind: "removeContainer", pod, container }),
  };

  #push(s: Seen): void {
    this.seen.push(s);
    for (const w of this.#waiters) w();
  }

  /** Resolves with the first recorded callback matching `pred` (already seen or future). */
  waitFor<K extends Seen["kind"]>(kind: K, pred: (s: SeenOf<K>) => boolean): Promise<SeenOf<K>> {
    const find = (): SeenOf<K> | undefined =>
      this.seen.find((s): s is SeenOf<K> => s.kind === kind && pred(s as SeenOf<K>));
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const hit = find();
        if (!hit) return;
        this.#waiters.delete(check);
        clearTimeout(timer);
        resolve(hit);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(
          new Error(`no ${kind} seen within ${WAIT_MS} ms; seen: ${this.seen.map((s) => s.kind).join(", ")}`),
        );
      }, WAIT_MS);
      this.#waiters.add(check);
      check();
    });
  }

  indexOf(s: Seen): number {
    return this.seen.indexOf(s);
  }
}

/** The cgroup path of `pid` in the v1 `pids` hierarchy, or the v2 one ("0::"). */
function pidsCgroupOf(pid: number): string {
  const lines = readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n");
  const line = lines.find((l) => l.split(":")[1] === "pids") ?? lines.find((l) => l.startsWith("0::"));
  assert.ok(line, `no pids or unified cgroup line for pid ${pid}`);
  return line.slice(line.indexOf(":", line.indexOf(":") + 1) + 1);
}

test(
  "NRI stub interoperates with a real containerd 1.7.24 driven through CRI",
  { timeout: 120_000 },
  async (t) => {
    const avail = await LocalContainerd.available();
    if (!avail.ok) {
      t.skip(avail.reason);
      return;
    }
    const started = Date.now();
    const ctrd = await LocalContainerd.start();
    const rec = new Recorder();
    const stub = new NriStub(rec.handler, { name: "interop", idx: "90", socketPath: ctrd.nriSocket });
    const cri = new CriClient({ socketPath: ctrd.criSocket });
    const uid = randomUUID();
    const pod: PodSpec = {
      name: "interop-pod",
      uid,
      namespace: "interop",
      cgroupParent: `/kubepods/burstable/pod${uid}`,
    };
    let daemonPid = 0;
    try {
      t.diagnostic(`containerd started in ${Date.now() - started} ms (${ctrd.dir})`);
      daemonPid = ctrd.pid;

      // Register → Configure → Synchronize (a fresh containerd: nothing to synchronize).
      await stub.start();
      await stub.waitSynchronized(WAIT_MS);
      const conf = await rec.waitFor("configure", () => true);
      assert.equal(conf.req.runtimeName, "containerd");
      assert.match(conf.req.runtimeVersion, /^1\.7\.24/);
      assert.equal(conf.req.config, "", "external plugins get no config");
      assert.equal(conf.req.registrationTimeoutMs, undefined, "NRI v0.6.1 sends no timeouts");
      const sync = await rec.waitFor("synchronize", () => true);
      assert.deepEqual([sync.pods.length, sync.containers.length], [0, 0]);
      assert.ok(rec.indexOf(conf) < rec.indexOf(sync), "Configure precedes Synchronize");

      // A pod: RUN_POD_SANDBOX with the pod's uid, cgroup parent, and the pause process.
      const version = await cri.version();
      assert.equal(version.runtimeName, "containerd");
      const sandboxId = await cri.runPod(pod);
      const run = await rec.waitFor("runPodSandbox", (s) => s.pod.uid === uid);
      assert.equal(run.pod.id, sandboxId);
      assert.equal(run.pod.name, pod.name);
      assert.equal(run.pod.namespace, pod.namespace);
      assert.equal(run.pod.cgroupParent, pod.cgroupParent);
      assert.equal(run.pod.cgroupsPath, `${pod.cgroupParent}/${sandboxId}`);
      assert.equal(run.pod.pid, await cri.podPid(sandboxId));

      // A container: CREATE (no pid yet) then START with the task's pid and its cgroup path.
      const id = await cri.createContainer(sandboxId, pod, { name: "work" });
      await cri.startContainer(id);
      const start = await rec.waitFor("startContainer", (s) => s.container.id === id);
      const create = await rec.waitFor("createContainer", (s) => s.container.id === id);
      assert.ok(rec.indexOf(run) < rec.indexOf(create) && rec.indexOf(create) < rec.indexOf(start));
      assert.equal(create.container.pid, 0, "no task exists at CreateContainer");
      assert.equal(start.pod.uid, uid);
      assert.equal(start.container.podSandboxId, sandboxId);
      assert.equal(start.container.name, "work");
      const pid = await cri.containerPid(id);
      assert.ok(start.container.pid > 0);
      assert.equal(start.container.pid, pid);
      assert.equal(start.container.cgroupsPath, `${pod.cgroupParent}/${id}`);
      assert.equal(
        pidsCgroupOf(pid),
        start.container.cgroupsPath,
        "the kernel agrees with NRI's cgroups path",
      );

      // Removal: REMOVE_CONTAINER, then REMOVE_POD_SANDBOX.
      await cri.stopContainer(id);
      await cri.removeContainer(id);
      const rmCtr = await rec.waitFor("removeContainer", (s) => s.container.id === id);
      assert.equal(rmCtr.pod.uid, uid);
      await cri.stopPod(sandboxId);
      await cri.removePod(sandboxId);
      const rmPod = await rec.waitFor("removePodSandbox", (s) => s.pod.uid === uid);
      assert.ok(rec.indexOf(start) < rec.indexOf(rmCtr) && rec.indexOf(rmCtr) < rec.indexOf(rmPod));
      assert.deepEqual(await cri.listPods(), []);

      // containerd's own view of our plugin.
      // (logfmt escapes the inner quotes: msg="plugin \"90-interop\" connected")
      const ours = (await ctrd.readLog())
        .split("\n")
        .filter((l) => l.includes("90-interop"))
        .join("\n");
      assert.match(ours, /plugin \\"external:90-interop\[\d+\]\\" registered as \\"90-interop\\"/);
      assert.match(ours, /synchronizing plugin 90-interop/);
      assert.match(ours, /plugin \\"90-interop\\" connected/);
      assert.doesNotMatch(ours, /closing plugin|failed/i);
      t.diagnostic(`containerd about our plugin:\n${ours}`);
      t.diagnostic(`scenario done in ${Date.now() - started} ms`);
    } finally {
      cri.close();
      await stub.stop();
      await ctrd.stop();
    }

    // Nothing left behind: no daemon, no run dir, no pod cgroup.
    assert.equal(existsSync(ctrd.dir), false, `${ctrd.dir} removed`);
    assert.equal(existsSync(`/proc/${daemonPid}`), false, `containerd ${daemonPid} gone`);
    assert.equal(existsSync(`/sys/fs/cgroup/pids${pod.cgroupParent}`), false, "pod cgroup removed");
  },
);
