// Counts scenario results from cucumber message files (message:reports/<profile>/cucumber-messages.ndjson).
//
//   node --import tsx scripts/count-scenarios.ts reports/*/cucumber-messages.ndjson
//     → "N passed, N failed, N skipped" summed over the files
//   node --import tsx scripts/count-scenarios.ts --per-profile reports/*/cucumber-messages.ndjson
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

/** Scenario counts: every test case is exactly one of these. */
export interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

/** Result counts of one cucumber messages file; `problems` explains every extra failure counted. */
export interface ScenarioCounts extends Counts {
  problems: string[];
}

/** The counts of one messages file, by its path. */
export interface FileCounts {
  file: string;
  counts: ScenarioCounts;
}

const FAILING: ReadonlySet<string> = new Set(["FAILED", "AMBIGUOUS", "UNDEFINED", "PENDING", "UNKNOWN"]);

/** The parts of a cucumber message envelope read here (everything else is ignored). */
interface Envelope {
  testCaseStarted?: { id: string; testCaseId: string };
  testStepFinished?: { testCaseStartedId: string; testStepResult?: { status?: string } };
  testCaseFinished?: { testCaseStartedId: string; willBeRetried?: boolean };
  testRunFinished?: { success?: boolean; message?: string; exception?: { message?: string } };
}

/** One attempt of a test case (a retried @flaky scenario has several). */
interface Attempt {
  testCaseId: string;
  statuses: string[];
  finished: boolean;
  willBeRetried: boolean;
}

/** Counts one messages (ndjson) file's text, one cucumber message envelope per line. Pure. */
export function countMessages(text: string): ScenarioCounts {
  const attempts = new Map<string, Attempt>(); // testCaseStartedId → attempt
  const problems: string[] = [];
  let runFinished: Envelope["testRunFinished"];
  for (const [i, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    let env: Envelope;
    try {
      env = JSON.parse(line) as Envelope;
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
      if (a) {
        a.finished = true;
        a.willBeRetried = Boolean(env.testCaseFinished.willBeRetried);
      }
    } else if (env.testRunFinished) {
      runFinished = env.testRunFinished;
    }
  }
  const last = new Map<string, Attempt>(); // testCaseId → final attempt
  for (const a of attempts.values()) if (!a.willBeRetried) last.set(a.testCaseId, a);
  const counts: ScenarioCounts = { passed: 0, failed: 0, skipped: 0, problems };
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
export function formatCounts({ passed, failed, skipped }: Counts): string {
  return `${passed} passed, ${failed} failed, ${skipped} skipped`;
}

/** The sum of `counts`. Pure. */
export function sumCounts(counts: readonly Counts[]): Counts {
  const total: Counts = { passed: 0, failed: 0, skipped: 0 };
  for (const c of counts) {
    total.passed += c.passed;
    total.failed += c.failed;
    total.skipped += c.skipped;
  }
  return total;
}

/** The profile a messages file belongs to: its directory's name (reports/<profile>/...). */
export function profileOf(file: string): string {
  return basename(dirname(file));
}

/**
 * One "<profile>: N passed, N failed, N skipped" line per file, in the given order, and the
 * combined "N passed, N failed, N skipped" line over all of them. Pure.
 */
export function summarize(results: readonly FileCounts[]): { perProfile: string[]; total: string } {
  return {
    perProfile: results.map((r) => `${profileOf(r.file)}: ${formatCounts(r.counts)}`),
    total: formatCounts(sumCounts(results.map((r) => r.counts))),
  };
}

/**
 * Reads and counts one messages file. A missing or unreadable file counts as 1 failed, with the
 * reason in `readError` (and not in `counts.problems`).
 */
export function countFile(file: string): FileCounts & { readError?: string } {
  try {
    return { file, counts: countMessages(readFileSync(file, "utf8")) };
  } catch (err) {
    return {
      file,
      counts: { passed: 0, failed: 1, skipped: 0, problems: [] },
      readError: `failed to read ${file}: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
}

function main(argv: readonly string[]): number {
  const perProfile = argv.includes("--per-profile");
  const files = argv.filter((a) => a !== "--per-profile");
  if (files.length === 0 || files.some((f) => f.startsWith("--"))) {
    console.error("usage: count-scenarios.ts [--per-profile] <cucumber-messages.ndjson>...");
    return 2;
  }
  const results = files.map(countFile);
  const summary = summarize(results);
  let status = 0;
  for (const [i, r] of results.entries()) {
    if (r.readError) {
      console.error(`count-scenarios: ${r.readError}`);
      status = 1;
    }
    for (const p of r.counts.problems) console.error(`count-scenarios: ${r.file}: ${p}`);
    if (perProfile) console.log(summary.perProfile[i]);
  }
  if (!perProfile) console.log(summary.total);
  return status;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
