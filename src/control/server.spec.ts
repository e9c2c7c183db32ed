// The gRPC control API over a real unix socket, in-process: ControlApiServer serving a MemFs-backed
// ResctrlPlugin (test/support/plugin-harness.ts), ControlClient calling it.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { MON, ctr, harness, pod, until } from "../../test/support/plugin-harness.js";
import { ControlClient } from "./client.js";
import { ContainerSyncState, GroupState, Kind, type PodEvent } from "./gen/control/control.js";
import { ControlApiServer } from "./server.js";

const dir = mkdtempSync(join(tmpdir(), "ctl-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

async function setup(opts: Parameters<typeof harness>[0] = {}) {
  const h = harness(opts);
  const socketPath = join(dir, `c${n++}.sock`);
  const server = await ControlApiServer.listen({ socketPath, plugin: h.plugin });
  const client = await ControlClient.connect(socketPath);
  return { h, socketPath, server, client };
}

describe("ControlApiServer and ControlClient over a unix socket", () => {
  it("socket is mode 0600; close() removes it", async () => {
    const { socketPath, server, client } = await setup();
    assert.equal(statSync(socketPath).mode & 0o777, 0o600);
    client.close();
    await server.close();
    assert.equal(existsSync(socketPath), false);
  });

  it("GetState: pods, group, counters, containers with sync state, the group's tasks", async () => {
    const { h, server, client } = await setup();
    h.pids.setPids("c1", [11, 12]).setPids("c2", [21]);
    h.fs.pidGone(21);
    await h.plugin.synchronize([pod("u1")], [ctr("c1", "sb-u1"), ctr("c2", "sb-u1")]);
    await h.plugin.startContainer(pod("x"), ctr("orphan", "sb-x"));
    await h.plugin.idle();
    const s = await client.getState();
    assert.equal(s.pods.length, 1);
    const p = s.pods[0]!;
    assert.equal(p.podUid, "u1");
    assert.equal(p.groupState, GroupState.EXISTS);
    assert.equal(p.groupPath, `${MON}/pod_u1`);
    assert.deepEqual([p.totalContainers, p.reconciledContainers], [2, 1]);
    assert.deepEqual(
      p.containers.map((c) => [c.containerId, c.state]),
      [
        ["c1", ContainerSyncState.RECONCILED],
        ["c2", ContainerSyncState.PARTIAL],
      ],
    );
    assert.deepEqual(p.tasks, [11, 12]);
    assert.deepEqual(
      s.unassignedContainers.map((c) => [c.containerId, c.state]),
      [["orphan", ContainerSyncState.NO_POD]],
    );
    client.close();
    await server.close();
  });

  it("WatchEvents with include_snapshot starts with one ADD_OR_UPDATE per pod, then live events", async () => {
    const { h, server, client } = await setup();
    await h.plugin.runPodSandbox(pod("a"));
    await h.plugin.runPodSandbox(pod("b"));
    const got: PodEvent[] = [];
    const w = client.watchEvents(true, (e) => got.push(e));
    await until(() => got.length === 2);
    await h.plugin.removePodSandbox(pod("a"));
    await until(() => got.length === 3);
    assert.deepEqual(
      got.map((e) => [e.podUid, e.kind, e.fromSnapshot]),
      [
        ["a", Kind.ADD_OR_UPDATE, true],
        ["b", Kind.ADD_OR_UPDATE, true],
        ["a", Kind.REMOVED, false],
      ],
    );
    // A second watch: its snapshot (pod "b") proves the server subscribed it (the server
    // subscribes before writing the snapshot), so no live event can slip past it.
    const second: PodEvent[] = [];
    const w2 = client.watchEvents(true, (e) => second.push(e));
    await until(() => second.length === 1);
    await h.plugin.runPodSandbox(pod("c"));
    await until(() => second.length === 2);
    assert.deepEqual(
      second.map((e) => [e.podUid, e.fromSnapshot]),
      [
        ["b", true],
        ["c", false],
      ],
    );
    w.cancel();
    w2.cancel();
    client.close();
    await server.close();
  });

  it("a watch stream ends when the server closes", async () => {
    const { h, server, client } = await setup();
    await h.plugin.runPodSandbox(pod("a"));
    let ended = false;
    let endErr: Error | undefined;
    const seen: PodEvent[] = [];
    client.watchEvents(
      true,
      (e) => seen.push(e),
      (err) => {
        ended = true;
        endErr = err;
      },
    );
    // The snapshot event proves the server-side stream is established before the server closes.
    await until(() => seen.length === 1);
    await server.close();
    await until(() => ended);
    assert.equal(endErr, undefined, "ended gracefully by the server, not by a transport error");
    client.close();
  });

  it("retries: NOT_FOUND for unknown ids, RESOURCE_EXHAUSTED on capacity, state after success", async () => {
    const { h, server, client } = await setup();
    await assert.rejects(
      client.retryGroupCreation("nope"),
      (e: { code?: number }) => e.code === status.NOT_FOUND,
    );
    await assert.rejects(
      client.retryContainerReconcile("nope"),
      (e: { code?: number }) => e.code === status.NOT_FOUND,
    );
    h.fs.failMkdirWithEnospc(true);
    await h.plugin.runPodSandbox(pod("u1"));
    h.pids.setPids("c1", [5]);
    await h.plugin.startContainer(pod("u1"), ctr("c1", "sb-u1"));
    await assert.rejects(
      client.retryGroupCreation("u1"),
      (e: { code?: number }) => e.code === status.RESOURCE_EXHAUSTED,
    );
    const all = await client.retryAllOnce();
    assert.equal(all.report?.stoppedOnCapacity, true);
    assert.equal(all.report?.failures[0]?.error, "CapacityError");
    h.fs.failMkdirWithEnospc(false);
    const ps = await client.retryGroupCreation("u1");
    assert.equal(ps.groupState, GroupState.EXISTS);
    assert.deepEqual([ps.totalContainers, ps.reconciledContainers], [1, 0]);
    const cs = await client.retryContainerReconcile("c1");
    assert.equal(cs.state, ContainerSyncState.RECONCILED);
    const st = await client.getState();
    assert.deepEqual(st.pods[0]?.tasks, [5]);
    client.close();
    await server.close();
  });

  it("a stale socket file is replaced; a live one is refused", async () => {
    const { socketPath, server, client } = await setup();
    await assert.rejects(
      ControlApiServer.listen({ socketPath, plugin: harness().plugin }),
      /another process is listening/,
    );
    client.close();
    await server.close();
    // A socket file left by a crashed daemon (bound, nobody listening) is replaced.
    execFileSync("python3", [
      "-c",
      "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])",
      socketPath,
    ]);
    assert.ok(statSync(socketPath).isSocket());
    const again = await ControlApiServer.listen({ socketPath, plugin: harness().plugin });
    const c2 = await ControlClient.connect(socketPath);
    assert.deepEqual((await c2.getState()).pods, []);
    c2.close();
    await again.close();
  });
});
