// StrykerJS mutation testing of the policy (src/plugin) and kernel-filesystem (src/resctrl) layers,
// driven by their node:test unit specs (transpiled once, see buildCommand) and by the mock cucumber profile
// (test/mutation/mock-profile.tap.ts). Not part of CI: `npm run mutation` (CPU-heavy).
// The tap runner runs one node process per test file and records per-file coverage, so each mutant
// only runs the spec files that reach it (coverageAnalysis "perTest"), bailing on the first failure.
// Incremental mode reuses reports/stryker-incremental.json: a rerun only tests changed code/tests.
import { readdirSync } from "node:fs";

/** `<dir>/*<suffix>` of the source tree, sorted, as paths of the transpiled tree in .stryker-build/. */
function built(dir, test) {
  return readdirSync(dir)
    .filter((f) => test.test(f))
    .sort()
    .map((f) => `.stryker-build/${dir}/${f.replace(/\.ts$/, ".js")}`);
}

// The files the tap runner runs, in the order it runs those covering a mutant (it stops at the first
// failing one). Listed as literal paths: the runner expands testFiles with glob, whose results for
// wildcard patterns come in directory-walk order (the mock profile came first), while literal paths
// keep the listed order. First the unit specs beside the mutated modules (one per module:
// src/resctrl/<module>.spec.ts, src/plugin/<module>.spec.ts; the small module specs before
// plugin.spec.ts, the broad ResctrlPlugin spec), then the fault-tolerance specs; last, on purpose,
// the mock cucumber profile (~6 s), so it runs only for mutants the specs let through.
const pluginSpecs = built("src/plugin", /\.spec\.ts$/);
const TEST_FILES = [
  ...built("src/resctrl", /\.spec\.ts$/),
  ...pluginSpecs.filter((f) => !f.endsWith("/plugin.spec.js")),
  ...pluginSpecs.filter((f) => f.endsWith("/plugin.spec.js")),
  ...built("test", /^fault-.*\.spec\.ts$/),
  ".stryker-build/test/mutation/mock-profile.tap.js",
];

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: "tap",
  plugins: ["@stryker-mutator/tap-runner"],
  tap: {
    testFiles: TEST_FILES,
    nodeArgs: [],
    forceBail: true,
  },
  // Full scope from scratch: about 15 min on 2 cores (docs/testing.md);
  // narrow it from the command line, e.g.
  // `npm run mutation -- --mutate src/resctrl/reconcile.ts,src/plugin/event-bus.ts`.
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
