// StrykerJS mutation testing of the policy (src/plugin) and kernel-filesystem (src/resctrl) layers,
// driven by their node:test unit tests through tsx and by the mock cucumber profile
// (test/mutation/mock-profile.tap.ts). Not part of CI: `npm run mutation` (CPU-heavy).
// The tap runner runs one node process per test file and records per-file coverage, so each mutant
// only runs the spec files that reach it (coverageAnalysis "perTest"), bailing on the first failure.
// Incremental mode reuses reports/stryker-incremental.json: a rerun only tests changed code/tests.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: "tap",
  plugins: ["@stryker-mutator/tap-runner"],
  tap: {
    testFiles: [
      "src/resctrl/*.spec.ts",
      "src/plugin/*.spec.ts",
      "test/plugin-state.spec.ts",
      "test/plugin-retry.spec.ts",
      "test/plugin-retry-all.spec.ts",
      "test/plugin-improvements.spec.ts",
      "test/plugin-pid-source.spec.ts",
      "test/plugin-primitives.spec.ts",
      "test/plugin-sandbox-gone.spec.ts",
      "test/plugin-pid-source-sandbox.spec.ts",
      "test/plugin-edges.spec.ts",
      "test/resctrl-edges.spec.ts",
      "test/resctrl-guards.spec.ts",
      "test/fault-*.spec.ts",
      // Last on purpose: the mock cucumber profile (~6 s) runs only for mutants the specs above
      // let through (the runner bails at the first failing file).
      "test/mutation/mock-profile.tap.ts",
    ],
    nodeArgs: ["--import", "tsx"],
    forceBail: true,
  },
  // Full scope. On a busy 2-core machine the whole set takes hours; narrow it from the command
  // line, e.g. `npm run mutation -- --mutate src/resctrl/reconcile.ts,src/plugin/event-bus.ts`.
  mutate: ["src/plugin/**/*.ts", "src/resctrl/**/*.ts", "!**/*.spec.ts", "!src/**/index.ts"],
  // Error/log message wording is pinned by few tests on purpose; mutating every string literal
  // doubles the run time (one tsx process per spec file per mutant) for little signal.
  mutator: { excludedMutations: ["StringLiteral"] },
  coverageAnalysis: "perTest",
  ignoreStatic: true,
  concurrency: 2,
  timeoutMS: 10000,
  timeoutFactor: 2,
  incremental: true,
  incrementalFile: "reports/stryker-incremental.json",
  reporters: ["clear-text", "progress-append-only", "html", "json"],
  htmlReporter: { fileName: "reports/mutation/mutation.html" },
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  ignorePatterns: ["reports", "dist", "hardware", "features", ".stryker-tmp"],
  thresholds: { high: 90, low: 80, break: null },
  cleanTempDir: "always",
};
