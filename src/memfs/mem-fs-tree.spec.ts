// norm: MemFs's path normalization, with its as-is fast path for paths that are already normal.
import assert from "node:assert/strict";
import { posix } from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import { norm } from "./mem-fs-tree.js";

describe("norm", () => {
  const reference = (p: string): string => {
    const n = posix.normalize(p);
    return n.length > 1 && n.endsWith("/") ? n.slice(0, -1) : n;
  };
  const segment = fc.oneof(
    fc.constantFrom("", ".", "..", "...", ".a", "a.", "..b", "sys", "fs", "resctrl"),
    fc.stringMatching(/^[a-z0-9._-]{1,6}$/),
  );
  const absolute = fc
    .tuple(fc.array(segment, { maxLength: 6 }), fc.constantFrom("", "/", "//"))
    .map(([segs, tail]) => `/${segs.join("/")}${tail}`);

  it("equals posix.normalize without a trailing slash, for any absolute path", () => {
    fc.assert(
      fc.property(absolute, (p) => assert.equal(norm(p), reference(p), JSON.stringify(p))),
      { numRuns: 5000 },
    );
  });

  it("returns an already normal path as the same string", () => {
    for (const p of ["/", "/sys/fs/resctrl", "/a/.b/..c/d."]) assert.equal(norm(p), p);
  });

  it("refuses relative paths and NUL bytes with EINVAL", () => {
    for (const p of ["", "a/b", "./a", "/a\0b"])
      assert.throws(
        () => norm(p),
        (e: unknown) => (e as NodeJS.ErrnoException).code === "EINVAL",
        JSON.stringify(p),
      );
  });
});
