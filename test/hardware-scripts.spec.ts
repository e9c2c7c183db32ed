import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseLlcBytes } from "../support/worlds/hardware/rmid-limbo.js";
import { nriVersionForContainerd } from "../support/worlds/hardware/runtime-version.js";

// The EC2 scripts on THIS machine, in their read-only modes only (provision --check, argument
// errors, an unmounted resctrl): they must fail loudly with one "FAILED:" line naming the first
// missing piece, as they would on a misconfigured host. The expected piece is derived from this
// machine's own files, so the test holds on any host. Nothing here installs, mounts or deletes.

const REPO = resolve(fileURLToPath(new URL(".", import.meta.url)), "..");
const run = (script: string, args: string[] = [], env: Record<string, string> = {}) =>
  spawnSync("bash", [join(REPO, "hardware/ec2", script), ...args], {
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", ...env },
    timeout: 60_000,
  });
const read = (p: string): string => (existsSync(p) ? readFileSync(p, "utf8") : "");
const isRoot = process.getuid?.() === 0;
const resctrlMounted = read("/proc/mounts")
  .split("\n")
  .some((l) => l.split(" ")[2] === "resctrl" && l.split(" ")[1] === "/sys/fs/resctrl");

describe("hardware/ec2 scripts on this machine", () => {
  it("provision.sh --check names the first missing piece, or passes on a provisioned host", () => {
    const r = run("provision.sh", ["--check"]);
    const out = r.stderr + r.stdout;
    let expected: RegExp | undefined;
    if (!isRoot) expected = /FAILED: must run as root/;
    else if (process.arch !== "x64") expected = /FAILED: architecture/;
    else if (!existsSync("/sys/fs/cgroup/cgroup.controllers")) expected = /FAILED: cgroup v2 is not mounted/;
    else if (!/\bresctrl\b/.test(read("/proc/filesystems")))
      expected = /FAILED: the kernel has no resctrl filesystem/;
    else if (!/\bcqm_occup_llc\b/.test(read("/proc/cpuinfo"))) expected = /FAILED: CPU flags missing/;
    else if (!resctrlMounted) expected = /FAILED: resctrl is not mounted/;
    if (expected) {
      assert.equal(r.status, 1, out);
      assert.match(out, expected);
      assert.equal(out.match(/FAILED:/g)?.length, 1, "exactly one FAILED line");
      assert.match(out, /hint: /);
    } else {
      // An RDT host with resctrl mounted: the rest of --check decides; it must not crash.
      assert.ok(r.status === 0 || /FAILED: /.test(out), out);
    }
  });

  it("provision.sh rejects unknown arguments and documents its options", () => {
    const bad = run("provision.sh", ["--bogus"]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /FAILED: unknown argument: --bogus/);
    const help = run("provision.sh", ["--help"]);
    assert.equal(help.status, 0);
    for (const o of [
      "--check",
      "--skip-k3s",
      "INSTALL_K3S_VERSION",
      "NODE_VERSION",
      "APT_LOCK_TIMEOUT",
      "HW_STATE_DIR",
    ])
      assert.ok(help.stdout.includes(o), o);
    assert.ok(!help.stdout.includes("set -euo"), "the help is the header comment only");
  });

  it("provision.sh pins k3s v1.32.5+k3s1 (containerd 2.0.5) and installs no jq", () => {
    const text = readFileSync(join(REPO, "hardware/ec2/provision.sh"), "utf8");
    assert.match(text, /^INSTALL_K3S_VERSION="\$\{INSTALL_K3S_VERSION:-v1\.32\.5\+k3s1\}"$/m);
    assert.match(text, /containerd 2\.0\.5/);
    assert.ok(!/\bjq\b/.test(text), "jq is not used, so not installed");
    assert.ok(
      !/^\s*(DEBIAN_FRONTEND=\S+ )?apt-get /m.test(text),
      "apt goes through apt_get (waits for the dpkg lock)",
    );
  });

  it("rmid-gc-wait.sh validates its timeout and refuses an unmounted resctrl", () => {
    const bad = run("rmid-gc-wait.sh", ["soon"]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /FAILED: timeout must be a number of seconds, got 'soon'/);
    const dir = mkdtempSync(join(tmpdir(), "hw-gc-"));
    try {
      const r = run("rmid-gc-wait.sh", ["1"], { RESCTRL_ROOT: dir });
      assert.equal(r.status, 1);
      assert.match(
        r.stderr,
        isRoot ? new RegExp(`FAILED: resctrl is not mounted at ${dir}`) : /FAILED: must run as root/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("teardown.sh documents its modes and rejects unknown arguments", () => {
    const help = run("teardown.sh", ["--help"]);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--uninstall-k3s/);
    assert.match(help.stdout, /max_threshold_occupancy/);
    const bad = run("teardown.sh", ["--everything"]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /FAILED: unknown argument: --everything/);
  });

  it("collect-diagnostics.sh never fails and writes one file per piece", () => {
    const dir = mkdtempSync(join(tmpdir(), "hw-diag-"));
    try {
      const r = run("collect-diagnostics.sh", [dir], { RESCTRL_ROOT: join(dir, "no-resctrl") });
      assert.equal(r.status, 0, r.stderr);
      const files = readdirSync(dir);
      for (const f of ["uname.txt", "mounts.txt", "resctrl-info.txt", "k3s-journal.txt", "pods.txt"])
        assert.ok(files.includes(f), f);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("hardware/ec2/lib.sh helpers", () => {
  const lib = join(REPO, "hardware/ec2/lib.sh");
  const bash = (script: string, env: Record<string, string> = {}) =>
    spawnSync("bash", ["-c", `set -euo pipefail; . ${JSON.stringify(lib)}; ${script}`], {
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
      timeout: 30_000,
    });

  it("nri_version_for gives the same NRI version as the TypeScript table", () => {
    const versions = [
      "1.6.33",
      "1.7.0",
      "1.7.15",
      "1.7.16",
      "v1.7.24",
      "1.7.25",
      "1.7.26",
      "v2.0.2-k3s1",
      "v2.0.5-k3s1",
      "2.0.5-k3s1.32",
      "2.1.9",
      "2.2.0",
      "2.2.3",
      "2.2.6",
      "v2.2.7-k3s1",
      "2.2.9",
      "2.3.1",
      "2.4.0",
      "3.0.0",
      "garbage",
      "1.7",
      "",
    ];
    const r = bash(versions.map((v) => `nri_version_for ${JSON.stringify(v)}`).join("; "));
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trimEnd().split("\n"), versions.map(nriVersionForContainerd));
  });

  it("llc_bytes reads the same LLC size from /proc/cpuinfo as the world does", () => {
    const r = bash("llc_bytes");
    assert.equal(r.status, 0, r.stderr);
    const cpuinfo = existsSync("/proc/cpuinfo") ? readFileSync("/proc/cpuinfo", "utf8") : "";
    assert.equal(r.stdout.trim(), String(parseLlcBytes(cpuinfo) ?? ""));
  });

  it("apt_get waits while another apt holds the lock, and fails at once on anything else", () => {
    const dir = mkdtempSync(join(tmpdir(), "hw-apt-"));
    try {
      const fake = join(dir, "apt-get");
      // Answers "lock held" as many times as the counter file says, then succeeds (or fails for real).
      writeFileSync(
        fake,
        [
          "#!/usr/bin/env bash",
          `n=$(cat ${dir}/locked)`,
          `echo "$*" >>${dir}/calls`,
          `if [ "$n" -gt 0 ]; then echo $((n - 1)) >${dir}/locked; echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 1234 (apt-get)" >&2; exit 100; fi`,
          `[ -e ${dir}/broken ] && { echo "E: Unable to locate package nope" >&2; exit 100; }`,
          "exit 0",
        ].join("\n"),
      );
      chmodSync(fake, 0o755);
      const env = { PATH: `${dir}:${process.env.PATH ?? "/usr/bin:/bin"}`, APT_LOCK_RETRY_SECONDS: "0" };
      writeFileSync(join(dir, "locked"), "2");
      const ok = bash("apt_get update", env);
      assert.equal(ok.status, 0, ok.stderr);
      assert.equal(readFileSync(join(dir, "calls"), "utf8").trim().split("\n").length, 3, "two retries");
      assert.match(ok.stderr, /lock held by another process/);
      assert.match(readFileSync(join(dir, "calls"), "utf8"), /-o DPkg::Lock::Timeout=\d+ -q update/);

      writeFileSync(join(dir, "locked"), "0");
      writeFileSync(join(dir, "broken"), "");
      rmSync(join(dir, "calls"));
      const bad = bash("apt_get install -y nope || echo rc=$?", env);
      assert.match(bad.stdout, /rc=100/);
      assert.equal(readFileSync(join(dir, "calls"), "utf8").trim().split("\n").length, 1, "no retry");

      writeFileSync(join(dir, "locked"), "1000");
      const stuck = bash("apt_get update || echo rc=$?", { ...env, APT_LOCK_TIMEOUT: "0" });
      assert.match(stuck.stdout, /rc=100/, "gives up after APT_LOCK_TIMEOUT");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
