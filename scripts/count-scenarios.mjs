#!/usr/bin/env node
// Transitional shim: count-scenarios is now scripts/count-scenarios.ts (run it with
// `node --import tsx scripts/count-scenarios.ts ...`). hardware/check.sh still calls this path; once it
// calls the .ts directly, delete this file. Same arguments, output and exit status.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const script = fileURLToPath(new URL("./count-scenarios.ts", import.meta.url));
const r = spawnSync(process.execPath, ["--import", "tsx", script, ...process.argv.slice(2)], {
  stdio: "inherit",
});
process.exitCode = r.status ?? 1;
