// The mock cucumber profile as one node:test test, for StrykerJS only (not a *.spec.ts file, so
// `npm test` does not run the mock scenarios twice). Stryker's tap runner runs it after the unit
// spec files that cover a mutant, so the scenarios judge the mutants the unit tests let through.
//
// Cucumber runs in this process (parallel 0): Stryker records coverage per test file in the
// process that runs it, and the mock world runs plugin, NRI stub and fake runtime in-process, so
// coverage here says which mutants the scenarios reach. Reports are not written; the summary goes
// to stderr (stdout carries TAP).
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfiguration, runCucumber } from "@cucumber/cucumber/api";

test("mock profile: every scenario passes", async () => {
  const { runConfiguration } = await loadConfiguration({
    profiles: ["mock"],
    provided: { parallel: 0, retry: 0, retryTagFilter: "" },
  });
  runConfiguration.formats = { stdout: "summary", files: {}, publish: false, options: {} };
  const { success } = await runCucumber(runConfiguration, {
    cwd: process.cwd(),
    stdout: process.stderr,
    stderr: process.stderr,
    env: process.env,
  });
  assert.equal(success, true, "the mock profile failed (see the summary on stderr)");
});
