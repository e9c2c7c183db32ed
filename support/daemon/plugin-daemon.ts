import { createWriteStream, existsSync, type WriteStream } from "node:fs";
import { execa, type ResultPromise } from "execa";
import { ControlClient, type EventWatch } from "../../src/control/client.js";
import { fromPodEvent } from "../../src/control/convert.js";
import { GroupState, type State } from "../../src/control/gen/control/control.js";
import type { PodResctrlEvent } from "../../src/plugin/events.js";
import type { GroupReport, LogRecord, MetricSample, ProbeAnswer, RetryOutcome } from "../worlds/types.js";
import { classifiedCall } from "./classify.js";
import { daemonArgs, DEFAULT_HTTP_LISTEN, type DaemonOptions } from "./daemon-args.js";
import { daemonCommand, REPO_ROOT } from "./daemon-build.js";
import {
  httpAddressFromLog,
  isRuntimeSynchronized,
  isWaitingForRuntime,
  lineSplitter,
  parseLogLine,
  SERVING_HTTP_MSG,
} from "./daemon-log.js";
import { httpGet } from "./http-probe.js";
import { parsePrometheusText } from "./prometheus-text.js";

/** How long {@link PluginDaemon.stop} waits after SIGTERM before SIGKILL. */
export const DAEMON_STOP_GRACE_MS = 10_000;
/** Poll interval while the daemon's control socket does not exist yet. */
export const CONTROL_SOCKET_POLL_MS = 20;
/** Deadline of one connect attempt once the control socket exists. */
export const CONTROL_CONNECT_ATTEMPT_MS = 1_000;

/**
 * The one driver of the real `nri-resctrl-plugin` daemon, used by the containerd and the hardware
 * world: spawns it ({@link daemonArgs}, {@link daemonCommand}), parses its stdout and stderr into
 * log records (also appended to `logFile`), waits for what it logs (readiness: Synchronize
 * answered, or waiting for the runtime) without polling, connects its control API, and runs the
 * operator's retries over it with rejections classified ({@link classifiedCall}). How a world
 * observes pod events is its own choice: from the log ({@link DaemonOptions} `onRecord` with
 * `podEventFromLog`) or from the control API's event stream ({@link watchEvents}).
 *
 * Ownership: the process, the control channel and the event watch; {@link stop} ends all three
 * (SIGTERM, then SIGKILL after {@link DAEMON_STOP_GRACE_MS}) and never rejects.
 */
export class PluginDaemon {
  /** Every log record so far, stdout and stderr, in arrival order. */
  readonly records: LogRecord[] = [];
  readonly #proc: ResultPromise;
  readonly #file: WriteStream | undefined;
  readonly #waiters = new Set<() => void>();
  readonly #controlSocket: string;
  #exit: string | undefined;
  #control: ControlClient | undefined;
  #watch: EventWatch | undefined;

  private constructor(
    proc: ResultPromise,
    o: DaemonOptions,
    private readonly onRecord?: (r: LogRecord) => void,
  ) {
    this.#proc = proc;
    this.#controlSocket = o.controlSocket;
    this.#file = o.logFile ? createWriteStream(o.logFile, { flags: "a" }) : undefined;
    // One splitter per stream: a chunk may end in the middle of a line.
    const reader = (): ((chunk: Buffer | string) => void) => {
      const split = lineSplitter((line) => {
        const r = parseLogLine(line);
        if (!r) return;
        this.records.push(r);
        this.onRecord?.(r);
      });
      return (chunk) => {
        this.#file?.write(chunk.toString());
        split(chunk);
        this.#wake();
      };
    };
    proc.stdout?.on("data", reader());
    proc.stderr?.on("data", reader());
    proc.then(
      (r) => this.#exited(`exit code ${r.exitCode ?? "?"}${r.signal ? `, signal ${r.signal}` : ""}`),
      (e: unknown) => this.#exited(`failed: ${(e as Error).message}`),
    );
  }

  /**
   * Spawns the daemon; waits for nothing (see {@link connect}, {@link waitForSyncs},
   * {@link waitUntilWaitingForRuntime}). `onRecord` sees every log record in output order (the
   * daemon logs each pod event as it emits it). Its HTTP endpoint listens on `o.httpListen`,
   * default {@link DEFAULT_HTTP_LISTEN} (see {@link httpAddress}).
   */
  static async start(o: DaemonOptions, onRecord?: (r: LogRecord) => void): Promise<PluginDaemon> {
    o = { ...o, httpListen: o.httpListen ?? DEFAULT_HTTP_LISTEN };
    const args = daemonArgs(o);
    const proc = execa(process.execPath, [...(await daemonCommand()), ...args], {
      cwd: o.repoRoot ?? REPO_ROOT,
      reject: false,
      cleanup: true,
      buffer: false,
      stdin: "ignore",
      env: { NODE_ENV: "production" },
    });
    const daemon = new PluginDaemon(proc, o, onRecord);
    // First record: how the world started it (the report shows e.g. which --retry-interval ran).
    daemon.records.push({ level: 30, msg: "scenario world: daemon started", args });
    return daemon;
  }

  /** Why the process ended, or undefined while it runs. */
  get exitReason(): string | undefined {
    return this.#exit;
  }

  /**
   * Resolves once `done()` holds, checked now and after every output chunk; rejects when the
   * daemon exits first or after `timeoutMs`, naming `what` and quoting its last log lines.
   */
  waitFor(what: string, done: () => boolean, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const finish = (then: () => void): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        then();
      };
      const check = (): void => {
        if (done()) return finish(resolve);
        if (this.#exit)
          finish(() =>
            reject(
              new Error(
                `failed to see ${what}: the daemon ended (${this.#exit}); last output: ${this.tail()}`,
              ),
            ),
          );
      };
      const timer = setTimeout(
        () =>
          finish(() =>
            reject(new Error(`failed to see ${what} within ${timeoutMs} ms; last output: ${this.tail()}`)),
          ),
        timeoutMs,
      );
      this.#waiters.add(check);
      check();
    });
  }

  /** Resolves with the first log record whose `msg` contains `needle` (see {@link waitFor}). */
  async waitForLog(needle: string, timeoutMs: number): Promise<LogRecord> {
    const find = (): LogRecord | undefined => this.records.find((r) => String(r.msg ?? "").includes(needle));
    await this.waitFor(`daemon log "${needle}"`, () => find() !== undefined, timeoutMs);
    return find()!;
  }

  /** How many times the runtime synchronized the daemon (its "runtime synchronized" lines): 1 after start, +1 per reconnect. */
  syncCount(): number {
    return this.records.filter(isRuntimeSynchronized).length;
  }

  /** Resolves once the runtime synchronized the daemon `count` times in all (readiness: 1). */
  waitForSyncs(count: number, timeoutMs: number): Promise<void> {
    return this.waitFor(
      `"runtime synchronized" ${count} time(s) in the daemon's log`,
      () => this.syncCount() >= count,
      timeoutMs,
    );
  }

  /** Resolves once the daemon logged that it waits for the runtime (readiness while the runtime is down). */
  waitUntilWaitingForRuntime(timeoutMs: number): Promise<void> {
    return this.waitFor(
      `"waiting for the runtime …" in the daemon's log`,
      () => this.records.some(isWaitingForRuntime),
      timeoutMs,
    );
  }

  /**
   * Connects the control API: waits for the control socket, then connects; rejects when the
   * daemon ends first or nothing answered within `timeoutMs`. The client is kept for the calls below.
   */
  async connect(timeoutMs: number): Promise<ControlClient> {
    const socket = this.#controlSocket;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let failure: unknown;
      if (existsSync(socket)) {
        try {
          this.#control = await ControlClient.connect(
            socket,
            Math.max(1, Math.min(CONTROL_CONNECT_ATTEMPT_MS, deadline - Date.now())),
          );
          return this.#control;
        } catch (e) {
          failure = e;
        }
      } else await new Promise((r) => setTimeout(r, CONTROL_SOCKET_POLL_MS));
      if (this.#exit || Date.now() >= deadline)
        throw new Error(
          `failed to connect to the daemon's control socket ${socket}${this.#exit ? `: the daemon ended (${this.#exit})` : ""}; last output: ${this.tail()}`,
          { cause: failure },
        );
    }
  }

  /**
   * Subscribes to the control API's event stream; every plugin event from now on goes to
   * `onEvent`, in emission order. Resolves once the subscription is in place (a later call on the
   * same channel is answered after it).
   */
  async watchEvents(onEvent: (e: PodResctrlEvent) => void): Promise<void> {
    this.#watch = this.#c().watchEvents(false, (e) => {
      const ev = fromPodEvent(e);
      if (ev) onEvent(ev);
    });
    await this.#c().getState();
  }

  /**
   * Where the daemon's HTTP endpoint listens, read from its log ({@link SERVING_HTTP_MSG}: the
   * port it really bound when asked for port 0); waits for that line up to `timeoutMs`.
   */
  async httpAddress(timeoutMs: number): Promise<{ host: string; port: number }> {
    const r = await this.waitForLog(SERVING_HTTP_MSG, timeoutMs);
    return httpAddressFromLog(r)!;
  }

  /** GET `path` of the daemon's HTTP endpoint: its status and body, whatever the status. */
  async httpGet(path: string, timeoutMs: number): Promise<ProbeAnswer> {
    const { host, port } = await this.httpAddress(timeoutMs);
    return httpGet(host, port, path, timeoutMs);
  }

  /** GET /metrics, parsed; rejects unless it answers 200 (quoting the body). */
  async scrapeMetrics(timeoutMs: number): Promise<MetricSample[]> {
    const a = await this.httpGet("/metrics", timeoutMs);
    if (a.status !== 200)
      throw new Error(`failed to scrape the daemon's /metrics: status ${a.status}: ${a.body.slice(0, 200)}`);
    return parsePrometheusText(a.body);
  }

  /** The daemon's state (GetState). */
  state(): Promise<State> {
    return this.#c().getState();
  }

  /** Events the daemon dropped because a subscriber queue was full (GetState). */
  async droppedEvents(): Promise<number> {
    return Number((await this.state()).droppedEvents);
  }

  /** RetryGroupCreation; never rejects (a failure is classified). */
  retryGroupCreation(podUid: string): Promise<RetryOutcome> {
    return classifiedCall(async () => {
      const s = await this.#c().retryGroupCreation(podUid);
      return { ok: true, group: groupReport(s.groupState, s.groupPath) };
    }, "pod-not-found");
  }

  /** RetryContainerReconcile; never rejects. */
  retryContainer(containerId: string): Promise<RetryOutcome> {
    return classifiedCall(
      async () => (await this.#c().retryContainerReconcile(containerId), { ok: true }),
      "container-not-found",
    );
  }

  /**
   * RetryAllOnce; never rejects. A sweep "succeeds" whatever it met (as in-process); with
   * `limboIsFailure` one that stopped at RMIDs in limbo answers so instead, to be repeated.
   */
  retryAllOnce(o: { limboIsFailure?: boolean } = {}): Promise<RetryOutcome> {
    return classifiedCall(async () => {
      const r = await this.#c().retryAllOnce();
      const limbo =
        r.report?.stoppedOnCapacity === true && r.report.failures.some((f) => f.error === "RmidLimboError");
      if (o.limboIsFailure && limbo)
        return {
          ok: false,
          error: "capacity",
          limbo: true,
          message: "retry sweep stopped at RMIDs in limbo",
        };
      return { ok: true };
    }, "other");
  }

  /**
   * The daemon's complaints (error/fatal records and "failed to …" lines, at most 3) followed by
   * its last `n` messages, for error texts: a usage dump must not hide the line that explains it.
   */
  tail(n = 8): string {
    const text = (r: LogRecord): string => String(r.msg ?? JSON.stringify(r));
    const complaints = this.records
      .filter((r) => (typeof r.level === "number" && r.level >= 50) || /failed to/i.test(text(r)))
      .slice(-3);
    const last = this.records.slice(-n).filter((r) => !complaints.includes(r));
    return [...complaints, ...last].map(text).join(" | ");
  }

  /** Ends the watch and the control channel, then the process (SIGTERM, SIGKILL after the grace). Idempotent; never rejects. */
  async stop(): Promise<void> {
    this.#watch?.cancel();
    this.#watch = undefined;
    this.#control?.close();
    this.#control = undefined;
    if (!this.#exit) {
      this.#proc.kill("SIGTERM");
      const timer = setTimeout(() => this.#proc.kill("SIGKILL"), DAEMON_STOP_GRACE_MS);
      await this.#proc.catch(() => undefined);
      clearTimeout(timer);
    }
    await new Promise<void>((resolve) => (this.#file ? this.#file.end(resolve) : resolve()));
  }

  #c(): ControlClient {
    if (!this.#control) throw new Error("failed to reach the daemon's control API: it is not connected");
    return this.#control;
  }

  #exited(reason: string): void {
    this.#exit = reason;
    this.#wake();
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }
}

/** Wire group state → scenario group report. Pure. */
export function groupReport(state: GroupState, path: string): GroupReport {
  return state === GroupState.EXISTS ? { kind: "Exists", path } : { kind: "Failed" };
}
