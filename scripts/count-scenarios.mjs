#!/usr/bin/env node
// Counts scenario results from cucumber message files (message:reports/<profile>/cucumber-messages.ndjson).
//
//   node scripts/count-scenarios.mjs reports/*/cucumber-messages.ndjson
//     → "N passed, N failed, N skipped" summed over the files
//   node scripts/count-scenarios.mjs --per-profile reports/*/cucumber-messages.ndjson
//     → one "<profile>: N passed, N failed, N skipped" line per file (profile = the file's directory)
//
// A test case counts once, by its last attempt (retries of @flaky scenarios are not double counted):
// failed if any step or hook ended FAILED, AMBIGUOUS, UNDEFINED, PENDING or UNKNOWN; else skipped if
// any ended SKIPPED; else passed. A run that did not finish (no testRunFinished), a test case that
// started but never finished, or a run-level exception counts as one more failure, so a crash never
// reads as green. Exit status: 0 when every file was read (whatever the results), 1 when a file is
// missing or unreadable (the line is still printed, with that file counted as 1 failed), 2 on usage.
import { readFileSync } from "node:fs";
import { basename, dirname } from "node:path";
import { pathToFileURL } from "node:url";

const FAILING = new Set(["FAILED", "AMBIGUOUS", "UNDEFINED", "PENDING", "UNKNOWN"]);

/**
 * Counts one messages file's text. Pure.
 * @param {string} text ndjson, one cucumber message envelope per line
 * @returns {{ passed: number, failed: number, skipped: number, problems: string[] }}
 */
export function countMessages(text) {
  const attempts = new Map(); // testCaseStartedId → { testCaseId, statuses: string[], finished, willBeRetried }
  const problems = [];
  let runFinished;
  for (const [i, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    let env;
    try {
      env = JSON.parse(line);
    } catch {
      problems.push(`line ${i + 1} is not JSON`);
      continue;
    }
    if (env.testCaseStarted) {
      attempts.set(env.testCaseStarted.id, {
        testCaseId: env.testCaseStarted.testCaseId,
        statuses: [],
        finished: false,
        willBeRetried: false,
      });
    } else if (env.testStepFinished) {
      attempts
        .get(env.testStepFinished.testCaseStartedId)
        ?.statuses.push(env.testStepFinished.testStepResult?.status ?? "UNKNOWN");
    } else if (env.testCaseFinished) {
      const a = attempts.get(env.testCaseFinished.testCaseStartedId);
      if (a) Object.assign(a, { finished: true, willBeRetried: Boolean(env.testCaseFinished.willBeRetried) });
    } else if (env.testRunFinished) {
      runFinished = env.testRunFinished;
    }
  }
  const last = new Map(); // testCaseId → final attempt
  for (const a of attempts.values()) if (!a.willBeRetried) last.set(a.testCaseId, a);
  const counts = { passed: 0, failed: 0, skipped: 0, problems };
  for (const a of last.values()) {
    if (!a.finished || a.statuses.some((s) => FAILING.has(s))) counts.failed += 1;
    else if (a.statuses.includes("SKIPPED")) counts.skipped += 1;
    else counts.passed += 1;
    if (!a.finished) problems.push("a test case started but never finished");
  }
  if (!runFinished) {
    counts.failed += 1;
    problems.push("the run did not finish (no testRunFinished message)");
  } else if (runFinished.exception || (runFinished.success === false && counts.failed === 0)) {
    counts.failed += 1;
    problems.push(
      `the run failed outside any scenario: ${runFinished.exception?.message ?? runFinished.message ?? "success=false"}`,
    );
  }
  return counts;
}

/** "N passed, N failed, N skipped". */
export function formatCounts({ passed, failed, skipped }) {
  return `${passed} passed, ${failed} failed, ${skipped} skipped`;
}

function main(argv) {
  const perProfile = argv.includes("--per-profile");
  const files = argv.filter((a) => a !== "--per-profile");
  if (files.length === 0 || files.some((f) => f.startsWith("--"))) {
    console.error("usage: count-scenarios.mjs [--per-profile] <cucumber-messages.ndjson>...");
    return 2;
  }
  const total = { passed: 0, failed: 0, skipped: 0 };
  let status = 0;
  for (const file of files) {
    let counts;
    try {
      counts = countMessages(readFileSync(file, "utf8"));
    } catch (err) {
      console.error(`count-scenarios: failed to read ${file}: ${err.message}`);
      counts = { passed: 0, failed: 1, skipped: 0, problems: [] };
      status = 1;
    }
    for (const p of counts.problems) console.error(`count-scenarios: ${file}: ${p}`);
    for (const k of ["passed", "failed", "skipped"]) total[k] += counts[k];
    if (perProfile) console.log(`${basename(dirname(file))}: ${formatCounts(counts)}`);
  }
  if (!perProfile) console.log(formatCounts(total));
  return status;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
