#!/usr/bin/env node
// `npm test`: every test this machine can run, in order, continuing after a failure so that one
// broken layer does not hide the state of the others:
//   1. unit tests (node:test; includes the real-containerd interop test, skipped with a reason when not root)
//   2. the mock scenarios (cucumber --profile mock; the fake runtime speaks NRI v0.6), then again with
//      the fake runtime speaking NRI v0.8, v0.10 and v0.12 (reports/mock-nri-<generation>/)
//   3. the containerd scenarios on containerd 1.7.24 (Debian trixie) and 2.1.9 (forky), each into its
//      own report dir (cucumber --profile containerd; every scenario is reported skipped, with the
//      reason, where this machine cannot run a private containerd: not root, no Debian archive)
// Set NRI_RESCTRL_SKIP_CONTAINERD=1 to leave the real containerd out (its scenarios are then skipped with that reason).
// Exits non-zero if any step failed. Scenario totals: node scripts/count-scenarios.mjs reports/*/cucumber-messages.ndjson
import { spawnSync } from "node:child_process";

const steps = [
  ["unit tests", ["run", "test:unit"]],
  ["mock scenarios", ["run", "scenarios"]],
  ["mock scenarios under NRI v0.8, v0.10, v0.12", ["run", "scenarios:nri"]],
  ["containerd 1.7.24 scenarios", ["run", "scenarios:containerd"]],
  ["containerd 2.1.9 scenarios", ["run", "scenarios:containerd-2.1"]],
];
const failed = [];
for (const [name, args] of steps) {
  console.log(`\n▶ npm test: ${name} (npm ${args.join(" ")})`);
  const t0 = Date.now();
  const r = spawnSync("npm", args, { stdio: "inherit" });
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  if (r.status === 0) console.log(`✔ ${name} (${secs} s)`);
  else {
    console.log(`✖ ${name} failed (exit ${r.status ?? r.signal}, ${secs} s)`);
    failed.push(name);
  }
}
if (failed.length > 0) {
  console.error(`\nnpm test: failed: ${failed.join(", ")}`);
  process.exit(1);
}
console.log("\nnpm test: all steps passed");
