import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnSync } from "node:child_process";
import { parse } from "yaml";

// Structural checks of .github/workflows/hardware.yaml. The full lint (actionlint) runs in
// hardware/check.sh; these checks pin the properties that matter for cost and safety.

const REPO = resolve(fileURLToPath(new URL(".", import.meta.url)), "..");
const WORKFLOW = join(REPO, ".github/workflows/hardware.yaml");

interface Step {
  name?: string;
  id?: string;
  if?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
  "continue-on-error"?: boolean;
}
interface Job {
  if?: string;
  needs?: string | string[];
  "runs-on": string;
  "timeout-minutes"?: number;
  steps: Step[];
  outputs?: Record<string, string>;
}
interface Workflow {
  on: { pull_request?: { types: string[] }; workflow_dispatch?: unknown };
  jobs: Record<string, Job>;
  permissions?: Record<string, string>;
}

const wf = parse(readFileSync(WORKFLOW, "utf8")) as Workflow;
const job = (name: string): Job => {
  const j = wf.jobs[name];
  assert.ok(j, `job ${name} exists`);
  return j;
};
const needs = (j: Job): string[] => (Array.isArray(j.needs) ? j.needs : j.needs ? [j.needs] : []);
const allSteps = Object.values(wf.jobs).flatMap((j) => j.steps);

describe("hardware workflow", () => {
  it("runs only when the label hardware-e2e itself is added, or on a manual dispatch", () => {
    assert.deepEqual(wf.on.pull_request?.types, ["labeled"], "no run per push, reopen or other event");
    assert.ok("workflow_dispatch" in wf.on);
    assert.deepEqual(Object.keys(wf.on).sort(), ["pull_request", "workflow_dispatch"]);
    const gate = job("gate").if ?? "";
    assert.match(gate, /github\.event_name == 'workflow_dispatch'/);
    assert.match(gate, /github\.event\.label\.name == 'hardware-e2e'/);
    // Adding any other label to a PR that carries hardware-e2e must not start another metal run.
    assert.ok(!/labels\.\*\.name/.test(gate), "not: the PR carries the label");
  });

  it("checks the presence of the AWS credentials before starting anything", () => {
    const step = job("gate").steps.find((s) => s.id === "gate");
    assert.ok(step?.run?.includes("hardware/ec2/ci-gate.sh"));
    for (const k of ["AWS_ROLE_ARN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "GH_RUNNER_TOKEN"]) {
      assert.equal(step?.env?.[k], `\${{ secrets.${k} }}`, `gate gets ${k} via env`);
    }
    assert.deepEqual(needs(job("start-runner")), ["gate"]);
    assert.match(job("start-runner").if ?? "", /needs\.gate\.outputs\.enabled == 'true'/);
  });

  it("starts a spot runner with a pinned action and falls back to on-demand once", () => {
    const steps = job("start-runner").steps;
    const spot = steps.find((s) => s.id === "spot");
    const ondemand = steps.find((s) => s.id === "ondemand");
    assert.ok(spot && ondemand);
    assert.equal(spot.with?.["market-type"], "spot");
    assert.equal(spot["continue-on-error"], true);
    assert.equal(ondemand.with?.["market-type"], undefined);
    assert.match(ondemand.if ?? "", /steps\.spot\.outcome != 'success'/);
    for (const s of [spot, ondemand]) {
      assert.match(s.uses ?? "", /^machulav\/ec2-github-runner@v\d+\.\d+\.\d+$/);
      assert.equal(s.with?.mode, "start");
      assert.match(String(s.with?.["aws-resource-tags"]), /GitHubRunId/);
    }
  });

  it("takes the runner's label and instance id from the start attempt that succeeded", () => {
    const start = job("start-runner");
    // The action sets label and instance id before it waits for the runner, so a failed spot
    // attempt has them too: "spot label, else on-demand label" would pick a runner that never came.
    for (const out of ["label", "ec2-instance-id"]) {
      const v = (start.outputs?.[out] ?? "").replace(/\s+/g, " ");
      assert.match(
        v,
        new RegExp(`steps\\.spot\\.outcome == 'success' && steps\\.spot\\.outputs\\.${out}`),
        v,
      );
      assert.match(
        v,
        new RegExp(`steps\\.ondemand\\.outcome == 'success' && steps\\.ondemand\\.outputs\\.${out}`),
        v,
      );
    }
    const steps = start.steps;
    const kill = steps.findIndex((s) => s.run?.includes("terminate-instances"));
    assert.ok(
      kill > steps.findIndex((s) => s.id === "spot") && kill < steps.findIndex((s) => s.id === "ondemand"),
    );
    assert.match(
      steps[kill]!.if ?? "",
      /steps\.spot\.outcome == 'failure'/,
      "a failed spot instance goes at once",
    );
    for (const attempt of ["spot", "ondemand"]) {
      assert.match(
        start.outputs?.[`failed-${attempt}-label`] ?? "",
        new RegExp(`steps\\.${attempt}\\.outcome == 'failure'`),
      );
      const stop = job("stop-runner").steps.find((s) => s.if?.includes(`failed-${attempt}-label`));
      assert.equal(stop?.with?.mode, "stop", `stop-runner stops a failed ${attempt} attempt`);
      assert.equal(stop?.["continue-on-error"], true);
    }
  });

  it("gives each runner start a timeout that fits the job's", () => {
    const start = job("start-runner");
    const attempts = start.steps.filter((s) => s.uses?.startsWith("machulav/ec2-github-runner@"));
    assert.equal(attempts.length, 2);
    // Per attempt: until the instance runs (a few minutes) + the action's 30 s quiet period + the timeout.
    const perAttempt = attempts.map((s) => Number(s.with?.["startup-timeout-minutes"]) + 5);
    for (const m of perAttempt)
      assert.ok(m - 5 >= 10, "a metal instance needs 5-10 min to boot and register");
    const total = perAttempt.reduce((a, b) => a + b, 0);
    assert.ok(
      total <= (start["timeout-minutes"] ?? 360),
      `both attempts (${total} min) fit the job's ${start["timeout-minutes"]} min`,
    );
  });

  it("runs provision, a failing preflight and the hardware profile on the runner, and uploads reports", () => {
    const e2e = job("hardware-e2e");
    assert.equal(e2e["runs-on"], "${{ needs.start-runner.outputs.label }}");
    assert.ok(e2e["timeout-minutes"] !== undefined && e2e["timeout-minutes"] <= 90);
    const runs = e2e.steps.map((s) => s.run ?? "").join("\n");
    const order = ["provision.sh", "preflight-cli.ts", "rmid-gc-wait.sh", "cucumber-js --profile hardware"];
    const at = order.map((o) => runs.indexOf(o));
    assert.ok(
      at.every((i) => i >= 0),
      `all of ${order.join(", ")} run`,
    );
    assert.deepEqual(
      [...at].sort((a, b) => a - b),
      at,
      "in this order",
    );
    const upload = e2e.steps.find((s) => s.uses?.startsWith("actions/upload-artifact@"));
    assert.equal(upload?.if, "always()");
    assert.equal(upload?.with?.path, "reports/");
    const teardown = e2e.steps.find((s) => s.run?.includes("teardown.sh"));
    assert.equal(teardown?.if, "always()");
  });

  it("always stops the runner and terminates every instance tagged with the run", () => {
    const stop = job("stop-runner");
    assert.match(stop.if ?? "", /^always\(\) && /);
    assert.deepEqual(needs(stop).sort(), ["gate", "hardware-e2e", "start-runner"]);
    const action = stop.steps.find((s) => s.uses?.startsWith("machulav/ec2-github-runner@"));
    assert.equal(action?.with?.mode, "stop");
    const sweep = stop.steps.find((s) => s.run?.includes("terminate-instances"));
    assert.ok(sweep?.run?.includes("tag:GitHubRunId"));
    assert.equal(sweep?.if, undefined, "the sweep itself is unconditional");
  });

  it("pins every action to a version", () => {
    for (const s of allSteps.filter((x) => x.uses)) {
      assert.match(s.uses!, /@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$/, `${s.uses} is pinned`);
    }
  });

  it("passes shellcheck in every run block", (t) => {
    if (spawnSync("shellcheck", ["--version"]).status !== 0) {
      t.skip("shellcheck not installed (apt-get install -y shellcheck)");
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), "hw-wf-"));
    try {
      allSteps
        .filter((s) => s.run)
        .forEach((s, i) => {
          // Expressions are substituted by the runner before bash sees the script.
          const body = s.run!.replace(/\$\{\{[^}]*\}\}/g, "EXPR");
          const file = join(dir, `step-${i}.sh`);
          writeFileSync(file, `#!/usr/bin/env bash\nset -e\n${body}\n`);
          const r = spawnSync("shellcheck", ["-S", "style", file], { encoding: "utf8" });
          assert.equal(r.status, 0, `run block of "${s.name ?? s.run!.slice(0, 40)}":\n${r.stdout}`);
        });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("hardware/ec2/ci-gate.sh", () => {
  const gate = (env: Record<string, string>): { out: Record<string, string>; stdout: string } => {
    const dir = mkdtempSync(join(tmpdir(), "hw-gate-"));
    try {
      const outFile = join(dir, "out");
      writeFileSync(outFile, "");
      const r = spawnSync("bash", [join(REPO, "hardware/ec2/ci-gate.sh")], {
        encoding: "utf8",
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", GITHUB_OUTPUT: outFile, ...env },
      });
      assert.equal(r.status, 0, r.stderr);
      const out = Object.fromEntries(
        readFileSync(outFile, "utf8")
          .trim()
          .split("\n")
          .map((l) => l.split("=") as [string, string]),
      );
      return { out, stdout: r.stdout };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const settings = { GH_RUNNER_TOKEN: "tok-secret", HW_SUBNET_ID: "subnet-1", HW_SECURITY_GROUP_ID: "sg-1" };

  it("skips with a notice naming every missing piece when nothing is configured", () => {
    const { out, stdout } = gate({});
    assert.deepEqual(out, { enabled: "false", auth: "none" });
    assert.match(stdout, /^::notice title=hardware-e2e skipped::missing /m);
    for (const k of ["AWS_ROLE_ARN", "GH_RUNNER_TOKEN", "HW_SUBNET_ID", "HW_SECURITY_GROUP_ID"]) {
      assert.ok(stdout.includes(k), `notice names ${k}`);
    }
  });

  it("prefers the OIDC role and never prints secret values", () => {
    const { out, stdout } = gate({
      ...settings,
      AWS_ROLE_ARN: "arn:aws:iam::1:role/r",
      AWS_ACCESS_KEY_ID: "AKIA-secret",
    });
    assert.deepEqual(out, { enabled: "true", auth: "role" });
    assert.ok(
      !stdout.includes("tok-secret") && !stdout.includes("AKIA-secret") && !stdout.includes("arn:aws"),
    );
  });

  it("accepts access keys only as a pair", () => {
    assert.deepEqual(gate({ ...settings, AWS_ACCESS_KEY_ID: "a", AWS_SECRET_ACCESS_KEY: "b" }).out, {
      enabled: "true",
      auth: "keys",
    });
    assert.deepEqual(gate({ ...settings, AWS_ACCESS_KEY_ID: "a" }).out, { enabled: "false", auth: "none" });
  });

  it("skips when the runner token or the network settings are missing", () => {
    const { out, stdout } = gate({ AWS_ROLE_ARN: "r", HW_SUBNET_ID: "s" });
    assert.deepEqual(out, { enabled: "false", auth: "role" });
    assert.match(stdout, /GH_RUNNER_TOKEN.*HW_SECURITY_GROUP_ID/);
    assert.ok(!/HW_SUBNET_ID/.test(stdout));
  });
});
