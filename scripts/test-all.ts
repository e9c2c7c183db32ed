// `npm test`: every test this machine can run, in order, continuing after a failure so that one
// broken layer does not hide the state of the others:
//   1. unit tests (node:test; includes the real-containerd interop test, skipped with a reason when not root)
//   2. the mock scenarios (cucumber --profile mock; the fake runtime speaks NRI v0.6), then again with
//      the fake runtime speaking NRI v0.8, v0.10 and v0.12 (reports/mock-nri-<generation>/)
//   3. the containerd scenarios on containerd 1.7.24 (Debian trixie) and 2.1.9 (forky), each into its
//      own report dir (cucumber --profile containerd; every scenario is reported skipped, with the
//      reason, where this machine cannot run a private containerd: not root, no Debian archive)
// Set NRI_RESCTRL_SKIP_CONTAINERD=1 to leave the real containerd out (its scenarios are then skipped with that reason).
//
// It first deletes reports/*/cucumber-messages.ndjson (only those files), so that the report dirs of
// earlier runs are not counted, and ends with one "<profile>: N passed, N failed, N skipped" line per
// report this run wrote and, last, the combined "N passed, N failed, N skipped" line over all of them
// (counted as scripts/count-scenarios.ts does).
// Exits non-zero if any step failed, or if the reports count a failure (or none was written).
//   node --import tsx scripts/test-all.ts   (npm test)
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { countFile, formatCounts, summarize } from "./count-scenarios.js";

const REPORTS_DIR = "reports";
const MESSAGES_FILE = "cucumber-messages.ndjson";

/** reports/<profile>/cucumber-messages.ndjson for every report dir that has one, sorted by profile. */
function messageFiles(): string[] {
  let names: string[];
  try {
    names = readdirSync(REPORTS_DIR);
  } catch {
    return [];
  }
  return names
    .sort()
    .map((name) => join(REPORTS_DIR, name, MESSAGES_FILE))
    .filter((file) => existsSync(file));
}

/** A step of `npm test`: its name and the npm arguments that run it. */
type Step = readonly [name: string, npmArgs: readonly string[]];

const steps: readonly Step[] = [
  ["unit tests", ["run", "test:unit"]],
  ["mock scenarios", ["run", "scenarios"]],
  ["mock scenarios under NRI v0.8, v0.10, v0.12", ["run", "scenarios:nri"]],
  ["containerd 1.7.24 scenarios", ["run", "scenarios:containerd"]],
  ["containerd 2.1.9 scenarios", ["run", "scenarios:containerd-2.1"]],
];

for (const file of messageFiles()) rmSync(file, { force: true });

const failed: string[] = [];
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

const results = messageFiles().map(countFile);
const summary = summarize(results);
let total = summary.total;
for (const r of results) {
  if (r.readError) console.error(`npm test: ${r.readError}`);
  for (const p of r.counts.problems) console.error(`npm test: ${r.file}: ${p}`);
}
if (results.length === 0) {
  console.error(`npm test: no scenario report was written (${REPORTS_DIR}/*/${MESSAGES_FILE})`);
  total = formatCounts({ passed: 0, failed: 1, skipped: 0 });
}
const countedFailure = results.length === 0 || results.some((r) => r.counts.failed > 0 || r.readError);
if (failed.length > 0) console.error(`\nnpm test: failed: ${failed.join(", ")}`);
else if (countedFailure)
  console.error("\nnpm test: all steps passed, but the scenario reports count failures");
else console.log("\nnpm test: all steps passed");
console.log("npm test: scenario results per profile");
for (const line of summary.perProfile) console.log(line);
console.log(total);
if (failed.length > 0 || countedFailure) process.exit(1);
