/**
 * `node --import tsx support/worlds/hardware/preflight-cli.ts [--json] [--try-mount]`
 *
 * Prints every hardware preflight check, then the container runtime and the NRI version it speaks
 * (containerd's version from `k3s crictl version`, NRI looked up from it), and exits 0 when this
 * machine can run the hardware profile, 3 when something is missing (each missing piece is named
 * with its fix), 1 on a bug. `--json` prints the report (with `runtime`) as JSON instead.
 */
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";
import { nodeHost } from "./host.js";
import { formatReport, runPreflight } from "./preflight.js";
import { describeRuntime } from "./runtime-version.js";

/** Exit code when at least one piece is missing. */
export const EXIT_MISSING = 3;

const args = new Set(process.argv.slice(2));
const repoRoot = resolve(fileURLToPath(new URL(".", import.meta.url)), "../../..");

runPreflight({ host: nodeHost(), repoRoot, tryMount: args.has("--try-mount") })
  .then((report) => {
    if (args.has("--json")) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      process.stdout.write(`${formatReport(report)}\n`);
      process.stdout.write(
        `runtime: ${report.runtime ? describeRuntime(report.runtime) : "unknown (crictl version did not answer)"}\n`,
      );
      process.stdout.write(
        report.ok
          ? "hardware preflight: this machine can run the hardware profile\n"
          : `hardware preflight: ${report.missing.length} missing (${report.missing.map((c) => c.id).join(", ")}): every hardware scenario will be skipped\n`,
      );
    }
    process.exitCode = report.ok ? 0 : EXIT_MISSING;
  })
  .catch((err: unknown) => {
    console.error("hardware preflight: failed to run preflight", err);
    process.exitCode = 1;
  });
