// Runs every `*.spec.ts` under src/, support/ and test/ with node's built-in test runner (through tsx).
// Node 20's `--test` takes no globs, so the files are listed here. Extra arguments are passed on
// (e.g. `npm run test:unit -- --test-name-pattern=mux`).
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

const roots = ["src", "support", "test"];
const files: string[] = [];
function walk(dir: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of entries) {
    if (name === "node_modules" || name === "gen") continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith(".spec.ts")) files.push(p);
  }
}
roots.forEach(walk);
files.sort();
if (files.length === 0) {
  console.error("run-unit-tests: no *.spec.ts files found");
  process.exit(1);
}
// --test-timeout: a hung test fails (5 min) instead of blocking CI; --test-force-exit: a file whose
// failed test left a server or socket open still ends.
const args = [
  "--import",
  "tsx",
  "--test",
  "--test-reporter=spec",
  "--test-timeout=300000",
  "--test-force-exit",
  ...process.argv.slice(2),
  ...files,
];
const r = spawnSync(process.execPath, args, { stdio: "inherit" });
process.exit(r.status ?? 1);
