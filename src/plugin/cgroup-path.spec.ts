// containerCgroupPath / sandboxCgroupPath / expandSlice rule by rule: which NRI cgroups paths are
// refused and why, trimming, the systemd triple's parts, the pod's cgroup_parent as the slice path,
// and the normalized result.
import assert from "node:assert/strict";
import { posix } from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import { SANDBOX_REL, sandboxPod as sb } from "../../test/support/cgroup-fixture.js";
import { ctr, pod } from "../../test/support/plugin-harness.js";
import type { NriPod } from "../nri/types.js";
import { containerCgroupPath, expandSlice, sandboxCgroupPath } from "./cgroup-path.js";
import { CgroupPathError } from "./errors.js";

const path = (cgroupsPath: string, p?: NriPod) => containerCgroupPath({ ...ctr("c1", "sb"), cgroupsPath }, p);
/** `f` throws a CgroupPathError whose message matches `why`. */
const throwsPathError = (f: () => unknown, why: RegExp, label: string) =>
  assert.throws(f, (e: unknown) => e instanceof CgroupPathError && why.test(e.message), label);
const refused = (cgroupsPath: string, why: RegExp, p?: NriPod) =>
  throwsPathError(() => path(cgroupsPath, p), why, cgroupsPath);

const cgroupfs = (id: string) => ({ ...ctr(id, "sb"), cgroupsPath: `/kubepods/burstable/podU/${id}` });
const systemd = (id: string) => ({
  ...ctr(id, "sb"),
  cgroupsPath: `kubepods-burstable-podU.slice:cri-containerd:${id}`,
});
const SYSTEMD_DIR = "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podU.slice";

describe("expandSlice", () => {
  it("expands each dash level; '-.slice' is the root", () => {
    assert.equal(expandSlice("a.slice"), "/a.slice");
    assert.equal(expandSlice("a-b-c.slice"), "/a.slice/a-b.slice/a-b-c.slice");
    assert.equal(expandSlice("-.slice"), "/");
  });

  it("refuses a non-slice name, a name with '/', and empty components", () => {
    for (const [bad, why] of [
      ["a.scope", /not a slice name/],
      ["a/b.slice", /not a slice name/],
      ["/a.slice", /not a slice name/],
      ["a--b.slice", /empty component/],
      ["a-.slice", /empty component/],
      [".slice", /empty component/],
    ] as const) {
      throwsPathError(() => expandSlice(bad), why, bad);
    }
  });
});

describe("containerCgroupPath", () => {
  it("cgroupfs path is used as is; a /sys/fs/cgroup prefix is stripped", () => {
    assert.equal(containerCgroupPath(cgroupfs("c1")), "/kubepods/burstable/podU/c1");
    assert.equal(
      containerCgroupPath({ ...ctr("c", "s"), cgroupsPath: "/sys/fs/cgroup/kubepods/podU/c" }),
      "/kubepods/podU/c",
    );
  });

  it("systemd triple expands the slice (with or without the pod); custom roots come from cgroup_parent", () => {
    assert.equal(containerCgroupPath(systemd("c1")), `/${SYSTEMD_DIR}/cri-containerd-c1.scope`);
    const p = {
      ...pod("U"),
      cgroupParent: "/kubelet.slice/kubelet-kubepods.slice/kubepods-burstable-podU.slice",
    };
    assert.equal(
      containerCgroupPath(systemd("c1"), p),
      "/kubelet.slice/kubelet-kubepods.slice/kubepods-burstable-podU.slice/cri-containerd-c1.scope",
    );
    assert.equal(expandSlice("-.slice"), "/");
  });

  for (const [name, path] of [
    ["empty (would be the root cgroup)", ""],
    ["dot-dot escape", "/kubepods/../../etc"],
    ["only slashes", "///"],
    ["two-part systemd", "a.slice:b"],
    ["bad slice", "a--b.slice:cri:x"],
    ["NUL", "/kubepods/\0x"],
  ] as const) {
    it(`rejects ${name} with CgroupPathError`, () => {
      assert.throws(() => containerCgroupPath({ ...ctr("c", "s"), cgroupsPath: path }), CgroupPathError);
    });
  }
});

describe("containerCgroupPath: cgroupfs form", () => {
  it("trims blanks, drops a trailing '/', normalizes '//' and '.'", () => {
    assert.equal(path("  /kubepods/podU/c1 \n"), "/kubepods/podU/c1");
    assert.equal(path("/kubepods/podU/c1/"), "/kubepods/podU/c1");
    assert.equal(path("/kubepods//podU/./c1"), "/kubepods/podU/c1");
    assert.equal(path("kubepods/podU/c1"), "/kubepods/podU/c1");
  });

  it("refuses empty or blank paths, NUL bytes, '..' and the root cgroup", () => {
    refused("", /empty cgroups path/);
    refused("  \t", /empty cgroups path/);
    refused("/kubepods/\0/c1", /NUL byte/);
    refused("/kubepods/../c1", /'\.\.' segment/);
    refused("/", /root cgroup/);
    refused("/sys/fs/cgroup/", /root cgroup/);
    refused("/./", /root cgroup/);
  });
});

describe("containerCgroupPath: systemd form", () => {
  const parentPod = (cgroupParent: string): NriPod => ({ ...pod("u1"), cgroupParent });

  it("slice:prefix:name → <expanded slice>/<prefix>-<name>.scope; empty slice → system.slice", () => {
    assert.equal(path("k-b.slice:cri:c1"), "/k.slice/k-b.slice/cri-c1.scope");
    assert.equal(path(":cri:c1"), "/system.slice/cri-c1.scope");
  });

  it("an empty prefix gives <name>.scope; a name that is itself a slice is used as is", () => {
    assert.equal(path("k.slice::c1"), "/k.slice/c1.scope");
    assert.equal(path("k.slice:cri:k-x.slice"), "/k.slice/k-x.slice");
    assert.equal(path("k.slice:cri:c1.slicex"), "/k.slice/cri-c1.slicex.scope");
  });

  it("the pod's cgroup_parent (trimmed) is the slice path when its last element is that slice", () => {
    const custom = parentPod("  /custom/root/k-b.slice \n");
    assert.equal(path("k-b.slice:cri:c1", custom), "/custom/root/k-b.slice/cri-c1.scope");
    assert.equal(path("k-b.slice:cri:c1", parentPod("custom/k-b.slice")), "/custom/k-b.slice/cri-c1.scope");
    // another last element, or no parent: the slice is expanded
    assert.equal(
      path("k-b.slice:cri:c1", parentPod("/custom/other.slice")),
      "/k.slice/k-b.slice/cri-c1.scope",
    );
    assert.equal(path("k-b.slice:cri:c1", parentPod("")), "/k.slice/k-b.slice/cri-c1.scope");
    assert.equal(path("k-b.slice:cri:c1", parentPod("   ")), "/k.slice/k-b.slice/cri-c1.scope");
  });

  it("refuses a triple with the wrong number of parts or a bad name/prefix", () => {
    refused("k.slice:c1", /expected slice:prefix:name/);
    refused("k.slice:cri:c1:x", /expected slice:prefix:name/);
    refused("k.slice:cri:", /malformed systemd triple/);
    refused("k.slice:cri:a/b", /malformed systemd triple/);
    refused("k.slice:a/b:c1", /malformed systemd triple/);
    refused("k/x.slice:cri:c1", /not a slice name/);
  });
});

describe("sandboxCgroupPath", () => {
  it("resolves cgroupfs and systemd forms like container paths; empty is an error", () => {
    const sbSystemd = sb({
      cgroupParent: "",
      cgroupsPath: "kubepods-burstable-podU.slice:cri-containerd:sb1",
    });
    assert.equal(sandboxCgroupPath(sb()), SANDBOX_REL);
    assert.equal(sandboxCgroupPath(sbSystemd), `/${SYSTEMD_DIR}/cri-containerd-sb1.scope`);
    assert.throws(() => sandboxCgroupPath(sb({ cgroupsPath: "" })), CgroupPathError);
    assert.throws(() => sandboxCgroupPath(sb({ cgroupsPath: "/kubepods/../x" })), CgroupPathError);
  });
});

describe("containerCgroupPath: the as-is fast path for normal cgroupfs paths", () => {
  /** The full rules without the fast path: strip /sys/fs/cgroup, refuse '..', normalize, drop a trailing '/'. */
  const reference = (raw: string): string => {
    const t = raw.trim();
    if (t === "" || t.includes("\0") || t.includes(":")) throw new Error("not a cgroupfs path");
    let rel = t.startsWith("/sys/fs/cgroup/") ? t.slice("/sys/fs/cgroup".length) : t;
    if (rel.split("/").some((s) => s === "..")) throw new Error("'..'");
    rel = posix.normalize(posix.join("/", rel));
    if (rel === "/") throw new Error("root");
    return rel.endsWith("/") ? rel.slice(0, -1) : rel;
  };
  const segment = fc.oneof(
    fc.constantFrom(
      "",
      ".",
      "..",
      "...",
      ".a",
      "a.",
      "..b",
      "kubepods",
      "pod1",
      "sys/fs/cgroup",
      "a:b",
      " ",
      "\0",
    ),
    fc.stringMatching(/^[a-z0-9._-]{1,8}$/),
  );
  const raw = fc
    .tuple(fc.boolean(), fc.array(segment, { maxLength: 7 }), fc.constantFrom("", "/", " "))
    .map(([abs, segs, tail]) => `${abs ? "/" : ""}${segs.join("/")}${tail}`);

  it("returns what the full rules return, or refuses what they refuse, for any path", () => {
    fc.assert(
      fc.property(raw, (p) => {
        let want: string | undefined;
        try {
          want = reference(p);
        } catch {
          want = undefined;
        }
        if (want === undefined) assert.throws(() => path(p), CgroupPathError, JSON.stringify(p));
        else assert.equal(path(p), want, JSON.stringify(p));
      }),
      { numRuns: 3000 },
    );
  });

  it("a normal cgroupfs path is returned as the same string", () => {
    const p = "/kubepods/burstable/pod1/abc";
    assert.equal(path(p), p);
    assert.equal(path(`  ${p}`), p);
  });
});
