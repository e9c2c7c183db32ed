// Shared helpers of the resctrl-layer specs in test/.
import assert from "node:assert/strict";
import type { ResctrlError } from "../src/resctrl/errors.js";
import type { MemFs } from "../src/testing/index.js";

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
