import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

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
    for (const o of ["--check", "--skip-k3s", "INSTALL_K3S_VERSION", "NODE_VERSION"])
      assert.ok(help.stdout.includes(o), o);
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
