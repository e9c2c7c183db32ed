/**
 * The floor plugin: the least any Node NRI plugin must do, as a standalone program to measure the
 * daemon against (bench/floor-bench.ts). It speaks NRI through our wire layer (src/nri mux, ttrpc,
 * generated protos: what any Node plugin would use a library for) and keeps no state:
 *
 * - connects to the runtime's socket, serves the Plugin service on mux conn 1, calls
 *   RegisterPlugin on conn 2 (name `floor`, index `10`);
 * - Configure: decodes the request, answers the daemon's event mask 0x625 (RUN_POD_SANDBOX,
 *   REMOVE_POD_SANDBOX, START_CONTAINER, STOP_CONTAINER, REMOVE_CONTAINER);
 * - Synchronize: decodes each chunk and keeps its pods and containers until the last one
 *   (`more=false`), answers every chunk (`{more: true}` / `{more: false}`, no updates), then drops them;
 * - StateChange: decodes the event; for START_CONTAINER it resolves the container's cgroup like the
 *   daemon (`containerCgroupPath`; cgroup v2 when `<root>/cgroup.controllers` exists, checked once,
 *   else the first v1 hierarchy holding it), reads its `cgroup.procs` and `/proc/<pid>/task` of every
 *   pid (synchronous reads, as the daemon does), and replies; other events reply at once;
 * - StopContainer / Shutdown: decode, reply empty.
 *
 * No ResctrlPlugin, Resctrl, MemFs or pino: the bench bundles it with `pino` resolved to a no-op
 * (bench/floor-pino-stub.ts) because src/nri's mux/ttrpc import it for their optional logger.
 * On SIGTERM it prints one JSON line of counters to stdout (the bench checks that every START read
 * the expected threads) and exits 0.
 *
 * Usage: node floor-plugin.mjs --nri-socket PATH [--cgroup-root DIR] [--proc-root DIR]
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import net from "node:net";
import { posix } from "node:path";
import { parseArgs } from "node:util";
import {
  ConfigureRequest,
  ConfigureResponse,
  Empty,
  RegisterPluginRequest,
  StateChangeEvent,
  StopContainerRequest,
  StopContainerResponse,
  SynchronizeRequest,
  SynchronizeResponse,
  type Container,
  type PodSandbox,
} from "../src/nri/gen/nri/api.js";
import {
  PLUGIN_SERVICE,
  PLUGIN_SERVICE_CONN,
  RUNTIME_SERVICE,
  RUNTIME_SERVICE_CONN,
} from "../src/nri/constants.js";
import { toNriContainer, toNriPod } from "../src/nri/convert.js";
import { openTrunk } from "../src/nri/trunk.js";
import { NriEvent } from "../src/nri/types.js";
import { V1_HIERARCHIES } from "../src/plugin/real-pid-source.js";
import { containerCgroupPath } from "../src/plugin/cgroup-path.js";

/** The daemon's mask (RESCTRL_PLUGIN_EVENT_MASK), answered to Configure. */
export const FLOOR_EVENT_MASK = 0x625;

const { values } = parseArgs({
  options: {
    "nri-socket": { type: "string" },
    "cgroup-root": { type: "string", default: "/sys/fs/cgroup" },
    "proc-root": { type: "string", default: "/proc" },
  },
  strict: true,
});
const socketPath = values["nri-socket"] ?? "/var/run/nri/nri.sock";
const cgroupRoot = values["cgroup-root"] ?? "/sys/fs/cgroup";
const procRoot = values["proc-root"] ?? "/proc";
const v2 = existsSync(posix.join(cgroupRoot, "cgroup.controllers"));

const counters = { syncChunks: 0, syncPods: 0, syncContainers: 0, starts: 0, pids: 0, tids: 0, errors: 0 };

/** `cgroup.procs` of the container: v2 directly, v1 the first hierarchy that has it. */
function procsFile(rel: string): string {
  if (v2) return posix.join(cgroupRoot, rel, "cgroup.procs");
  for (const h of V1_HIERARCHIES) {
    const f = posix.join(cgroupRoot, h, rel, "cgroup.procs");
    if (existsSync(f)) return f;
  }
  throw new Error(`failed to find cgroup ${rel}`);
}

/** The I/O every plugin needs at START_CONTAINER: the container's processes and their threads. */
function readTasks(ev: StateChangeEvent): number[] {
  const rel = containerCgroupPath(toNriContainer(ev.container), toNriPod(ev.pod));
  const tids: number[] = [];
  for (const line of readFileSync(procsFile(rel), "utf8").split("\n")) {
    if (line === "") continue;
    const pid = Number(line);
    counters.pids += 1;
    try {
      for (const t of readdirSync(posix.join(procRoot, String(pid), "task"))) tids.push(Number(t));
    } catch {
      // exited between the two reads
    }
  }
  return tids;
}

const socket = net.createConnection(socketPath);
await new Promise<void>((resolve, reject) => {
  socket.once("connect", resolve);
  socket.once("error", reject);
});
const trunk = openTrunk(socket, { serveConn: PLUGIN_SERVICE_CONN, callConn: RUNTIME_SERVICE_CONN });
const { server, client, mux } = trunk;

server.register(PLUGIN_SERVICE, "Configure", (p) => {
  ConfigureRequest.decode(p);
  return ConfigureResponse.encode({ events: FLOOR_EVENT_MASK }).finish();
});

let syncPods: PodSandbox[] = [];
let syncContainers: Container[] = [];
server.register(PLUGIN_SERVICE, "Synchronize", (p) => {
  const r = SynchronizeRequest.decode(p);
  counters.syncChunks += 1;
  for (const x of r.pods) syncPods.push(x);
  for (const x of r.containers) syncContainers.push(x);
  if (r.more) return SynchronizeResponse.encode({ update: [], more: true }).finish();
  counters.syncPods += syncPods.length;
  counters.syncContainers += syncContainers.length;
  syncPods = [];
  syncContainers = [];
  return SynchronizeResponse.encode({ update: [], more: false }).finish();
});

server.register(PLUGIN_SERVICE, "StateChange", (p) => {
  const ev = StateChangeEvent.decode(p);
  if ((ev.event as number) === NriEvent.START_CONTAINER) {
    counters.starts += 1;
    try {
      counters.tids += readTasks(ev).length;
    } catch {
      counters.errors += 1;
    }
  }
  return Empty.encode({}).finish();
});

server.register(PLUGIN_SERVICE, "StopContainer", (p) => {
  StopContainerRequest.decode(p);
  return StopContainerResponse.encode({ update: [] }).finish();
});

server.register(PLUGIN_SERVICE, "Shutdown", (p) => {
  Empty.decode(p);
  return Empty.encode({}).finish();
});

const done = (code: number): void => {
  process.stdout.write(`${JSON.stringify({ floor: counters })}\n`, () => process.exit(code));
};
process.once("SIGTERM", () => done(0));
process.once("SIGINT", () => done(0));
void mux.closedPromise().then(() => done(mux.closeReason ? 1 : 0));

await client.call(
  RUNTIME_SERVICE,
  "RegisterPlugin",
  RegisterPluginRequest.encode({ pluginName: "floor", pluginIdx: "10", NRIVersion: "" }).finish(),
  { timeoutMs: 5000 },
);
