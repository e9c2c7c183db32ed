import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { CAPABILITIES } from "../worlds/types.js";
import { MATRIX_DOC, renderCapabilityMatrix, replaceMatrix } from "./capability-matrix.js";

describe("capability matrix in docs/writing-scenarios.md", () => {
  it("matches what each world declares (run node --import tsx support/reporting/capability-matrix.ts to refresh)", async () => {
    const doc = readFileSync(MATRIX_DOC, "utf8");
    assert.equal(replaceMatrix(doc, await renderCapabilityMatrix()), doc);
  });

  it("lists every capability", async () => {
    const matrix = await renderCapabilityMatrix();
    for (const cap of CAPABILITIES) assert.ok(matrix.includes(`\`@${cap}\``), cap);
  });
});
