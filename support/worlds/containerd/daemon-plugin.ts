import { existsSync } from "node:fs";
import { symlink } from "node:fs/promises";
import { join } from "node:path";
import { status as grpcStatus, type ServiceError } from "@grpc/grpc-js";
import { execa, type ResultPromise } from "execa";
import { ControlClient, type EventWatch } from "../../../src/control/client.js";
import { fromPodEvent } from "../../../src/control/convert.js";
import { GroupState, type State } from "../../../src/control/gen/control/control.js";
import type { LogRecord, RetryOutcome } from "../types.js";
import { daemonCommand, REPO_ROOT } from "./daemon-build.js";
import {
  CONTAINERD_WORLD_RESCTRL_ROOT,
  isWaitingForRuntime,
  PLUGIN_IDX,
  PLUGIN_NAME,
  type DriverStartOptions,
  type EventSink,
  type PluginDriver,
  type PluginPodState,
} from "./plugin-driver.js";

/** Log message the daemon writes each time the runtime synchronized it (src/cli.ts). */
export const SYNCHRONIZED_MSG = "runtime synchronized";
/** Poll interval while waiting for the daemon's sockets and log lines. */
export const DAEMON_POLL_MS = 20;
/** Grace between SIGTERM and SIGKILL when stopping the daemon. */
export const DAEMON_STOP_GRACE_MS = 5000;
/**
 * RMIDs of the emulated resctrl (`--memory-rmids`): as many as one L3 domain of the hardware
 * world's m7i.metal-24xl has, so a scenario with a busy node's 150 pods fits as it would there.
 */
export const EMULATED_RMIDS = 448;

/**
 * The real `nri-resctrl-plugin` daemon in a child process: `--resctrl-provider memory` (no
 * resctrl on these VMs), the real cgroup PID source, a private control socket. Its pod events
 * come from WatchEvents, subscribed BEFORE the daemon can reach the runtime: the daemon is pointed
 * at a symlink in the scenario dir that is created only once the watch is up (the daemon's
 * reconnect backoff retries until then), so even the first Synchronize's events are seen. When
 * the runtime is down at start (`until: "waiting-for-runtime"`) the link is created before the
 * daemon starts: nothing can reach it before the runtime comes up, and every failed connect in its
 * log is then the daemon's own.
 * Ownership: the child, the control channel and the watch; {@link stop} ends all three.
 */
export class DaemonPlugin implements PluginDriver {
  readonly mode = "daemon";
  readonly #records: LogRecord[] = [];
  readonly #stderr: string[] = [];
  #child: ResultPromise | undefined;
  #control: ControlClient | undefined;
  #watch: EventWatch | undefined;
  #exited = false;
  /** Log records before this index were written before the world linked the NRI socket. */
  #linkedAt = 0;
  #link = "";

  constructor(
    private readonly tmpDir: string,
    private readonly onEvent: EventSink,
  ) {}

  async start(o: DriverStartOptions): Promise<void> {
    const controlSocket = join(this.tmpDir, "control.sock");
    const link = join(this.tmpDir, "nri.sock");
    const runtimeDown = o.until === "waiting-for-runtime";
    if (runtimeDown) {
      o.beforeConnect?.();
      await symlink(o.nriSocket, link);
      this.#link = link;
    }
    const flags = [
      `--nri-socket=${link}`,
      `--plugin-name=${PLUGIN_NAME}`,
      `--plugin-idx=${PLUGIN_IDX}`,
      `--group-prefix=${o.groupPrefix}`,
      o.cleanupOnStart === false ? "--no-cleanup-on-start" : "--cleanup-on-start",
      o.autoMount === false ? "--no-auto-mount" : "--auto-mount",
      `--resctrl-root=${CONTAINERD_WORLD_RESCTRL_ROOT}`,
      "--resctrl-provider=memory",
      `--memory-rmids=${EMULATED_RMIDS}`,
      `--control-socket=${controlSocket}`,
      "--log-level=debug",
    ];
    const child = execa(process.execPath, [...(await daemonCommand()), ...flags], {
      cwd: REPO_ROOT,
      reject: false,
      cleanup: true,
      buffer: false,
      stdin: "ignore",
    });
    this.#child = child;
    void child.then(() => (this.#exited = true));
    lines(child.stdout, (l) => this.#records.push(parseLine(l)));
    lines(child.stderr, (l) => this.#stderr.push(l));
    const deadline = Date.now() + o.timeoutMs;
    await this.#until(() => existsSync(controlSocket), deadline, `its control socket ${controlSocket}`);
    this.#control = await ControlClient.connect(controlSocket, Math.max(1, deadline - Date.now()));
    this.#watch = this.#control.watchEvents(false, (e) => {
      const ev = fromPodEvent(e);
      if (ev) this.onEvent(ev);
    });
    await this.#control.getState(); // answered after the watch's subscription on the same channel
    if (runtimeDown) {
      await this.#until(
        () => this.#records.some(isWaitingForRuntime),
        deadline,
        `"waiting for the runtime …" in its log while the runtime is down`,
      );
      return;
    }
    o.beforeConnect?.();
    this.#link = link;
    this.#linkedAt = this.#records.length;
    await symlink(o.nriSocket, link);
    await this.#until(() => this.syncCount() >= 1, deadline, `"${SYNCHRONIZED_MSG}" in its log`);
  }

  async stop(): Promise<void> {
    this.#watch?.cancel();
    this.#control?.close();
    const child = this.#child;
    if (!child || this.#exited) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), DAEMON_STOP_GRACE_MS);
    await child.catch(() => undefined);
    clearTimeout(timer);
  }

  async state(): Promise<PluginPodState[]> {
    return toPodStates(await this.#c().getState());
  }

  async groupExists(path: string): Promise<boolean> {
    const s = await this.#c().getState();
    return s.pods.some(
      (p) => p.groupState === GroupState.EXISTS && p.groupPath === path && p.tasksError === "",
    );
  }

  retryGroupCreation(podUid: string): Promise<RetryOutcome> {
    return classify(async () => {
      const p = await this.#c().retryGroupCreation(podUid);
      return {
        ok: true,
        group:
          p.groupState === GroupState.EXISTS ? { kind: "Exists", path: p.groupPath } : { kind: "Failed" },
      };
    }, "pod-not-found");
  }

  retryContainer(containerId: string): Promise<RetryOutcome> {
    return classify(
      async () => (await this.#c().retryContainerReconcile(containerId), { ok: true }),
      "container-not-found",
    );
  }

  retryAllOnce(): Promise<RetryOutcome> {
    return classify(async () => (await this.#c().retryAllOnce(), { ok: true }), "pod-not-found");
  }

  async droppedEvents(): Promise<number> {
    return Number((await this.#c().getState()).droppedEvents);
  }

  /**
   * The daemon's log. Its failed connects to the NRI socket symlink before the world created it
   * are the world's doing (see the class comment): they are kept, but at info level with
   * `worldCaused` and the original level, so they do not count as plugin errors.
   */
  logLines(): LogRecord[] {
    const records = this.#records.map((r, i) =>
      i < this.#linkedAt && isLinkNotYetThere(r, this.#link)
        ? {
            ...r,
            level: 30,
            originalLevel: r.level,
            worldCaused: "the world had not linked the NRI socket yet",
          }
        : r,
    );
    return [...records, ...this.#stderr.map((l) => ({ msg: l, stderr: true }))];
  }

  syncCount(): number {
    return this.#records.filter((r) => r.msg === SYNCHRONIZED_MSG).length;
  }

  #c(): ControlClient {
    if (!this.#control)
      throw new Error("failed to reach the daemon's control API: the daemon was not started");
    return this.#control;
  }

  async #until(done: () => boolean, deadline: number, what: string): Promise<void> {
    while (!done()) {
      if (this.#exited)
        throw new Error(
          `failed to start the plugin daemon: it exited before ${what}; stderr: ${this.#stderr.slice(-10).join("\n")}; log: ${JSON.stringify(this.#records.slice(-5))}`,
        );
      if (Date.now() > deadline)
        throw new Error(
          `failed to start the plugin daemon: no ${what} in time; log: ${JSON.stringify(this.#records.slice(-5))}`,
        );
      await new Promise((r) => setTimeout(r, DAEMON_POLL_MS));
    }
  }
}

function toPodStates(s: State): PluginPodState[] {
  return s.pods.map((p) => ({
    podUid: p.podUid,
    group: p.groupState === GroupState.EXISTS ? { kind: "Exists", path: p.groupPath } : { kind: "Failed" },
    total: p.totalContainers,
    reconciled: p.reconciledContainers,
    tasks: p.tasksError === "" ? [...p.tasks] : undefined,
  }));
}

async function classify(
  run: () => Promise<RetryOutcome>,
  notFound: "pod-not-found" | "container-not-found",
): Promise<RetryOutcome> {
  try {
    return await run();
  } catch (err) {
    return classifyControlError(err, notFound);
  }
}

/** The `error-class` metadata the control API attaches to a failed call (src/control/status.ts). */
export const ERROR_CLASS_METADATA = "error-class";

/**
 * Maps a failed control-API retry call to the scenario vocabulary, as the in-process
 * `classifyRetryError` does for the plugin's own errors (src/control/status.ts maps them to gRPC
 * codes): RESOURCE_EXHAUSTED (CapacityError, RMIDs exhausted) → capacity; UNAVAILABLE with error
 * class RmidLimboError (RMIDs in limbo, retry later) → capacity with `limbo: true`; NOT_FOUND →
 * `notFound`. Anything else → other, including an UNAVAILABLE without that error class (grpc-js
 * reports an unreachable daemon so). Pure.
 */
export function classifyControlError(
  err: unknown,
  notFound: "pod-not-found" | "container-not-found",
): RetryOutcome {
  const e = err as Partial<ServiceError> | undefined;
  const message = e?.details || (err instanceof Error ? err.message : String(err));
  const errorClass = e?.metadata?.get?.(ERROR_CLASS_METADATA)?.[0];
  if (e?.code === grpcStatus.RESOURCE_EXHAUSTED) return { ok: false, error: "capacity", message };
  if (e?.code === grpcStatus.UNAVAILABLE && errorClass === "RmidLimboError")
    return { ok: false, error: "capacity", limbo: true, message };
  if (e?.code === grpcStatus.NOT_FOUND) return { ok: false, error: notFound, message };
  return { ok: false, error: "other", message };
}

function lines(stream: NodeJS.ReadableStream | null | undefined, onLine: (l: string) => void): void {
  let rest = "";
  stream?.setEncoding("utf8");
  stream?.on("data", (chunk: string) => {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop() ?? "";
    for (const l of parts) if (l.trim()) onLine(l);
  });
}

function parseLine(l: string): LogRecord {
  try {
    return JSON.parse(l) as LogRecord;
  } catch {
    return { msg: l, unparsable: true };
  }
}

/** A record about a failed connect (ENOENT) to the not yet created NRI socket symlink `link`. */
function isLinkNotYetThere(r: LogRecord, link: string): boolean {
  const text = JSON.stringify(r.err ?? "");
  return link !== "" && text.includes("ENOENT") && text.includes(link);
}
