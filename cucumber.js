// Cucumber profiles. `npm run scenarios` = mock, `npm run scenarios:containerd`, `npm run scenarios:hardware`.
// Run one scenario: `npx cucumber-js --profile mock features/pod-removal.feature:12` or `--name "<regex>"`.
// Profiles are combinable (`--profile mock --profile ...`); see docs/writing-scenarios.md.

// `progress` (one character per step, then every failure), ending with the HTML report's path.
const humanFormat = "./support/reporting/progress-with-report.ts";

/**
 * Settings every profile shares; `world` picks support/worlds/<world>/, `reportDir` (default: the
 * world's name) names the report dir under reports/.
 */
function profile(world, overrides = {}, reportDir = world) {
  return {
    // No `paths`: cucumber defaults to features/**/*.feature, and paths given on the command line
    // would be added to (not replace) a configured list.
    // World modules (support/worlds/<name>/) are loaded on demand by support/worlds/index.ts.
    import: [
      "support/register-tsx.mjs",
      "support/world.ts",
      "support/hooks.ts",
      "steps/parameter-types.ts",
      "steps/**/*.steps.ts",
    ],
    format: [
      humanFormat,
      `html:reports/${reportDir}/cucumber-report.html`,
      `junit:reports/${reportDir}/cucumber-junit.xml`,
      `message:reports/${reportDir}/cucumber-messages.ndjson`,
    ],
    formatOptions: {
      snippetInterface: "async-await",
      junit: { suiteName: `scenarios-${reportDir}` },
      reportPath: `reports/${reportDir}/cucumber-report.html`,
    },
    worldParameters: { world, timeoutMs: 10_000 },
    retry: 1,
    retryTagFilter: "@flaky",
    strict: true,
    ...overrides,
  };
}

// The NRI generation the mock world's fake runtime speaks: v0.6 (containerd 1.7.24, the default),
// v0.8 (containerd 2.0/2.1), v0.10 (2.2) or v0.12 (2.3). Any other than v0.6 reports to
// reports/mock-nri-<generation>/ (`npm run scenarios:nri` runs them all).
const mockNri = process.env.NRI_RESCTRL_MOCK_NRI || "v0.6";
const mockReportDir = mockNri === "v0.6" ? "mock" : `mock-nri-${mockNri}`;
const mockProfile = profile(
  "mock",
  { parallel: 2, worldParameters: { world: "mock", timeoutMs: 10_000, nri: mockNri } },
  mockReportDir,
);
export default mockProfile;
export const mock = mockProfile;
// pluginErrors "attach": the real daemons still log a transient "nri stub: failure" (connect ENOENT)
// while the runtime socket appears; such lines are attached to the report instead of failing the
// scenario. Switch to "fail" (the default, as in mock) once the daemon logs only real errors.
// Which containerd the containerd world runs: NRI_CONTAINERD_SUITE=trixie (default, containerd
// 1.7.24, NRI v0.6.1) or forky (containerd 2.1.9, NRI v0.8), from Debian's archive. Reports go to
// reports/containerd-1.7/ or reports/containerd-2.1/ (`npm run scenarios:containerd-2.1`).
const containerdSuite = process.env.NRI_CONTAINERD_SUITE || "trixie";
const containerdLabel =
  { trixie: "containerd-1.7", forky: "containerd-2.1" }[containerdSuite] ?? `containerd-${containerdSuite}`;
export const containerd = profile(
  "containerd",
  {
    parallel: 1,
    worldParameters: {
      world: "containerd",
      timeoutMs: 30_000,
      pluginErrors: "attach",
      suite: containerdSuite,
    },
  },
  containerdLabel,
);
export const hardware = profile("hardware", {
  parallel: 1,
  // support/worlds/hardware/step-timeout.ts raises the step timeout above the world's longest wait
  // (a runtime restart: 360 s); world parameters reach no code before the step definitions are built.
  import: [...profile("hardware").import, "support/worlds/hardware/step-timeout.ts"],
  worldParameters: { world: "hardware", timeoutMs: 60_000, pluginErrors: "attach" },
});
