import { join } from "node:path";
import { decodeMountField } from "../../../src/resctrl/index.js";
import type { HostPort } from "./host.js";
import {
  describeRuntime,
  nriVersionForContainerd,
  parseCrictlVersion,
  type RuntimeVersions,
} from "./runtime-version.js";

/** Default resctrl mount point. */
export const DEFAULT_RESCTRL_ROOT = "/sys/fs/resctrl";
/** Default NRI socket of containerd (and of k3s's embedded containerd). */
export const DEFAULT_NRI_SOCKET = "/var/run/nri/nri.sock";
/** Kubeconfig that k3s writes; used when KUBECONFIG is unset and this file exists. */
export const K3S_KUBECONFIG = "/etc/rancher/k3s/k3s.yaml";
/** How long the cluster reachability probe may take. */
export const DEFAULT_CLUSTER_TIMEOUT_MS = 10_000;
/** CPU flags that announce RDT L3 cache-occupancy monitoring. */
export const RDT_MONITORING_FLAGS = ["cqm_llc", "cqm_occup_llc"] as const;

/** Identifier of one preflight check, in the order they run. */
export type PreflightCheckId =
  | "root"
  | "cgroup-v2"
  | "cpu-rdt-flags"
  | "resctrl-kernel"
  | "resctrl-mounted"
  | "l3-mon"
  | "kubectl"
  | "cluster"
  | "runtime"
  | "nri-socket"
  | "daemon";

/** Outcome of one check. `detail` says what was seen; `fix` how to get the piece (only when missing). */
export interface PreflightCheck {
  id: PreflightCheckId;
  ok: boolean;
  detail: string;
  fix?: string;
}

/** All checks, and the ones that failed (`missing`), in check order. `ok` = nothing missing. */
export interface PreflightReport {
  ok: boolean;
  checks: PreflightCheck[];
  missing: PreflightCheck[];
  /** The container runtime CRI reports and the NRI it speaks, when `crictl version` answered. */
  runtime?: RuntimeVersions;
}

/** Options of {@link runPreflight}. */
export interface PreflightOptions {
  host: HostPort;
  /** Project checkout holding dist/cli.js or src/cli.ts. */
  repoRoot: string;
  resctrlRoot?: string;
  nriSocket?: string;
  /** KUBECONFIG for kubectl; default: $KUBECONFIG, else {@link K3S_KUBECONFIG} if it exists. */
  kubeconfig?: string;
  kubectl?: string;
  /** The crictl command line the world uses (default `k3s crictl`). */
  crictl?: readonly string[];
  clusterTimeoutMs?: number;
  /** When resctrl is not mounted but the kernel has it and we are root, try to mount it. */
  tryMount?: boolean;
  /** Environment to read KUBECONFIG from (default process.env). */
  env?: Record<string, string | undefined>;
}

/** One line of /proc/mounts. */
export interface MountEntry {
  source: string;
  target: string;
  fstype: string;
}

/** Parses /proc/mounts text. Lines with fewer than three fields are ignored. Pure. */
export function parseMounts(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 3 || f[0] === undefined || f[1] === undefined || f[2] === undefined) continue;
    out.push({ source: decodeMountField(f[0]), target: decodeMountField(f[1]), fstype: f[2] });
  }
  return out;
}

/** The flags of the first `flags` line of /proc/cpuinfo (empty when there is none). Pure. */
export function cpuFlags(cpuinfo: string): Set<string> {
  const line = cpuinfo.split("\n").find((l) => /^flags\s*:/.test(l));
  if (line === undefined) return new Set();
  return new Set(
    line
      .slice(line.indexOf(":") + 1)
      .trim()
      .split(/\s+/)
      .filter(Boolean),
  );
}

/** True when /proc/filesystems text lists the resctrl filesystem type. Pure. */
export function kernelHasResctrl(filesystems: string): boolean {
  return filesystems.split("\n").some((l) => l.trim().split(/\s+/).at(-1) === "resctrl");
}

async function readOr(host: HostPort, path: string): Promise<string | undefined> {
  try {
    return await host.readFile(path);
  } catch {
    return undefined;
  }
}

/**
 * Checks whether this machine can run the hardware profile and names every missing piece.
 *
 * Blocking: reads a few /proc and /sys files and runs `kubectl` twice (bounded by
 * `clusterTimeoutMs`); with `tryMount` it may run `mount -t resctrl` (the only side effect).
 * Never rejects: every failure becomes a missing check with a `fix`.
 */
export async function runPreflight(opts: PreflightOptions): Promise<PreflightReport> {
  const { host } = opts;
  const root = opts.resctrlRoot ?? DEFAULT_RESCTRL_ROOT;
  const nriSocket = opts.nriSocket ?? DEFAULT_NRI_SOCKET;
  const env = opts.env ?? process.env;
  const checks: PreflightCheck[] = [];
  const add = (id: PreflightCheckId, ok: boolean, detail: string, fix?: string): boolean => {
    checks.push(ok ? { id, ok, detail } : { id, ok, detail, fix });
    return ok;
  };

  const uid = host.uid();
  const isRoot = add(
    "root",
    uid === 0,
    `running as uid ${uid}`,
    "run the hardware profile as root (sudo -E)",
  );

  const v2 = (await host.stat("/sys/fs/cgroup/cgroup.controllers"))?.isFile === true;
  add(
    "cgroup-v2",
    v2,
    v2 ? "cgroup v2 at /sys/fs/cgroup" : "no /sys/fs/cgroup/cgroup.controllers (cgroup v1 or hybrid)",
    "use a host with the unified cgroup v2 hierarchy (Ubuntu 24.04 default)",
  );

  const flags = cpuFlags((await readOr(host, "/proc/cpuinfo")) ?? "");
  const lacking = RDT_MONITORING_FLAGS.filter((f) => !flags.has(f));
  add(
    "cpu-rdt-flags",
    lacking.length === 0,
    lacking.length === 0
      ? `CPU flags ${RDT_MONITORING_FLAGS.join(" ")}`
      : `CPU lacks flags ${lacking.join(" ")}`,
    "use a bare-metal RDT instance such as m7i.metal-24xl (virtualised instances hide RDT)",
  );

  const kernel = kernelHasResctrl((await readOr(host, "/proc/filesystems")) ?? "");
  add(
    "resctrl-kernel",
    kernel,
    kernel ? "kernel supports resctrl" : "/proc/filesystems lacks resctrl",
    "use a kernel built with CONFIG_X86_CPU_RESCTRL on an RDT-capable CPU",
  );

  const mountedAt = async (): Promise<boolean> =>
    parseMounts((await readOr(host, "/proc/mounts")) ?? "").some(
      (m) => m.fstype === "resctrl" && m.target === root,
    );
  let mounted = await mountedAt();
  let mountNote = "";
  if (!mounted && opts.tryMount === true && kernel && isRoot) {
    const r = await host.run("mount", ["-t", "resctrl", "resctrl", root], { timeoutMs: 10_000 });
    mounted = await mountedAt();
    mountNote = mounted
      ? " (mounted by preflight)"
      : ` (mount failed: ${r.stderr.trim() || `exit ${r.exitCode}`})`;
  }
  add(
    "resctrl-mounted",
    mounted,
    mounted ? `resctrl mounted at ${root}${mountNote}` : `resctrl not mounted at ${root}${mountNote}`,
    `mount -t resctrl resctrl ${root} (hardware/ec2/provision.sh does it)`,
  );

  if (mounted) {
    const rmidsText = await readOr(host, join(root, "info/L3_MON/num_rmids"));
    const rmids = rmidsText === undefined ? NaN : Number(rmidsText.trim());
    const monGroups = (await host.stat(join(root, "mon_groups")))?.isDirectory === true;
    const ok = Number.isInteger(rmids) && rmids > 0 && monGroups;
    const threshold = (await readOr(host, join(root, "info/L3_MON/max_threshold_occupancy")))?.trim();
    add(
      "l3-mon",
      ok,
      ok
        ? `L3_MON num_rmids=${rmids}, max_threshold_occupancy=${threshold ?? "?"} bytes`
        : `no L3 monitoring: num_rmids=${rmidsText?.trim() ?? "missing"}, mon_groups ${monGroups ? "present" : "missing"}`,
      "the CPU or kernel lacks L3 cache monitoring (CQM); use m7i.metal-24xl",
    );
  } else {
    add("l3-mon", false, "not checked: resctrl is not mounted", `mount resctrl at ${root} first`);
  }

  const kubectl = opts.kubectl ?? "kubectl";
  const kubeconfig =
    opts.kubeconfig ??
    env.KUBECONFIG ??
    ((await host.stat(K3S_KUBECONFIG))?.isFile ? K3S_KUBECONFIG : undefined);
  const kenv = kubeconfig === undefined ? {} : { KUBECONFIG: kubeconfig };
  const client = await host.run(kubectl, ["version", "--client"], { timeoutMs: 10_000, env: kenv });
  const hasKubectl = add(
    "kubectl",
    client.exitCode === 0,
    client.exitCode === 0
      ? `${kubectl} found`
      : `${kubectl} not runnable: ${firstLine(client.stderr) || `exit ${client.exitCode}`}`,
    "install k3s (hardware/ec2/provision.sh), which provides kubectl",
  );
  if (hasKubectl) {
    const timeoutMs = opts.clusterTimeoutMs ?? DEFAULT_CLUSTER_TIMEOUT_MS;
    const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
    const r = await host.run(kubectl, ["get", "--raw", "/readyz", `--request-timeout=${seconds}s`], {
      timeoutMs: timeoutMs + 2_000,
      env: kenv,
    });
    add(
      "cluster",
      r.exitCode === 0,
      r.exitCode === 0
        ? `cluster reachable (KUBECONFIG=${kubeconfig ?? "default"})`
        : `cluster not reachable (KUBECONFIG=${kubeconfig ?? "default"}): ${firstLine(r.stderr) || (r.timedOut ? "timed out" : `exit ${r.exitCode}`)}`,
      "start k3s (systemctl start k3s) and export KUBECONFIG=/etc/rancher/k3s/k3s.yaml",
    );
  } else {
    add("cluster", false, "not checked: kubectl missing", "install k3s (hardware/ec2/provision.sh)");
  }

  const [crictlCmd = "k3s", ...crictlPre] = opts.crictl ?? ["k3s", "crictl"];
  const crictlLine = [crictlCmd, ...crictlPre].join(" ");
  const cv = await host.run(crictlCmd, [...crictlPre, "version"], { timeoutMs: 10_000 });
  const { runtime: runtimeName, version } = cv.exitCode === 0 ? parseCrictlVersion(cv.stdout) : {};
  let runtime: RuntimeVersions | undefined;
  if (runtimeName !== undefined && version !== undefined)
    runtime = { runtime: runtimeName, version, nri: nriVersionForContainerd(version) };
  add(
    "runtime",
    runtime?.runtime === "containerd",
    runtime
      ? describeRuntime(runtime)
      : cv.exitCode === 0
        ? `${crictlLine} version named no RuntimeName/RuntimeVersion`
        : `${crictlLine} version failed: ${firstLine(cv.stderr) || (cv.timedOut ? "timed out" : `exit ${cv.exitCode}`)}`,
    runtime
      ? "the world needs containerd (k3s embeds it)"
      : "install k3s (hardware/ec2/provision.sh): the world drives CRI through k3s crictl",
  );

  const sock = (await host.stat(nriSocket))?.isSocket === true;
  add(
    "nri-socket",
    sock,
    sock ? `NRI socket ${nriSocket}` : `no NRI socket at ${nriSocket}`,
    "enable NRI in containerd (hardware/ec2/provision.sh writes the k3s template); see docs/hardware.md",
  );

  const built = (await host.stat(join(opts.repoRoot, "dist/cli.js")))?.isFile === true;
  const source = (await host.stat(join(opts.repoRoot, "src/cli.ts")))?.isFile === true;
  add(
    "daemon",
    built || source,
    built
      ? "daemon built (dist/cli.js)"
      : source
        ? "daemon source src/cli.ts (run through tsx)"
        : "no dist/cli.js and no src/cli.ts",
    "run npm ci && npm run build in the project checkout",
  );

  const missing = checks.filter((c) => !c.ok);
  return runtime
    ? { ok: missing.length === 0, checks, missing, runtime }
    : { ok: missing.length === 0, checks, missing };
}

function firstLine(s: string): string {
  return s.trim().split("\n")[0]?.trim() ?? "";
}

/**
 * One-line skip reason naming every missing piece, e.g.
 * `hardware preflight: 2 missing: resctrl-kernel (/proc/filesystems lacks resctrl; fix: …); …`.
 */
export function formatMissing(report: PreflightReport): string {
  if (report.ok) return "hardware preflight: nothing missing";
  const parts = report.missing.map((c) => `${c.id} (${c.detail}; fix: ${c.fix ?? "-"})`);
  return `hardware preflight: ${report.missing.length} missing: ${parts.join("; ")}`;
}

/** Multi-line table of every check, for logs and the preflight CLI. */
export function formatReport(report: PreflightReport): string {
  const width = Math.max(...report.checks.map((c) => c.id.length));
  const lines = report.checks.map((c) => {
    const head = `${c.ok ? "ok     " : "MISSING"} ${c.id.padEnd(width)}  ${c.detail}`;
    return c.ok ? head : `${head}\n${" ".repeat(8 + width + 2)}fix: ${c.fix ?? "-"}`;
  });
  return lines.join("\n");
}
