// Shared fixtures and assertions of the resctrl-layer specs (src/resctrl/*.spec.ts).
import assert from "node:assert/strict";
import type { ResctrlError } from "../../src/resctrl/errors.js";
import { Resctrl } from "../../src/resctrl/index.js";
import { MemFs } from "../../src/testing/index.js";
import { memoryLogger } from "../../support/worlds/shared/log-capture.js";
import type { LogRecord } from "../../support/worlds/types.js";

/** Rejects with `cls`; each field given in `want` (path, message, code) is exactly as given. */
export async function rejectsWith(
  p: Promise<unknown>,
  cls: new (...a: never[]) => Error,
  want: { path?: unknown; message?: string; code?: string },
): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof cls, String(err));
    const e = err as ResctrlError;
    if ("path" in want) assert.equal(e.path, want.path);
    if ("message" in want) assert.equal(e.message, want.message);
    if ("code" in want) assert.equal(e.code, want.code);
    return true;
  });
}

/** A view of `fs` with some provider methods replaced; every other call still reaches `fs`. */
export function overriding(fs: MemFs, overrides: Partial<Record<keyof MemFs, unknown>>): MemFs {
  return Object.assign(Object.create(fs) as MemFs, overrides);
}

/**
 * A Resctrl over MemFs mounted at `root` (two L3 domains) with a debug logger whose records are
 * kept, and pod u1's group already created.
 */
export async function groupWithLog(
  root = "/sys/fs/resctrl",
): Promise<{ fs: MemFs; rc: Resctrl; group: string; records: LogRecord[] }> {
  const { logger, records } = memoryLogger("debug");
  const fs = MemFs.withResctrl({ root, l3Domains: ["mon_L3_00", "mon_L3_01"] });
  const rc = Resctrl.withProvider(fs, { root, logger });
  const group = await rc.createGroup("u1");
  return { fs, rc, group, records };
}
