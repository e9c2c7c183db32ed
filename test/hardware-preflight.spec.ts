import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";
import type { CommandResult, HostPort, PathKind } from "../support/worlds/hardware/host.js";
import { nodeHost } from "../support/worlds/hardware/host.js";
import {
  cpuFlags,
  formatMissing,
  kernelHasResctrl,
  parseMounts,
  runPreflight,
} from "../support/worlds/hardware/preflight.js";
import { nriVersionForContainerd, parseCrictlVersion } from "../support/worlds/hardware/runtime-version.js";

const REPO = resolve(fileURLToPath(new URL(".", import.meta.url)), "..");

interface FakeHostSpec {
  uid?: number;
  files?: Record<string, string>;
  dirs?: string[];
  sockets?: string[];
  commands?: Record<string, CommandResult>;
}

function fakeHost(spec: FakeHostSpec): HostPort & { ran: string[] } {
  const files = { ...(spec.files ?? {}) };
  const ran: string[] = [];
  return {
    ran,
    uid: () => spec.uid ?? 0,
    readFile: async (p) => {
      const v = files[p];
      if (v === undefined) throw Object.assign(new Error(`ENOENT: ${p}`), { code: "ENOENT" });
      return v;
    },
    stat: async (p): Promise<PathKind | undefined> => {
      if (files[p] !== undefined) return { isFile: true, isDirectory: false, isSocket: false };
      if (spec.dirs?.includes(p)) return { isFile: false, isDirectory: true, isSocket: false };
      if (spec.sockets?.includes(p)) return { isFile: false, isDirectory: false, isSocket: true };
      return undefined;
    },
    run: async (cmd, args) => {
      const key = [cmd, ...args].join(" ");
      ran.push(key);
      if (cmd === "mount" && files["/proc/mounts"] !== undefined) {
        files["/proc/mounts"] += `resctrl ${args[3]} resctrl rw,relatime 0 0\n`;
        files[`${args[3]}/info/L3_MON/num_rmids`] = "448\n";
        spec.dirs?.push(`${args[3]}/mon_groups`);
      }
      const prefix = Object.keys(spec.commands ?? {}).find((k) => key.startsWith(k));
      return prefix === undefined
        ? { exitCode: -1, stdout: "", stderr: `spawn ${cmd} ENOENT`, timedOut: false }
        : spec.commands![prefix]!;
    },
  };
}

const OK: CommandResult = { exitCode: 0, stdout: "ok", stderr: "", timedOut: false };
/** `k3s crictl version` of k3s v1.32.5+k3s1. */
const CRICTL_VERSION: CommandResult = {
  exitCode: 0,
  stdout: "Version:  0.1.0\nRuntimeName:  containerd\nRuntimeVersion:  v2.0.5-k3s1\nRuntimeApiVersion:  v1\n",
  stderr: "",
  timedOut: false,
};

function rdtHost(overrides: Partial<FakeHostSpec> = {}): FakeHostSpec {
  return {
    uid: 0,
    files: {
      "/sys/fs/cgroup/cgroup.controllers": "cpuset cpu io memory pids\n",
      "/proc/cpuinfo": "processor\t: 0\nflags\t\t: fpu vme cqm cqm_llc cqm_occup_llc cqm_mbm_total rdt_a\n",
      "/proc/filesystems": "nodev\tsysfs\nnodev\tcgroup2\nnodev\tresctrl\n",
      "/proc/mounts": "sysfs /sys sysfs rw 0 0\nresctrl /sys/fs/resctrl resctrl rw,relatime 0 0\n",
      "/sys/fs/resctrl/info/L3_MON/num_rmids": "448\n",
      "/sys/fs/resctrl/info/L3_MON/max_threshold_occupancy": "110100480\n",
      "/etc/rancher/k3s/k3s.yaml": "apiVersion: v1\n",
      "/repo/dist/cli.js": "",
    },
    dirs: ["/sys/fs/resctrl/mon_groups"],
    sockets: ["/var/run/nri/nri.sock"],
    commands: {
      "kubectl version": OK,
      "kubectl get --raw /readyz": OK,
      "k3s crictl version": CRICTL_VERSION,
    },
    ...overrides,
  };
}

describe("hardware preflight (fake host)", () => {
  it("reports nothing missing on a fully provisioned RDT host", async () => {
    const host = fakeHost(rdtHost());
    const report = await runPreflight({ host, repoRoot: "/repo", env: {} });
    assert.deepEqual(report.missing, []);
    assert.equal(report.ok, true);
    assert.equal(report.checks.length, 11);
    assert.deepEqual(report.runtime, { runtime: "containerd", version: "v2.0.5-k3s1", nri: "v0.8.0" });
    assert.equal(
      report.checks.find((c) => c.id === "runtime")!.detail,
      "containerd v2.0.5-k3s1, NRI v0.8.0 (from the containerd version)",
    );
    assert.match(report.checks.find((c) => c.id === "l3-mon")!.detail, /max_threshold_occupancy=110100480/);
    assert.match(
      report.checks.find((c) => c.id === "cluster")!.detail,
      /KUBECONFIG=\/etc\/rancher\/k3s\/k3s\.yaml/,
    );
  });

  it("names exactly the pieces a plain VM lacks, each with a fix", async () => {
    const host = fakeHost({
      uid: 0,
      files: {
        "/proc/cpuinfo": "flags\t\t: fpu vme sse2\n",
        "/proc/filesystems": "nodev\tsysfs\nnodev\tcgroup\n",
        "/proc/mounts": "cgroup /sys/fs/cgroup/cpu cgroup rw 0 0\n",
        "/repo/src/cli.ts": "",
      },
      commands: { "kubectl version": OK },
    });
    const report = await runPreflight({ host, repoRoot: "/repo", env: {} });
    assert.deepEqual(
      report.missing.map((c) => c.id),
      [
        "cgroup-v2",
        "cpu-rdt-flags",
        "resctrl-kernel",
        "resctrl-mounted",
        "l3-mon",
        "cluster",
        "runtime",
        "nri-socket",
      ],
    );
    for (const c of report.missing) assert.ok(c.fix && c.fix.length > 10, `${c.id} has a fix`);
    assert.match(report.checks.find((c) => c.id === "daemon")!.detail, /src\/cli\.ts/);
    const line = formatMissing(report);
    for (const c of report.missing) assert.ok(line.includes(c.id), `skip reason names ${c.id}`);
    assert.ok(!host.ran.some((r) => r.startsWith("mount")), "no mount attempted without tryMount");
  });

  it("reports a non-root run and does not try to mount then", async () => {
    const spec = rdtHost({ uid: 1000 });
    spec.files!["/proc/mounts"] = "sysfs /sys sysfs rw 0 0\n";
    const host = fakeHost(spec);
    const report = await runPreflight({ host, repoRoot: "/repo", env: {}, tryMount: true });
    assert.deepEqual(
      report.missing.map((c) => c.id),
      ["root", "resctrl-mounted", "l3-mon"],
    );
    assert.ok(!host.ran.some((r) => r.startsWith("mount")));
  });

  it("mounts resctrl with tryMount when root and the kernel supports it", async () => {
    const spec = rdtHost();
    spec.files!["/proc/mounts"] = "sysfs /sys sysfs rw 0 0\n";
    const host = fakeHost(spec);
    const report = await runPreflight({ host, repoRoot: "/repo", env: {}, tryMount: true });
    assert.ok(host.ran.includes("mount -t resctrl resctrl /sys/fs/resctrl"));
    assert.equal(report.ok, true, formatMissing(report));
    assert.match(report.checks.find((c) => c.id === "resctrl-mounted")!.detail, /mounted by preflight/);
  });

  it("does not count resctrl mounted elsewhere as mounted at the root", async () => {
    const spec = rdtHost();
    spec.files!["/proc/mounts"] = "resctrl /mnt/other\\040dir resctrl rw 0 0\n";
    const report = await runPreflight({ host: fakeHost(spec), repoRoot: "/repo", env: {} });
    assert.deepEqual(
      report.missing.map((c) => c.id),
      ["resctrl-mounted", "l3-mon"],
    );
  });

  it("flags a mounted resctrl without L3 monitoring", async () => {
    const spec = rdtHost({ dirs: [] });
    delete spec.files!["/sys/fs/resctrl/info/L3_MON/num_rmids"];
    const report = await runPreflight({ host: fakeHost(spec), repoRoot: "/repo", env: {} });
    assert.deepEqual(
      report.missing.map((c) => c.id),
      ["l3-mon"],
    );
    assert.match(report.missing[0]!.detail, /num_rmids=missing, mon_groups missing/);
  });

  it("does not probe the cluster when kubectl is missing", async () => {
    const host = fakeHost(rdtHost({ commands: {} }));
    const report = await runPreflight({ host, repoRoot: "/repo", env: {} });
    assert.deepEqual(
      report.missing.map((c) => c.id),
      ["kubectl", "cluster", "runtime"],
    );
    assert.match(report.missing[1]!.detail, /not checked/);
    assert.match(report.missing[2]!.detail, /k3s crictl version failed: spawn k3s ENOENT/);
    assert.equal(report.runtime, undefined);
    assert.ok(!host.ran.some((r) => r.includes("readyz")));
  });
});

describe("hardware preflight: the container runtime", () => {
  it("reports a runtime other than containerd as missing, still naming it", async () => {
    const spec = rdtHost();
    spec.commands!["k3s crictl version"] = {
      ...CRICTL_VERSION,
      stdout: "RuntimeName: cri-o\nRuntimeVersion: 1.32.0\n",
    };
    const report = await runPreflight({ host: fakeHost(spec), repoRoot: "/repo", env: {} });
    assert.deepEqual(
      report.missing.map((c) => c.id),
      ["runtime"],
    );
    assert.match(report.missing[0]!.detail, /^cri-o 1\.32\.0/);
    assert.equal(report.runtime?.runtime, "cri-o");
  });

  it("parses crictl version and knows which NRI each containerd embeds", () => {
    assert.deepEqual(parseCrictlVersion(CRICTL_VERSION.stdout), {
      runtime: "containerd",
      version: "v2.0.5-k3s1",
    });
    assert.deepEqual(parseCrictlVersion("nothing"), { runtime: undefined, version: undefined });
    const table: [string, string][] = [
      ["1.6.33", "none (containerd before 1.7 has no NRI)"],
      ["1.7.15", "unknown (containerd 1.7.15 is not in the table)"],
      ["1.7.16", "v0.6.1"],
      ["v1.7.24", "v0.6.1"],
      ["1.7.25", "v0.6.1"],
      ["1.7.26", "v0.8.0"],
      ["v2.0.2-k3s1", "v0.8.0"],
      ["v2.0.5-k3s1", "v0.8.0"],
      ["2.0.5-k3s1.32", "v0.8.0"],
      ["2.1.9", "v0.8.0"],
      ["2.2.0", "v0.10.0"],
      ["2.2.3", "v0.10.0 or v0.11.0 (not recorded for this patch release)"],
      ["v2.2.7-k3s1", "v0.11.0"],
      ["2.3.1", "v0.12.0"],
      ["2.4.0", "unknown (containerd 2.4.0 is not in the table)"],
      ["garbage", 'unknown (unparsable containerd version "garbage")'],
    ];
    for (const [v, nri] of table) assert.equal(nriVersionForContainerd(v), nri, v);
  });
});

describe("hardware preflight parsers", () => {
  it("parses /proc/mounts with octal escapes", () => {
    assert.deepEqual(parseMounts("resctrl /a\\040b resctrl rw 0 0\n\nshort line\n"), [
      { source: "resctrl", target: "/a b", fstype: "resctrl" },
    ]);
  });
  it("reads the CPU flags of the first flags line only", () => {
    const f = cpuFlags("processor : 0\nflags\t: a cqm_llc b\nflags\t: z\n");
    assert.deepEqual([...f], ["a", "cqm_llc", "b"]);
    assert.equal(cpuFlags("no flags here").size, 0);
  });
  it("finds resctrl in /proc/filesystems only as a whole name", () => {
    assert.equal(kernelHasResctrl("nodev\tresctrl\n"), true);
    assert.equal(kernelHasResctrl("nodev\tresctrlx\nnodev\tsysfs\n"), false);
  });
});

describe("hardware preflight on this machine", () => {
  it("agrees with the machine's own files, check by check", async () => {
    const report = await runPreflight({ host: nodeHost(), repoRoot: REPO, clusterTimeoutMs: 3_000 });
    const byId = new Map(report.checks.map((c) => [c.id, c]));
    const read = (p: string): string => (existsSync(p) ? readFileSync(p, "utf8") : "");
    assert.equal(byId.get("root")!.ok, process.getuid?.() === 0);
    assert.equal(byId.get("cgroup-v2")!.ok, existsSync("/sys/fs/cgroup/cgroup.controllers"));
    assert.equal(byId.get("resctrl-kernel")!.ok, /\bresctrl\b/.test(read("/proc/filesystems")));
    const mounted = read("/proc/mounts")
      .split("\n")
      .some((l) => l.split(" ")[2] === "resctrl" && l.split(" ")[1] === "/sys/fs/resctrl");
    assert.equal(byId.get("resctrl-mounted")!.ok, mounted);
    const sock = existsSync("/var/run/nri/nri.sock") && statSync("/var/run/nri/nri.sock").isSocket();
    assert.equal(byId.get("nri-socket")!.ok, sock);
    assert.equal(
      byId.get("daemon")!.ok,
      existsSync(resolve(REPO, "dist/cli.js")) || existsSync(resolve(REPO, "src/cli.ts")),
    );
    assert.equal(report.ok, report.missing.length === 0);
    if (!report.ok) assert.match(formatMissing(report), /^hardware preflight: \d+ missing: /);
  });
});
