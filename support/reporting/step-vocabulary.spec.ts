import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { DOC_PATH, extractSteps, renderTable, replaceTable } from "../../scripts/step-vocabulary.js";

describe("step vocabulary in docs/writing-scenarios.md", () => {
  it("lists exactly the step definitions (run node --import tsx scripts/step-vocabulary.ts to refresh)", () => {
    const doc = readFileSync(DOC_PATH, "utf8");
    assert.equal(replaceTable(doc, renderTable(extractSteps())), doc);
  });

  it("finds every step definition", () => {
    const steps = extractSteps();
    assert.ok(steps.length >= 40, `only ${steps.length} steps found`);
    const doc = readFileSync(DOC_PATH, "utf8");
    for (const s of steps)
      assert.ok(doc.includes(`\`${s.pattern.replace(/\|/g, "\\|")}\``), `missing: ${s.pattern}`);
  });
});
