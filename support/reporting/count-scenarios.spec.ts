import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  countFile,
  countMessages,
  formatCounts,
  profileOf,
  sumCounts,
  summarize,
} from "../../scripts/count-scenarios.js";

type Step = string;
let n = 0;

/** Envelopes of one test case attempt whose steps end with `statuses`. */
function attempt(testCaseId: string, statuses: Step[], willBeRetried = false): object[] {
  const id = `tcs${n++}`;
  return [
    { testCaseStarted: { id, testCaseId, attempt: 0 } },
    ...statuses.map((status) => ({
      testStepFinished: { testCaseStartedId: id, testStepResult: { status } },
    })),
    { testCaseFinished: { testCaseStartedId: id, willBeRetried } },
  ];
}

const ndjson = (envs: object[]): string => envs.map((e) => JSON.stringify(e)).join("\n");
const finished = (success = true): object => ({ testRunFinished: { success } });

describe("countMessages", () => {
  it("classifies passed, failed (any failing status) and skipped test cases", () => {
    const text = ndjson([
      ...attempt("a", ["PASSED", "PASSED"]),
      ...attempt("b", ["PASSED", "FAILED", "SKIPPED"]),
      ...attempt("c", ["SKIPPED", "SKIPPED"]),
      ...attempt("d", ["PASSED", "UNDEFINED"]),
      ...attempt("e", ["AMBIGUOUS"]),
      finished(false),
    ]);
    const c = countMessages(text);
    assert.deepEqual(
      { ...c, problems: c.problems.length },
      { passed: 1, failed: 3, skipped: 1, problems: 0 },
    );
  });

  it("counts a retried scenario once, by its last attempt", () => {
    const text = ndjson([...attempt("a", ["FAILED"], true), ...attempt("a", ["PASSED"]), finished()]);
    assert.equal(formatCounts(countMessages(text)), "1 passed, 0 failed, 0 skipped");
  });

  it("counts a run that never finished, and an unfinished test case, as failures", () => {
    const started = { testCaseStarted: { id: "x", testCaseId: "z", attempt: 0 } };
    const c = countMessages(ndjson([...attempt("a", ["PASSED"]), started]));
    assert.equal(formatCounts(c), "1 passed, 2 failed, 0 skipped");
    assert.equal(c.problems.length, 2);
  });

  it("counts a run-level exception without failed scenarios as one failure", () => {
    const c = countMessages(
      ndjson([{ testRunFinished: { success: false, exception: { message: "BeforeAll hook failed" } } }]),
    );
    assert.equal(formatCounts(c), "0 passed, 1 failed, 0 skipped");
  });
});

describe("summarize (the per-profile lines and the combined line of npm test and .ci/run)", () => {
  it("prints one line per file, named by its directory, and the sum over all files", () => {
    const mock = countMessages(
      ndjson([...attempt("a", ["PASSED"]), ...attempt("b", ["SKIPPED"]), finished()]),
    );
    const nri = countMessages(
      ndjson([...attempt("a", ["PASSED"]), ...attempt("b", ["FAILED"]), finished(false)]),
    );
    const unfinished = countMessages(ndjson([...attempt("a", ["PASSED"])]));
    assert.deepEqual(
      summarize([
        { file: "reports/mock/cucumber-messages.ndjson", counts: mock },
        { file: "reports/mock-nri-v0.8/cucumber-messages.ndjson", counts: nri },
        { file: "reports/containerd-2.1/cucumber-messages.ndjson", counts: unfinished },
      ]),
      {
        perProfile: [
          "mock: 1 passed, 0 failed, 1 skipped",
          "mock-nri-v0.8: 1 passed, 1 failed, 0 skipped",
          "containerd-2.1: 1 passed, 1 failed, 0 skipped",
        ],
        total: "3 passed, 2 failed, 1 skipped",
      },
    );
  });

  it("sums nothing to zero", () => {
    assert.deepEqual(summarize([]), { perProfile: [], total: "0 passed, 0 failed, 0 skipped" });
    assert.deepEqual(sumCounts([]), { passed: 0, failed: 0, skipped: 0 });
  });

  it("names a profile by the file's directory", () => {
    assert.equal(profileOf("reports/mock-nri-v0.12/cucumber-messages.ndjson"), "mock-nri-v0.12");
    assert.equal(profileOf("/abs/reports/hardware/cucumber-messages.ndjson"), "hardware");
  });
});

describe("countFile", () => {
  it("counts a missing file as one failure, with the reason", () => {
    const r = countFile("reports/no-such-profile/cucumber-messages.ndjson");
    assert.equal(formatCounts(r.counts), "0 passed, 1 failed, 0 skipped");
    assert.match(r.readError ?? "", /^failed to read reports\/no-such-profile\/cucumber-messages\.ndjson: /);
  });
});
