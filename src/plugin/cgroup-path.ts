import { posix } from "node:path";
import { NriContainerState, type NriContainer, type NriPod } from "../nri/types.js";
import { CgroupPathError } from "./errors.js";

/**
 * A cgroupfs path {@link containerCgroupPath} cannot return as is: an empty, `.` or `..` segment,
 * a trailing `/` (so also `/` alone), or a NUL byte.
 */
const NEEDS_WORK = /\/\/|\/\.\.?(?:\/|$)|\/$|\0/;

/** Where cgroup filesystems are mounted by default. */
export const DEFAULT_CGROUP_ROOT = "/sys/fs/cgroup";

/**
 * Expands a systemd slice name to its path, as systemd and runc do:
 * `kubepods-burstable-pod1.slice` → `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice`;
 * `-.slice` → `/`. Throws {@link CgroupPathError} for a name that is not a valid slice.
 */
export function expandSlice(slice: string): string {
  if (!slice.endsWith(".slice") || slice.includes("/")) {
    throw new CgroupPathError(`failed to expand systemd slice ${JSON.stringify(slice)}: not a slice name`);
  }
  if (slice === "-.slice") return "/";
  const name = slice.slice(0, -".slice".length);
  const parts = name.split("-");
  if (parts.some((p) => p === "")) {
    throw new CgroupPathError(`failed to expand systemd slice ${JSON.stringify(slice)}: empty component`);
  }
  let prefix = "";
  let path = "";
  for (const p of parts) {
    prefix = prefix === "" ? p : `${prefix}-${p}`;
    path += `/${prefix}.slice`;
  }
  return path;
}

/**
 * The container's cgroup path relative to a hierarchy root (always starts with `/`, never `/`
 * itself), from NRI's `linux.cgroups_path`:
 * - systemd form `slice:prefix:name` → `<slice path>/<prefix>-<name>.scope`, where the slice path
 *   is the pod's `cgroup_parent` when its last element is that slice (custom kubelet roots), else
 *   the expanded slice;
 * - cgroupfs form (`/kubepods/burstable/pod<uid>/<id>`) → as is (a leading `/sys/fs/cgroup` is
 *   stripped).
 * Throws {@link CgroupPathError} for an empty path (upstream silently used the root cgroup, i.e.
 * every process of the host), `..` segments, NUL bytes, or a malformed systemd triple.
 * Pure; no I/O.
 */
export function containerCgroupPath(container: NriContainer, pod?: NriPod): string {
  const raw = container.cgroupsPath.trim();
  // The usual cgroupfs form, already normal: as is (this runs for every read of a container's tasks).
  if (
    raw.startsWith("/") &&
    !raw.startsWith(`${DEFAULT_CGROUP_ROOT}/`) &&
    !raw.includes(":") &&
    !NEEDS_WORK.test(raw)
  )
    return raw;
  const what = `cgroups path ${JSON.stringify(raw)} of container ${container.id}`;
  if (raw === "")
    throw new CgroupPathError(`failed to resolve cgroup of container ${container.id}: empty cgroups path`);
  if (raw.includes("\0")) throw new CgroupPathError(`failed to resolve ${what}: NUL byte`);
  let rel: string;
  if (raw.includes(":")) {
    const parts = raw.split(":");
    if (parts.length !== 3)
      throw new CgroupPathError(`failed to resolve ${what}: expected slice:prefix:name`);
    const [slice = "", prefix = "", name = ""] = parts;
    if (name === "" || name.includes("/") || prefix.includes("/")) {
      throw new CgroupPathError(`failed to resolve ${what}: malformed systemd triple`);
    }
    const parent = pod?.cgroupParent.trim() ?? "";
    const sliceName = slice === "" ? "system.slice" : slice;
    const base =
      parent !== "" && posix.basename(parent) === sliceName
        ? posix.join("/", parent)
        : expandSlice(sliceName);
    const unit = name.endsWith(".slice") ? name : prefix === "" ? `${name}.scope` : `${prefix}-${name}.scope`;
    rel = posix.join(base, unit);
  } else {
    rel = raw.startsWith(`${DEFAULT_CGROUP_ROOT}/`) ? raw.slice(DEFAULT_CGROUP_ROOT.length) : raw;
  }
  if (rel.split("/").some((seg) => seg === ".."))
    throw new CgroupPathError(`failed to resolve ${what}: '..' segment`);
  rel = posix.normalize(posix.join("/", rel));
  if (rel === "/") throw new CgroupPathError(`failed to resolve ${what}: refers to the root cgroup`);
  return rel.endsWith("/") ? rel.slice(0, -1) : rel;
}

/**
 * The pod sandbox's (pause container's) cgroup path relative to a hierarchy root, from the pod's
 * `linux.cgroups_path`, resolved exactly like {@link containerCgroupPath}. Throws
 * {@link CgroupPathError} for an empty or invalid path. Pure; no I/O.
 */
export function sandboxCgroupPath(pod: NriPod): string {
  return containerCgroupPath(
    {
      id: pod.id,
      podSandboxId: pod.id,
      name: "",
      state: NriContainerState.UNKNOWN,
      labels: {},
      annotations: {},
      cgroupsPath: pod.cgroupsPath,
      pid: pod.pid,
    },
    pod,
  );
}
