/** The group prefixes of one scenario on the real host (teardown.sh knows the `hw?_` families). */
export interface HardwarePrefixes {
  /** Kubernetes-safe run id (labels, pod names). */
  run: string;
  /** The daemon's `--group-prefix`. */
  plugin: string;
  /** RMID helper groups (must differ from `plugin`, or startup cleanup would remove them). */
  filler: string;
  /** Seeded groups owned by "someone else". */
  foreign: string;
  all: string[];
}

/** Derives the prefixes from the scenario's unique group prefix (`[A-Za-z0-9_-]`, ends in `_`). Pure. */
export function hardwarePrefixes(groupPrefix: string): HardwarePrefixes {
  if (!/^[A-Za-z0-9_-]+_$/.test(groupPrefix))
    throw new Error(`failed to derive hardware prefixes: unsafe group prefix ${JSON.stringify(groupPrefix)}`);
  const run = `hw-${groupPrefix
    .slice(0, -1)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, "")}`;
  const plugin = `hwp_${groupPrefix}`;
  const filler = `hwf_${groupPrefix}`;
  const foreign = `hwo_${groupPrefix}`;
  return { run, plugin, filler, foreign, all: [plugin, filler, foreign] };
}
