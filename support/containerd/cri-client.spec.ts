// CriClient against an in-process fake CRI gRPC server on a unix socket (no containerd needed).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall } from "@grpc/grpc-js";
import {
  ContainerState,
  NamespaceMode,
  RuntimeServiceService,
  type CreateContainerRequest,
  type RunPodSandboxRequest,
  type RuntimeServiceServer,
} from "../cri/gen/cri/api.js";
import { CriClient, podSandboxConfig } from "./cri-client.js";

type Impl = Partial<RuntimeServiceServer>;

/** Unimplemented methods answer UNIMPLEMENTED, like a runtime without them. */
function unimplemented(_call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>): void {
  cb({ code: status.UNIMPLEMENTED, details: "not in fake" });
}

async function serve(socketPath: string, impl: Impl): Promise<Server> {
  const server = new Server();
  const full: Record<string, unknown> = {};
  for (const name of Object.keys(RuntimeServiceService)) full[name] = impl[name] ?? unimplemented;
  server.addService(RuntimeServiceService, full as RuntimeServiceServer);
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${socketPath}`, ServerCredentials.createInsecure(), (err) =>
      err ? reject(err) : resolve(),
    ),
  );
  return server;
}

describe("CriClient", () => {
  let dir: string;
  let server: Server | undefined;
  let client: CriClient | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "cri-fake-"));
  });
  afterEach(async () => {
    client?.close();
    await new Promise<void>((resolve) => (server ? server.tryShutdown(() => resolve()) : resolve()));
    server = client = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it("sends a kubelet-like host-network sandbox config and the same config with CreateContainer", async () => {
    let run: RunPodSandboxRequest | undefined;
    let create: CreateContainerRequest | undefined;
    server = await serve(join(dir, "s"), {
      runPodSandbox: (call, cb) => {
        run = call.request;
        cb(null, { podSandboxId: "sb1" });
      },
      createContainer: (call, cb) => {
        create = call.request;
        cb(null, { containerId: "c1" });
      },
    });
    client = new CriClient({ socketPath: join(dir, "s") });
    const pod = { name: "p", uid: "u-1", cgroupParent: "/kubepods/podu-1" };
    assert.equal(await client.runPod(pod), "sb1");
    assert.deepEqual(run?.config?.metadata, { name: "p", uid: "u-1", namespace: "default", attempt: 0 });
    assert.equal(run?.config?.linux?.cgroupParent, "/kubepods/podu-1");
    assert.equal(run?.config?.linux?.securityContext?.namespaceOptions?.network, NamespaceMode.NODE);
    assert.equal(await client.createContainer("sb1", pod, { name: "w" }), "c1");
    assert.equal(create?.podSandboxId, "sb1");
    assert.deepEqual(create?.config?.image?.image, "localhost/busybox:1");
    assert.deepEqual(create?.config?.command, ["sleep", "3600"]);
    assert.deepEqual(create?.sandboxConfig, podSandboxConfig(pod));
  });

  it("sends the attempt and the mounts of a restarted container; attempt 0 and no mounts by default", async () => {
    const seen: CreateContainerRequest[] = [];
    server = await serve(join(dir, "s"), {
      createContainer: (call, cb) => {
        seen.push(call.request);
        cb(null, { containerId: `c${seen.length}` });
      },
    });
    client = new CriClient({ socketPath: join(dir, "s") });
    const pod = { name: "p", uid: "u-1" };
    await client.createContainer("sb1", pod, { name: "w" });
    await client.createContainer("sb1", pod, {
      name: "w",
      attempt: 2,
      command: ["true"],
      mounts: [{ containerPath: "/usr", hostPath: "/usr", readonly: true }],
    });
    assert.deepEqual(seen[0]?.config?.metadata, { name: "w", attempt: 0 });
    assert.deepEqual(seen[0]?.config?.mounts, []);
    assert.deepEqual(seen[1]?.config?.metadata, { name: "w", attempt: 2 });
    assert.deepEqual(seen[1]?.config?.command, ["true"]);
    assert.deepEqual(
      seen[1]?.config?.mounts?.map((m) => [m.containerPath, m.hostPath, m.readonly]),
      [["/usr", "/usr", true]],
    );
  });

  it("maps ContainerStatus to name, attempt, state and exit code, and waits for a state", async () => {
    let polls = 0;
    server = await serve(join(dir, "s"), {
      containerStatus: (call, cb) => {
        polls += 1;
        const exited = call.request.containerId === "done" || polls >= 3;
        cb(null, {
          status: {
            id: call.request.containerId,
            metadata: { name: "app", attempt: 1 },
            state: exited ? ContainerState.CONTAINER_EXITED : ContainerState.CONTAINER_RUNNING,
            exitCode: exited ? 137 : 0,
            reason: exited ? "Error" : "",
            image: undefined,
            imageRef: "",
            message: "",
            labels: {},
            annotations: {},
            mounts: [],
            logPath: "",
          },
          info: {},
        });
      },
    });
    client = new CriClient({ socketPath: join(dir, "s") });
    assert.deepEqual(await client.containerStatus("done"), {
      id: "done",
      name: "app",
      attempt: 1,
      state: "exited",
      exitCode: 137,
      reason: "Error",
    });
    polls = 0;
    const s = await client.waitForContainerState("c1", "exited", 5000);
    assert.equal(s.state, "exited");
    assert.equal(polls, 3);
    polls = -1_000_000;
    await assert.rejects(
      client.waitForContainerState("c1", "exited", 100),
      /failed to wait for container c1 to be exited: still running after 100 ms/,
    );
  });

  it("reads the pid from ContainerStatus verbose info, and rejects a missing one", async () => {
    const infos: Record<string, string> = { good: JSON.stringify({ pid: 4242, sandboxID: "x" }), bad: "{}" };
    server = await serve(join(dir, "s"), {
      containerStatus: (call, cb) => {
        assert.equal(call.request.verbose, true);
        const info = infos[call.request.containerId];
        cb(null, { status: undefined, info: info === undefined ? {} : { info } });
      },
    });
    client = new CriClient({ socketPath: join(dir, "s") });
    assert.equal(await client.containerPid("good"), 4242);
    await assert.rejects(
      client.containerPid("bad"),
      /failed to find a pid in the verbose info of container bad/,
    );
  });

  it("execSync returns decoded output and a non-zero exit code without rejecting", async () => {
    server = await serve(join(dir, "s"), {
      execSync: (call, cb) => {
        assert.deepEqual(
          [call.request.containerId, call.request.cmd, call.request.timeout],
          ["c1", ["sh", "-c", "x"], 5],
        );
        cb(null, { stdout: Buffer.from("out\n"), stderr: Buffer.from("err\n"), exitCode: 3 });
      },
    });
    client = new CriClient({ socketPath: join(dir, "s") });
    assert.deepEqual(await client.execSync("c1", ["sh", "-c", "x"], 5), {
      stdout: "out\n",
      stderr: "err\n",
      exitCode: 3,
    });
  });

  it("wraps gRPC errors as 'failed to <verb> <object> <id>' with the status as cause", async () => {
    server = await serve(join(dir, "s"), {});
    client = new CriClient({ socketPath: join(dir, "s") });
    const err: unknown = await client.removeContainer("c9").then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof Error);
    assert.match(err.message, /^failed to remove container c9: not in fake$/);
    assert.equal((err.cause as { code?: number }).code, status.UNIMPLEMENTED);
  });

  it("gives up at the call deadline", async () => {
    server = await serve(join(dir, "s"), { version: () => undefined /* never answers */ });
    client = new CriClient({ socketPath: join(dir, "s"), callTimeoutMs: 200 });
    const t0 = Date.now();
    await assert.rejects(
      client.version(),
      (e: Error) => (e.cause as { code?: number }).code === status.DEADLINE_EXCEEDED,
    );
    assert.ok(Date.now() - t0 < 5000);
  });
});
