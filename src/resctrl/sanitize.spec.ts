import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { InvalidConfigError } from "./errors.js";
import { MemFs } from "../memfs/mem-fs.js";
import { Resctrl } from "./resctrl.js";
import {
  MAX_GROUP_PREFIX_LENGTH,
  MAX_UID_PART_LENGTH,
  sanitizeUid,
  validatePrefix,
  validateRoot,
} from "./sanitize.js";

const sha10 = (s: string): string => createHash("sha256").update(s).digest("hex").slice(0, 10);

describe("sanitizeUid / groupNameFor", () => {
  it("a clean UID maps to itself", () => {
    const uid = "0f3c2a1e-7b9d-4c3e-a1f0-123456789abc";
    assert.equal(sanitizeUid(uid), uid);
    const rc = Resctrl.withProvider(new MemFs());
    assert.equal(rc.groupNameFor(uid), `pod_${uid}`);
    assert.equal(rc.groupPathFor(uid), `/sys/fs/resctrl/mon_groups/pod_${uid}`);
  });

  it("dropped characters add a hash of the original UID", () => {
    assert.equal(sanitizeUid("my-pod:UID"), `my-podUID-h${sha10("my-pod:UID")}`);
    assert.equal(sanitizeUid("a/b c.d_é-1"), `abcd_-1-h${sha10("a/b c.d_é-1")}`);
  });

  it("UIDs that sanitize alike get different names (no collision)", () => {
    assert.notEqual(sanitizeUid("a.b"), sanitizeUid("ab"));
    assert.notEqual(sanitizeUid("a.b"), sanitizeUid("a:b"));
    assert.equal(sanitizeUid("ab"), "ab");
  });

  it("truncates to MAX_UID_PART_LENGTH and hashes", () => {
    const long = "x".repeat(100);
    const other = "x".repeat(99);
    const s = sanitizeUid(long);
    assert.equal(s, `${"x".repeat(MAX_UID_PART_LENGTH)}-h${sha10(long)}`);
    assert.notEqual(s, sanitizeUid(other));
    assert.equal(sanitizeUid("y".repeat(MAX_UID_PART_LENGTH)), "y".repeat(MAX_UID_PART_LENGTH));
  });

  it("empty or fully invalid UIDs get distinct unknown-h<hash> names", () => {
    assert.equal(sanitizeUid(""), `unknown-h${sha10("")}`);
    assert.equal(sanitizeUid("::"), `unknown-h${sha10("::")}`);
    assert.notEqual(sanitizeUid("::"), sanitizeUid("..."));
  });

  it("a clean UID shaped like a hashed name is hashed too, so it cannot steal that name", () => {
    const victim = sanitizeUid("a.b");
    assert.match(victim, /^ab-h[0-9a-f]{10}$/);
    assert.notEqual(sanitizeUid(victim), victim);
  });

  it("names stay within 255 bytes with the longest prefix", () => {
    const rc = Resctrl.withProvider(new MemFs(), { groupPrefix: "p".repeat(MAX_GROUP_PREFIX_LENGTH) });
    const name = rc.groupNameFor("é".repeat(500) + "z".repeat(500));
    assert.ok(Buffer.byteLength(name) <= 255, name);
    assert.match(name, /^[A-Za-z0-9_-]+$/);
  });
});

describe("config validation", () => {
  it("rejects empty, unsafe and too long prefixes", () => {
    for (const bad of ["", "a/b", "..", "pod ", "pod.", "é", "x".repeat(MAX_GROUP_PREFIX_LENGTH + 1), "*"]) {
      assert.throws(() => validatePrefix(bad), InvalidConfigError, JSON.stringify(bad));
      assert.throws(() => Resctrl.withProvider(new MemFs(), { groupPrefix: bad }), InvalidConfigError);
    }
    assert.equal(validatePrefix("pod_-X9"), "pod_-X9");
  });

  it("rejects relative, unnormalized and '/' roots", () => {
    for (const bad of [
      "",
      "sys/fs/resctrl",
      "/",
      "/sys/fs/resctrl/",
      "/sys/../etc",
      "/sys//fs",
      "/sys/./fs",
    ]) {
      assert.throws(() => validateRoot(bad), InvalidConfigError, JSON.stringify(bad));
      assert.throws(() => Resctrl.withProvider(new MemFs(), { root: bad }), InvalidConfigError);
    }
    assert.throws(
      () => Resctrl.withProvider(new MemFs(), { procMountsPath: "proc/mounts" }),
      InvalidConfigError,
    );
    const rc = Resctrl.withProvider(new MemFs(), { root: "/mnt/rc" });
    assert.equal(rc.root, "/mnt/rc");
    assert.equal(rc.groupPrefix, "pod_");
  });

  it("an empty prefix says so; non-string prefixes and roots are config errors", () => {
    assert.throws(() => validatePrefix(""), /must not be empty/);
    for (const notAString of [123, null, undefined]) {
      assert.throws(() => validatePrefix(notAString as never), InvalidConfigError);
      assert.throws(() => validateRoot(notAString as never), InvalidConfigError);
    }
    assert.throws(() => validateRoot("/sys/fs/res\0ctrl"), InvalidConfigError);
  });
});

describe("sanitizeUid properties (fast-check)", () => {
  it("different UIDs never share a name; names are safe and bounded; clean UIDs map to themselves", async () => {
    const fc = (await import("fast-check")).default;
    const uid = fc.oneof(fc.string({ maxLength: 80 }), fc.stringMatching(/^[a-z0-9.:-]{0,70}$/), fc.uuid());
    fc.assert(
      fc.property(uid, uid, (a, b) => {
        const sa = sanitizeUid(a);
        assert.match(sa, /^[A-Za-z0-9_-]{1,75}$/);
        if (/^[A-Za-z0-9_-]{1,63}$/.test(a) && !/-h[0-9a-f]{10}$/.test(a)) assert.equal(sa, a);
        if (a !== b) assert.notEqual(sa, sanitizeUid(b), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
      }),
      { numRuns: 2000 },
    );
  });
});
