// containerCgroupPath / expandSlice rule by rule (written against mutation survivors;
// docs/testing.md): which NRI cgroups paths are refused and why, trimming, the systemd triple's
// parts, the pod's cgroup_parent as the slice path, and the normalized result.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { NriPod } from "../src/nri/types.js";
import { containerCgroupPath, expandSlice } from "../src/plugin/cgroup-path.js";
import { CgroupPathError } from "../src/plugin/errors.js";
import { ctr, pod } from "./plugin-harness.js";

const path = (cgroupsPath: string, p?: NriPod) => containerCgroupPath({ ...ctr("c1", "sb"), cgroupsPath }, p);
/** `f` throws a CgroupPathError whose message matches `why`. */
const throwsPathError = (f: () => unknown, why: RegExp, label: string) =>
  assert.throws(f, (e: unknown) => e instanceof CgroupPathError && why.test(e.message), label);
const refused = (cgroupsPath: string, why: RegExp, p?: NriPod) =>
  throwsPathError(() => path(cgroupsPath, p), why, cgroupsPath);

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
