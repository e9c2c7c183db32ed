import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runModuleInChild } from "./plugin-harness.js";

/**
 * Runs an ES module made of `lines` in a fresh `node --log-maps` and counts the hidden classes
 * (V8 maps) it created by adding `property` to an object (`map,Transition,…,<property>` records of
 * V8's log). A transition V8 shares is logged once; a call site that makes a fresh, unshared map
 * on every call shows up once per call. Throws if the child fails.
 */
export function newMapsAdding(lines: readonly string[], property: string): number {
  const dir = mkdtempSync(join(tmpdir(), "v8-maps-"));
  try {
    const log = join(dir, "v8.log");
    const r = runModuleInChild(lines, ["--log-maps", `--logfile=${log}`, "--no-logfile-per-isolate"]);
    if (r.status !== 0) throw new Error(`child failed (${String(r.status ?? r.signal)}): ${r.stderr}`);
    return readFileSync(log, "utf8")
      .split("\n")
      .filter((l) => l.startsWith("map,Transition,") && l.endsWith(`,${property}`)).length;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
