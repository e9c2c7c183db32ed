import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NriContainerState, type NriContainer, type NriPod } from "../../src/nri/types.js";

/** A pod with plausible containerd 1.7 values; `over` replaces fields. Pure. */
export function fakePod(n: number | string, over: Partial<NriPod> = {}): NriPod {
  const uid = `0000000${n}-aaaa-bbbb-cccc-${String(n).padStart(12, "0")}`;
  return {
    id: `pod${n}`.padEnd(64, "0"),
    name: `pod-${n}`,
    uid,
    namespace: "default",
    labels: { app: `a${n}` },
    annotations: {},
    cgroupParent: `/kubepods/pod${uid}`,
    cgroupsPath: `/kubepods/pod${uid}/pod${n}`,
    pid: 1000 + Number.parseInt(String(n), 10) || 1000,
    ...over,
  };
}

/** A running container of `pod`; `over` replaces fields. Pure. */
export function fakeContainer(
  pod: NriPod,
  n: number | string,
  over: Partial<NriContainer> = {},
): NriContainer {
  const id = `ctr${n}`.padEnd(64, "0");
  return {
    id,
    podSandboxId: pod.id,
    name: `c-${n}`,
    state: NriContainerState.RUNNING,
    labels: {},
    annotations: {},
    cgroupsPath: `${pod.cgroupParent}/${id}`,
    pid: 2000 + (Number.parseInt(String(n), 10) || 0),
    ...over,
  };
}

/** A fresh temp directory with a socket path inside; `cleanup()` removes it. */
export function tempSocket(prefix = "nri-"): { path: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { path: join(dir, "nri.sock"), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
