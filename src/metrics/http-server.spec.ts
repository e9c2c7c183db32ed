// startHttpServer / parseListenAddress: the three endpoints, 404/405, HEAD, the in-flight limit,
// errors → 500, slow clients (headersTimeout), connection limit, close() with open connections,
// and (when promtool is on PATH) `promtool check metrics` on a real scrape.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { request, Agent } from "node:http";
import { connect, type Socket } from "node:net";
import { after, describe, it } from "node:test";
import { Registry } from "prom-client";
import { DaemonMetrics } from "./daemon-metrics.js";
import {
  parseListenAddress,
  startHttpServer,
  type HttpServerHandle,
  type HttpServerOptions,
} from "./http-server.js";
import type { Readiness } from "./readiness.js";

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function req(
  port: number,
  method: string,
  path: string,
  opts: { agent?: Agent | false; host?: string } = {},
): Promise<Res> {
  return new Promise((resolve, reject) => {
    const r = request(
      { host: opts.host ?? "127.0.0.1", port, method, path, agent: opts.agent ?? false },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on("error", reject);
      },
    );
    r.on("error", reject);
    r.end();
  });
}

/** A stand-in for DaemonMetrics: a registry (for contentType) and a scriptable metrics(). */
function fakeMetrics(impl: () => Promise<string> = async () => "# fake\nup 1\n") {
  const registry = new Registry();
  let calls = 0;
  return {
    registry,
    get calls() {
      return calls;
    },
    metrics: () => {
      calls++;
      return impl();
    },
  };
}

const servers: HttpServerHandle[] = [];
async function start(o: Partial<HttpServerOptions> = {}): Promise<HttpServerHandle> {
  const s = await startHttpServer({
    listen: "127.0.0.1:0",
    metrics: fakeMetrics(),
    readiness: () => ({ ready: true, reason: "ready" }),
    ...o,
  });
  servers.push(s);
  return s;
}
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Resolves with everything a raw socket received once the server closed it (or rejects after ms). */
function readUntilClosed(sock: Socket, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = "";
    const t = setTimeout(
      () => reject(new Error(`socket still open after ${ms} ms; got ${JSON.stringify(data)}`)),
      ms,
    );
    sock.setEncoding("utf8");
    sock.on("data", (c: string) => (data += c));
    sock.on("error", () => undefined);
    sock.on("close", () => {
      clearTimeout(t);
      resolve(data);
    });
  });
}

function rawConnect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port }, () => resolve(s));
    s.on("error", reject);
  });
}

describe("parseListenAddress", () => {
  it("accepts HOST:PORT with IPv4, bracketed IPv6 and names", () => {
    assert.deepEqual(parseListenAddress("127.0.0.1:9100"), { host: "127.0.0.1", port: 9100 });
    assert.deepEqual(parseListenAddress("[::1]:9100"), { host: "::1", port: 9100 });
    assert.deepEqual(parseListenAddress("[::]:0"), { host: "::", port: 0 });
    assert.deepEqual(parseListenAddress("0.0.0.0:0"), { host: "0.0.0.0", port: 0 });
    assert.deepEqual(parseListenAddress("localhost:65535"), { host: "localhost", port: 65535 });
  });

  it("rejects anything else with a message naming the flag", () => {
    for (const bad of [
      "",
      "9100",
      ":9100",
      "127.0.0.1",
      "127.0.0.1:",
      "127.0.0.1:65536",
      "127.0.0.1:-1",
      "127.0.0.1:91a",
      "::1:9100",
      "[::1]9100",
      "[nope]:9100",
      "http://127.0.0.1:9100",
      "a b:1",
      "[::1]:123456",
    ]) {
      assert.throws(
        () => parseListenAddress(bad),
        { message: `failed to parse --http-listen ${JSON.stringify(bad)}: want HOST:PORT` },
        bad,
      );
    }
  });
});

describe("startHttpServer", () => {
  it("listens on an ephemeral port and returns the real one", async () => {
    const s = await start();
    assert.equal(s.host, "127.0.0.1");
    assert.ok(s.port > 0);
    assert.equal((await req(s.port, "GET", "/healthz")).status, 200);
  });

  it("listens on IPv6 loopback", async (t) => {
    let s: HttpServerHandle;
    try {
      s = await start({ listen: "[::1]:0" });
    } catch (e) {
      t.skip(`no IPv6 loopback here: ${(e as Error).message}`);
      return;
    }
    assert.equal(s.host, "::1");
    assert.equal((await req(s.port, "GET", "/healthz", { host: "::1" })).status, 200);
  });

  it("rejects with a clear message when the address is taken", async () => {
    const s = await start();
    await assert.rejects(
      start({ listen: `127.0.0.1:${s.port}` }),
      /failed to listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/,
    );
  });

  it("answers /metrics, /healthz and /readyz (GET and HEAD)", async () => {
    let readiness: Readiness = { ready: false, reason: "registered, waiting for the runtime's Synchronize" };
    const m = fakeMetrics(async () => "# HELP up x\n# TYPE up gauge\nup 1\n");
    const s = await start({ metrics: m, readiness: () => readiness });

    let r = await req(s.port, "GET", "/metrics");
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], m.registry.contentType);
    assert.equal(r.body, "# HELP up x\n# TYPE up gauge\nup 1\n");
    r = await req(s.port, "GET", "/metrics?name[]=up");
    assert.equal(r.status, 200);
    r = await req(s.port, "HEAD", "/metrics");
    assert.equal(r.status, 200);
    assert.equal(r.body, "");
    assert.equal(r.headers["content-length"], String("# HELP up x\n# TYPE up gauge\nup 1\n".length));

    r = await req(s.port, "GET", "/healthz");
    assert.deepEqual([r.status, r.body], [200, "ok\n"]);
    r = await req(s.port, "HEAD", "/healthz");
    assert.deepEqual([r.status, r.body], [200, ""]);

    r = await req(s.port, "GET", "/readyz");
    assert.deepEqual([r.status, r.body], [503, "registered, waiting for the runtime's Synchronize\n"]);
    r = await req(s.port, "HEAD", "/readyz");
    assert.deepEqual([r.status, r.body], [503, ""]);
    readiness = { ready: false, reason: "resctrl unusable: line one\nline two" };
    r = await req(s.port, "GET", "/readyz");
    assert.deepEqual([r.status, r.body], [503, "resctrl unusable: line one line two\n"]);
    readiness = { ready: true, reason: "ready" };
    r = await req(s.port, "GET", "/readyz");
    assert.deepEqual([r.status, r.body], [200, "ready\n"]);
  });

  it("answers 404 for an unknown path and 405 with Allow for another method", async () => {
    const m = fakeMetrics();
    const s = await start({ metrics: m });
    for (const path of ["/", "/metric", "/metrics/", "/debug/pprof", "/healthz/x"]) {
      const r = await req(s.port, "GET", path);
      assert.equal(r.status, 404, path);
    }
    assert.equal((await req(s.port, "POST", "/nope")).status, 404);
    for (const [method, path] of [
      ["POST", "/metrics"],
      ["PUT", "/healthz"],
      ["DELETE", "/readyz"],
      ["OPTIONS", "/metrics"],
    ] as const) {
      const r = await req(s.port, method, path);
      assert.equal(r.status, 405, `${method} ${path}`);
      assert.equal(r.headers.allow, "GET, HEAD");
    }
    assert.equal(m.calls, 0, "nothing collected for refused requests");
  });

  it("answers 503 busy beyond maxInFlight scrapes, while the probes still answer", async () => {
    const gate = deferred();
    const m = fakeMetrics(async () => {
      await gate.promise;
      return "up 1\n";
    });
    const s = await start({ metrics: m, maxInFlight: 2 });
    const slow = [req(s.port, "GET", "/metrics"), req(s.port, "GET", "/metrics")];
    while (m.calls < 2) await new Promise((r) => setTimeout(r, 5));
    const extra = await req(s.port, "GET", "/metrics");
    assert.deepEqual([extra.status, extra.body], [503, "busy\n"]);
    assert.equal(m.calls, 2);
    assert.equal((await req(s.port, "GET", "/healthz")).status, 200);
    assert.equal((await req(s.port, "GET", "/readyz")).status, 200);
    gate.resolve();
    for (const r of await Promise.all(slow)) assert.deepEqual([r.status, r.body], [200, "up 1\n"]);
    assert.equal((await req(s.port, "GET", "/metrics")).status, 200, "slots are released");
  });

  it("answers 500 with a one-line message when collecting fails, and keeps serving", async () => {
    let fail = true;
    const s = await start({
      metrics: fakeMetrics(async () => {
        if (fail) throw new Error("snapshot exploded\nat somewhere");
        return "up 1\n";
      }),
    });
    const r = await req(s.port, "GET", "/metrics");
    assert.deepEqual(
      [r.status, r.body],
      [500, "failed to collect metrics: snapshot exploded at somewhere\n"],
    );
    fail = false;
    assert.equal((await req(s.port, "GET", "/metrics")).status, 200);
  });

  it("closes a connection that sends only half a request after headersTimeout", async () => {
    const s = await start({ timeouts: { headersMs: 200, requestMs: 400 } });
    const sock = await rawConnect(s.port);
    const started = Date.now();
    const closed = readUntilClosed(sock, 3000);
    sock.write("GET /metrics HTTP/1.1\r\nHost: x\r\n"); // no blank line: headers never end
    const got = await closed;
    const took = Date.now() - started;
    assert.match(got, /^HTTP\/1\.1 408 /);
    assert.ok(took >= 150 && took < 2000, `closed after ${took} ms`);
  });

  it("ignores request bodies (keep-alive still works after one)", async () => {
    const s = await start();
    const sock = await rawConnect(s.port);
    let data = "";
    sock.setEncoding("utf8");
    sock.on("data", (c: string) => (data += c));
    sock.write("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    sock.write("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
    const deadline = Date.now() + 2000;
    while (!data.includes("ready\n") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    sock.destroy();
    assert.match(data, /^HTTP\/1\.1 200 OK[\s\S]*\r\n\r\nok\nHTTP\/1\.1 200 OK[\s\S]*\r\n\r\nready\n$/);
  });

  it("refuses connections beyond maxConnections", async () => {
    const s = await start({ maxConnections: 2 });
    const a = await rawConnect(s.port);
    const b = await rawConnect(s.port);
    const c = await rawConnect(s.port);
    const cClosed = await readUntilClosed(c, 2000);
    assert.equal(cClosed, "");
    a.destroy();
    b.destroy();
  });

  it("close() closes an open keep-alive connection and an in-flight scrape, and resolves", async () => {
    const gate = deferred();
    let slow = false;
    const s = await startHttpServer({
      listen: "127.0.0.1:0",
      metrics: fakeMetrics(async () => {
        if (slow) await gate.promise;
        return "up 1\n";
      }),
      readiness: () => ({ ready: true, reason: "ready" }),
      timeouts: { keepAliveMs: 60_000 },
    });
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    const r = await req(s.port, "GET", "/metrics", { agent });
    assert.equal(r.status, 200);
    const idle = Object.values(agent.freeSockets).flat();
    assert.equal(idle.length, 1, "one idle keep-alive connection");
    const idleClosed = new Promise<void>((resolve) => idle[0]?.once("close", () => resolve()));
    slow = true;
    const pending = req(s.port, "GET", "/metrics", { agent: false }).catch((e: Error) => e);
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await s.close();
    assert.ok(Date.now() - started < 1000, `close took ${Date.now() - started} ms`);
    await idleClosed;
    assert.ok((await pending) instanceof Error, "the in-flight request's connection was closed");
    await s.close(); // idempotent
    gate.resolve();
    agent.destroy();
    await assert.rejects(req(s.port, "GET", "/healthz"), /ECONNREFUSED/);
  });

  it("serves a real DaemonMetrics scrape", async () => {
    const r = await realScrape();
    assert.equal(r.status, 200);
    assert.match(r.headers["content-type"] as string, /^text\/plain; version=0\.0\.4/);
    assert.match(
      r.body,
      /^nri_resctrl_pod_llc_occupancy_bytes\{pod_uid="0a1b",pod_namespace="shop",pod_name="web-0",node="worker-1"\} 65536$/m,
    );
    assert.match(r.body, /^nri_resctrl_pod_mon_perf_pkg_core_energy\{.*\} 3\.25$/m);
  });

  it("a scrape passes `promtool check metrics`", async (t) => {
    const which = spawnSync("promtool", ["--version"], { encoding: "utf8" });
    if (which.error) {
      t.skip(
        "promtool not on PATH (Debian package `prometheus` provides it); `promtool check metrics` not run",
      );
      return;
    }
    const r = await realScrape();
    const promtool = (input: string) =>
      spawnSync("promtool", ["check", "metrics"], { input, encoding: "utf8" });
    // Our families alone: no parse error, no lint problem.
    const ours = r.body
      .split("\n")
      .filter((l) => /^(# (HELP|TYPE) )?nri_resctrl_/.test(l))
      .join("\n");
    let check = promtool(`${ours}\n`);
    assert.equal(check.status, 0, `promtool check metrics (nri_resctrl_*):\n${check.stdout}${check.stderr}`);
    // The whole scrape, prom-client's default metrics included: no problem at all.
    check = promtool(r.body);
    assert.equal(check.status, 0, `promtool check metrics:\n${check.stdout}${check.stderr}`);
    assert.equal(`${check.stdout}${check.stderr}`.trim(), "");
  });
});

async function realScrape(): Promise<Res> {
  const metrics = new DaemonMetrics({
    nodeName: "worker-1",
    plugin: {
      snapshot: () => [
        {
          podUid: "0a1b",
          podName: "web-0",
          podNamespace: "shop",
          groupState: { kind: "Exists", path: "/sys/fs/resctrl/mon_groups/p_0a1b" },
          containers: [{ state: "Reconciled" }],
        },
      ],
      unassignedContainers: () => [],
      unmonitoredPods: () => [],
      stats: {
        groupCreateFailures: { capacity: 0, other: 0 },
        retrySweeps: 1,
        podsPruned: 0,
        containersVanished: 0,
      },
      droppedEvents: 0,
      health: () => ({ resctrl: "usable" }),
    },
    resctrl: {
      monCapabilities: async () => ({
        features: { L3: ["llc_occupancy", "mbm_total_bytes"], PERF_PKG: ["core_energy"] },
        numRmids: 8,
      }),
      readGroupMonData: async () => ({
        samples: [
          { resource: "L3", event: "llc_occupancy", value: 65536 },
          { resource: "L3", event: "mbm_total_bytes", value: 1e9 },
          { resource: "PERF_PKG", event: "core_energy", value: 3.25 },
        ],
        unreadable: [],
      }),
      rmidsInUse: async () => 2,
    },
    runtime: { connected: () => true, synchronized: () => true, reconnects: () => 0 },
  });
  metrics.observeNriRequest("StartContainer", 0.004);
  const s = await start({ metrics });
  return req(s.port, "GET", "/metrics");
}
