import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { DEFAULT_RETRY_INTERVAL_MS, parseCliOptions } from "../src/cli.js";
import { parseListenAddress } from "../src/metrics/http-server.js";

// The DaemonSet is applied only on real clusters; these checks pin what the plugin needs there.

const REPO = resolve(fileURLToPath(new URL(".", import.meta.url)), "..");
const K8S = join(REPO, "deploy");
const load = (f: string): Record<string, unknown> =>
  parse(readFileSync(join(K8S, f), "utf8")) as Record<string, unknown>;

/** Flags the daemon (src/cli.ts) accepts, as specified for the CLI. */
const CLI_FLAGS = new Set([
  "--nri-socket",
  "--plugin-name",
  "--plugin-idx",
  "--group-prefix",
  "--cleanup-on-start",
  "--no-cleanup-on-start",
  "--auto-mount",
  "--no-auto-mount",
  "--resctrl-root",
  "--resctrl-provider",
  "--memory-rmids",
  "--control-socket",
  "--max-reconcile-passes",
  "--retry-interval",
  "--http-listen",
  "--node-name",
  "--namespaces",
  "--exclude-namespaces",
  "--pod-label-selector",
  "--cgroup-root",
  "--proc-root",
  "--reconnect",
  "--no-reconnect",
  "--log-level",
]);

interface Mount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  mountPropagation?: string;
}
interface Volume {
  name: string;
  hostPath: { path: string; type: string };
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}
interface Probe {
  httpGet?: { path: string; port: number | string; scheme?: string };
  exec?: unknown;
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
  successThreshold?: number;
}

const ds = load("daemonset.yaml") as {
  kind: string;
  metadata: { namespace: string };
  spec: {
    template: {
      metadata: { annotations?: Record<string, string> };
      spec: {
        hostPID: boolean;
        hostNetwork?: boolean;
        tolerations: { operator: string }[];
        containers: {
          args: string[];
          env?: EnvVar[];
          ports?: { name?: string; containerPort: number; protocol?: string; hostPort?: number }[];
          livenessProbe?: Probe;
          readinessProbe?: Probe;
          securityContext: { privileged: boolean };
          resources: { requests: Record<string, string>; limits: Record<string, string> };
          volumeMounts: Mount[];
        }[];
        volumes: Volume[];
      };
    };
  };
};
const pod = ds.spec.template.spec;
const ctr = pod.containers[0]!;
const arg = (flag: string): string | undefined =>
  ctr.args.find((a) => a === flag || a.startsWith(`${flag}=`))?.split("=")[1] ?? undefined;
const hostPathOf = (mountPath: string): Volume | undefined => {
  const m = ctr.volumeMounts.find((x) => x.mountPath === mountPath);
  return pod.volumes.find((v) => v.name === m?.name);
};

describe("deploy/ DaemonSet", () => {
  it("runs privileged with the host PID namespace on every node", () => {
    assert.equal(ds.kind, "DaemonSet");
    assert.equal(pod.hostPID, true);
    assert.equal(ctr.securityContext.privileged, true);
    assert.ok(pod.tolerations.some((t) => t.operator === "Exists"));
  });

  it("mounts resctrl, the NRI socket dir, cgroups read-only and a host dir for the control socket", () => {
    assert.equal(hostPathOf("/sys/fs/resctrl")?.hostPath.path, "/sys/fs/resctrl");
    assert.equal(
      ctr.volumeMounts.find((m) => m.mountPath === "/sys/fs/resctrl")?.mountPropagation,
      "HostToContainer",
    );
    assert.equal(hostPathOf("/var/run/nri")?.hostPath.path, "/var/run/nri");
    assert.equal(hostPathOf("/sys/fs/cgroup")?.hostPath.path, "/sys/fs/cgroup");
    assert.equal(ctr.volumeMounts.find((m) => m.mountPath === "/sys/fs/cgroup")?.readOnly, true);
    const sock = arg("--control-socket");
    assert.ok(sock, "control socket configured");
    const dir = sock.slice(0, sock.lastIndexOf("/"));
    assert.equal(hostPathOf(dir)?.hostPath.type, "DirectoryOrCreate");
  });

  it("passes only flags the daemon knows, with the real provider and a group prefix", () => {
    for (const a of ctr.args) assert.ok(CLI_FLAGS.has(a.split("=")[0]!), `known flag ${a}`);
    assert.equal(arg("--resctrl-provider"), "real");
    assert.match(arg("--group-prefix") ?? "", /^[a-z0-9_]+$/);
    assert.equal(arg("--nri-socket"), "/var/run/nri/nri.sock");
    assert.ok(ctr.args.includes("--no-auto-mount"), "the host mounts resctrl, not the container");
    assert.ok(ctr.args.includes("--cleanup-on-start"));
  });

  /** The options the daemon would run with: the args, and the env vars that have a literal value. */
  const effective = () => {
    const env: Record<string, string> = {};
    for (const e of ctr.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
    return parseCliOptions([...ctr.args], env);
  };
  /** A probe's or annotation's port, a containerPort name resolved to its number. */
  const portNumber = (p: number | string | undefined): number | undefined => {
    if (typeof p === "number") return p;
    if (p === undefined) return undefined;
    if (/^\d+$/.test(p)) return Number(p);
    return ctr.ports?.find((x) => x.name === p)?.containerPort;
  };

  it("parses as the daemon would parse it (args and literal env vars)", () => {
    assert.doesNotThrow(effective);
  });

  it("serves /metrics on all pod interfaces at a fixed port that is not node-exporter's 9100", () => {
    const listen = effective().httpListen;
    assert.ok(listen, "--http-listen (or NRI_RESCTRL_HTTP_LISTEN) is set");
    const { host, port } = parseListenAddress(listen);
    assert.ok(host === "0.0.0.0" || host === "::", `listens on the pod IP, not ${host}`);
    assert.notEqual(port, 0, "a fixed port: Prometheus and the probes need to know it");
    for (const taken of [9100, 9090, 9091, 9093, 10249, 10250, 10256])
      assert.notEqual(port, taken, `${taken} belongs to another node agent`);
  });

  it("the listen port, the named containerPort, both probes and the scrape annotation agree", () => {
    const port = parseListenAddress(effective().httpListen ?? "").port;
    // Set twice (flag and env var), both must say the same: the flag wins, the env var would mislead.
    for (const [flag, env] of [
      ["--http-listen", "NRI_RESCTRL_HTTP_LISTEN"],
      ["--retry-interval", "NRI_RESCTRL_RETRY_INTERVAL"],
    ] as const) {
      const a = arg(flag);
      const e = ctr.env?.find((x) => x.name === env);
      if (a !== undefined && e !== undefined) assert.equal(e.value, a, `${env} agrees with ${flag}`);
    }
    const cp = ctr.ports?.find((p) => p.containerPort === port);
    assert.ok(cp, `a containerPort ${port}`);
    assert.match(cp.name ?? "", /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "the containerPort is named");
    assert.ok((cp.name ?? "").length <= 15, "a port name has at most 15 characters");
    assert.equal(cp.protocol ?? "TCP", "TCP");
    assert.equal(cp.hostPort, undefined, "no hostPort: the pod IP is enough");
    assert.notEqual(pod.hostNetwork, true, "not on the host network");
    assert.equal(portNumber(ctr.livenessProbe?.httpGet?.port), port, "liveness probe port");
    assert.equal(portNumber(ctr.readinessProbe?.httpGet?.port), port, "readiness probe port");
    const ann = ds.spec.template.metadata.annotations ?? {};
    assert.equal(ann["prometheus.io/port"], String(port), "prometheus.io/port");
  });

  it("has liveness on /healthz and readiness on /readyz, over HTTP, with bounded timings", () => {
    const live = ctr.livenessProbe;
    const ready = ctr.readinessProbe;
    assert.equal(live?.httpGet?.path, "/healthz");
    assert.equal(ready?.httpGet?.path, "/readyz");
    for (const [name, p] of [
      ["liveness", live],
      ["readiness", ready],
    ] as const) {
      assert.equal(p?.exec, undefined, `${name}: httpGet only`);
      assert.equal(p?.httpGet?.scheme ?? "HTTP", "HTTP", `${name}: plain HTTP`);
      const period = p?.periodSeconds ?? 10;
      const timeout = p?.timeoutSeconds ?? 1;
      assert.ok(period >= 5 && period <= 60, `${name}: periodSeconds ${period} in [5, 60]`);
      assert.ok(timeout >= 1 && timeout < period, `${name}: timeoutSeconds ${timeout} < periodSeconds`);
    }
    // Liveness must not restart a healthy plugin on a brief hiccup: at least ~30 s of failures first.
    const liveWindow = (live?.periodSeconds ?? 10) * (live?.failureThreshold ?? 3);
    assert.ok(liveWindow >= 30, `liveness restarts only after ${liveWindow} s >= 30 s of failures`);
    assert.equal(ready?.successThreshold ?? 1, 1, "ready on the first 200");
  });

  it("carries the prometheus.io scrape annotations on the pod template", () => {
    const ann = ds.spec.template.metadata.annotations ?? {};
    assert.equal(ann["prometheus.io/scrape"], "true");
    assert.equal(ann["prometheus.io/path"], "/metrics");
    assert.match(ann["prometheus.io/port"] ?? "", /^\d+$/);
  });

  it("sets NODE_NAME from the downward API (spec.nodeName) and keeps the 10 s retry interval", () => {
    const node = (ctr.env ?? []).find((e) => e.name === "NODE_NAME");
    assert.equal(node?.valueFrom?.fieldRef?.fieldPath, "spec.nodeName");
    assert.equal(node?.value, undefined);
    assert.equal(arg("--node-name"), undefined, "no fixed --node-name overriding NODE_NAME");
    const names = (ctr.env ?? []).map((e) => e.name);
    assert.equal(new Set(names).size, names.length, "no env var twice");
    assert.equal(effective().retryIntervalMs, 10_000);
    assert.equal(DEFAULT_RETRY_INTERVAL_MS, 10_000, "the manifest's 10s is the daemon's default");
  });

  it("declares resource requests and a memory limit", () => {
    assert.ok(ctr.resources.requests.cpu && ctr.resources.requests.memory);
    assert.ok(ctr.resources.limits.memory);
  });

  it("is wired into the kustomization with its namespace", () => {
    const k = load("kustomization.yaml") as { resources: string[] };
    for (const r of k.resources) assert.ok(existsSync(join(K8S, r)), `${r} exists`);
    const ns = load("namespace.yaml") as { metadata: { name: string } };
    assert.equal(ns.metadata.name, ds.metadata.namespace);
  });
});
