// StrykerJS mutation testing of the policy (src/plugin) and kernel-filesystem (src/resctrl) layers,
// driven by their node:test unit specs (transpiled once, see buildCommand) and by the mock cucumber profile
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
      ".stryker-build/src/resctrl/*.spec.js",
      ".stryker-build/src/plugin/*.spec.js",
      ".stryker-build/test/plugin-state.spec.js",
      ".stryker-build/test/plugin-retry.spec.js",
      ".stryker-build/test/plugin-retry-all.spec.js",
      ".stryker-build/test/plugin-config.spec.js",
      ".stryker-build/test/plugin-surface.spec.js",
      ".stryker-build/test/plugin-lifecycle-survivors.spec.js",
      ".stryker-build/test/plugin-cgroup-path.spec.js",
      ".stryker-build/test/plugin-improvements.spec.js",
      ".stryker-build/test/plugin-pid-source.spec.js",
      ".stryker-build/test/plugin-primitives.spec.js",
      ".stryker-build/test/plugin-sandbox-gone.spec.js",
      ".stryker-build/test/plugin-pid-source-sandbox.spec.js",
      ".stryker-build/test/plugin-pid-source-survivors.spec.js",
      ".stryker-build/test/plugin-edges.spec.js",
      ".stryker-build/test/resctrl-edges.spec.js",
      ".stryker-build/test/resctrl-guards.spec.js",
      ".stryker-build/test/resctrl-survivors.spec.js",
      ".stryker-build/test/fault-*.spec.js",
      // Last on purpose: the mock cucumber profile (~6 s) runs only for mutants the specs above
      // let through (the runner bails at the first failing file).
      ".stryker-build/test/mutation/mock-profile.tap.js",
    ],
    nodeArgs: [],
    forceBail: true,
  },
  // Full scope: about 32 min from scratch on 2 cores (docs/testing.md); narrow it from the command
  // line, e.g. `npm run mutation -- --mutate src/resctrl/reconcile.ts,src/plugin/event-bus.ts`.
  mutate: ["src/plugin/**/*.ts", "src/resctrl/**/*.ts", "!**/*.spec.ts", "!src/**/index.ts"],
  // Error/log message wording is pinned by few tests on purpose; mutating every string literal
  // adds 416 mutants (a third more run time: one process per spec file per mutant) for little signal.
  mutator: { excludedMutations: ["StringLiteral"] },
  // The instrumented sources and the specs are transpiled once (no type check) into .stryker-build/
  // of the sandbox, so a spec process runs plain JS: about a third of the CPU of `--import tsx`.
  // `npm run mutation` builds the same tree in the project first, for the incremental differ.
  buildCommand: "npx tsc -p tsconfig.mutation.json",
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
  ignorePatterns: ["reports", "dist", "hardware", ".stryker-tmp"],
  thresholds: { high: 90, low: 80, break: null },
  cleanTempDir: "always",
};
