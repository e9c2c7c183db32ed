import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

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

const ds = load("daemonset.yaml") as {
  kind: string;
  metadata: { namespace: string };
  spec: {
    template: {
      spec: {
        hostPID: boolean;
        tolerations: { operator: string }[];
        containers: {
          args: string[];
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
