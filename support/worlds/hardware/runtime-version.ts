/**
 * Which containerd a host runs and which NRI that containerd speaks. The NRI module version is not
 * reported by containerd before NRI v0.12, so it is looked up from the containerd version
 * (../shared/docs/runtime-versions.md, docs/compatibility.md). hardware/ec2/lib.sh has the same
 * table as `nri_version_for` (a unit test keeps the two equal). Pure.
 */

/** The runtime as CRI reports it (`crictl version`) and the NRI version derived from it. */
export interface RuntimeVersions {
  /** CRI RuntimeName, e.g. "containerd". */
  runtime: string;
  /** CRI RuntimeVersion as reported, e.g. "v2.0.5-k3s1". */
  version: string;
  /** The NRI module that containerd version embeds, e.g. "v0.8.0", or an explanation. */
  nri: string;
}

/** `crictl version` output → RuntimeName and RuntimeVersion (undefined when absent). */
export function parseCrictlVersion(text: string): { runtime?: string; version?: string } {
  const field = (name: string): string | undefined =>
    new RegExp(`^${name}:\\s*(\\S+)\\s*$`, "m").exec(text)?.[1];
  return { runtime: field("RuntimeName"), version: field("RuntimeVersion") };
}

/** The NRI module version a containerd release embeds, from its version string ("v2.0.5-k3s1", "1.7.24"). */
export function nriVersionForContainerd(version: string): string {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version.trim());
  if (!m) return `unknown (unparsable containerd version ${JSON.stringify(version)})`;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const unknown = `unknown (containerd ${major}.${minor}.${patch} is not in the table)`;
  if (major < 1 || (major === 1 && minor < 7)) return "none (containerd before 1.7 has no NRI)";
  if (major === 1 && minor === 7) {
    if (patch < 16) return unknown;
    return patch <= 25 ? "v0.6.1" : "v0.8.0";
  }
  if (major === 2 && (minor === 0 || minor === 1)) return "v0.8.0";
  if (major === 2 && minor === 2) {
    if (patch === 0) return "v0.10.0";
    return patch >= 7 ? "v0.11.0" : "v0.10.0 or v0.11.0 (not recorded for this patch release)";
  }
  if (major === 2 && minor === 3) return "v0.12.0";
  return unknown;
}

/** One line for logs: `containerd v2.0.5-k3s1, NRI v0.8.0 (from the containerd version)`. */
export function describeRuntime(v: RuntimeVersions): string {
  return `${v.runtime} ${v.version}, NRI ${v.nri} (from the containerd version)`;
}
