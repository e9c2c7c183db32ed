// Runs the mock profile once per NRI generation the fake runtime speaks besides the default v0.6:
// v0.8 (containerd 2.0/2.1), v0.10 (2.2), v0.12 (2.3). Each run reports to reports/mock-nri-<gen>/.
// Continues after a failing generation; exits non-zero if any failed. Extra arguments go to cucumber-js
// (e.g. a feature file).
//   node --import tsx scripts/run-nri-generations.ts [cucumber-js args...]   (npm run scenarios:nri)
import { spawnSync } from "node:child_process";

const GENERATIONS: readonly string[] = ["v0.8", "v0.10", "v0.12"];
const failed: string[] = [];
for (const nri of GENERATIONS) {
  console.log(`\n▶ mock scenarios, fake runtime speaking NRI ${nri}`);
  const r = spawnSync("npx", ["cucumber-js", "--profile", "mock", ...process.argv.slice(2)], {
    stdio: "inherit",
    env: { ...process.env, NRI_RESCTRL_MOCK_NRI: nri },
  });
  if (r.status !== 0) failed.push(nri);
}
if (failed.length > 0) {
  console.error(`\nmock scenarios failed under NRI ${failed.join(", ")}`);
  process.exit(1);
}
