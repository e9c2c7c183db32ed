// The mock world is only as true as its fake runtime: for each lifecycle recorded from a real
// containerd (support/fakes/traces/*.json, made by scripts/record-nri-traces.ts), the mock world
// plays the same lifecycle and its fake runtime must send the same requests, in the same order,
// with the same container states (ids aside). Refresh the traces: docs/nri-traces.md.
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parseNriGeneration } from "../support/fakes/nri-generations.js";
import { MockWorld } from "../support/worlds/mock/mock-world.js";

const TRACES = new URL("../support/fakes/traces/", import.meta.url);

/** One recorded request (the fields the comparison uses). */
interface TraceEntry {
  method: string;
  event?: string;
  pod?: string;
  container?: string;
  attempt?: number;
  state?: string;
  pid?: boolean;
  late?: boolean;
  unordered?: number | string;
  containers?: Array<{ pod: string; container: string; attempt: number; state: string }>;
}
interface Trace {
  version: string;
  nri: string;
  lifecycles: Record<string, TraceEntry[]>;
}

/** How the mock world plays each recorded lifecycle (as the kubelet would drive containerd). */
const PLAYS: Record<string, (w: MockWorld, pod: string) => Promise<void>> = {
  "pod-start-stop-remove": async (w, p) => {
    await w.runPod(p);
    await w.startContainer(p, { name: "app" });
    await w.removePod(p);
  },
  "container-self-exit": async (w, p) => {
    await w.runPod(p);
    await w.startContainer(p, { name: "job" });
    await w.exitContainer(p, "job", "complete");
  },
  "container-stop": async (w, p) => {
    await w.runPod(p);
    await w.startContainer(p, { name: "app" });
    await w.stopContainer(p, "app");
  },
  "crash-restart": async (w, p) => {
    await w.runPod(p);
    await w.startContainer(p, { name: "app" });
    await w.exitContainer(p, "app", "crash");
    await w.restartContainer(p, "app");
  },
  "crash-sigkill-restart": async (w, p) => {
    await w.runPod(p);
    await w.startContainer(p, { name: "app" });
    await w.exitContainer(p, "app", "crash");
    await w.restartContainer(p, "app");
  },
  "init-container": async (w, p) => {
    await w.runPodWithInitContainers(p, ["init"], [{ name: "app" }]);
  },
  "removal-kubelet-order": async (w, p) => {
    await w.runPod(p);
    await w.startContainer(p, { name: "app" });
    await w.startContainer(p, { name: "sidecar" });
    await w.removePod(p);
  },
  // crictl's order (StopPodSandbox, RemovePodSandbox on running containers) makes containerd send
  // the same NRI sequence as the kubelet's; the mock world only plays the kubelet's.
  "removal-crictl-order": async (w, p) => {
    await w.runPod(p);
    await w.startContainer(p, { name: "app" });
    await w.startContainer(p, { name: "sidecar" });
    await w.removePod(p);
  },
  "container-instant-exit": async (w, p) => {
    await w.runPod(p);
    await w.startContainer(p, { name: "job" });
    await w.exitContainer(p, "job", "complete");
  },
  "runtime-restart-exited-and-new": async (w, p) => {
    await w.runPodWithInitContainers(p, ["init"], [{ name: "app" }]);
    await w.restartRuntime();
    await w.runPod(`${p}-new`);
    await w.startContainer(`${p}-new`, { name: "app" });
    await w.removePod(p);
    await w.removePod(`${p}-new`);
  },
  "runtime-restart": async (w, p) => {
    await w.runPod(p);
    await w.startContainer(p, { name: "app" });
    await w.restartRuntime();
    await w.removePod(p);
  },
};

/** A recorded entry as a comparable line (the format of MockWorld.sentLines). */
function line(e: TraceEntry): string {
  if (e.method === "Synchronize") {
    const listed = (e.containers ?? []).map((c) => `${c.pod}/${c.container}#${c.attempt} ${c.state}`);
    return `Synchronize [${listed.sort().join(", ")}]`;
  }
  if (e.container === undefined) return `${e.method}${e.event ? ` ${e.event} ${e.pod}` : ""}`;
  return `${e.method} ${e.event} ${e.pod}/${e.container}#${e.attempt ?? 0} ${e.state}${e.pid ? " pid" : ""}`;
}

/** Sorts runs of entries the trace marks as arriving in any order (same `unordered` value), in both. */
function normalize(trace: TraceEntry[], played: string[]): { want: string[]; got: string[] } {
  const kept = trace.filter((e) => !e.late && e.method !== "Configure");
  const want = kept.map(line);
  const got = [...played];
  for (let i = 0; i < kept.length;) {
    const group = kept[i]?.unordered;
    let j = i + 1;
    while (group !== undefined && j < kept.length && kept[j]?.unordered === group) j += 1;
    if (j - i > 1) {
      want.splice(i, j - i, ...want.slice(i, j).sort());
      got.splice(i, j - i, ...got.slice(i, j).sort());
    }
    i = j;
  }
  return { want, got };
}

async function play(nri: string, lifecycle: string): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), "conformance-"));
  const w = new MockWorld();
  try {
    await w.init({
      id: `conformance-${lifecycle}`,
      tmpDir: dir,
      groupPrefix: "conf_",
      timeoutMs: 5000,
      parameters: { nri },
    });
    await w.startPlugin();
    await PLAYS[lifecycle]!(w, lifecycle);
    const lines = w.sentLines();
    // The plugin's first Synchronize (its registration) is in the trace's `connect`, not here.
    return lines[0]?.startsWith("Synchronize") ? lines.slice(1) : lines;
  } finally {
    await w.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}

const files = (await readdir(TRACES)).filter((f) => f.endsWith(".json")).sort();

describe("the fake runtime sends what real containerd sends", () => {
  it("has traces of containerd 1.7.24 and 2.1.9", () => {
    assert.deepEqual(files, ["containerd-1.7.24.json", "containerd-2.1.9.json"]);
  });
  for (const file of files) {
    describe(file, async () => {
      const trace = JSON.parse(await readFile(new URL(file, TRACES), "utf8")) as Trace;
      const nri = parseNriGeneration(trace.nri.replace(/^(v?\d+\.\d+)\.\d+$/, "$1"));
      it("records every lifecycle the mock world plays", () => {
        assert.deepEqual(Object.keys(trace.lifecycles).sort(), Object.keys(PLAYS).sort());
      });
      for (const lifecycle of Object.keys(PLAYS)) {
        it(`${lifecycle} (fake runtime speaking NRI ${nri})`, async () => {
          const { want, got } = normalize(trace.lifecycles[lifecycle] ?? [], await play(nri, lifecycle));
          assert.deepEqual(got, want);
        });
      }
    });
  }
});
