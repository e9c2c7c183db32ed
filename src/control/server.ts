import { chmod, lstat, unlink } from "node:fs/promises";
import { connect } from "node:net";
import { Server, ServerCredentials, type ServerWritableStream, type sendUnaryData } from "@grpc/grpc-js";
import { pino, type Logger } from "pino";
import type { ResctrlPlugin } from "../plugin/plugin.js";
import { errorMessage } from "../plugin/errors.js";
import { snapshotEvent, toContainerState, toPodEvent, toPodState, toRetryReport } from "./convert.js";
import {
  ControlService,
  type ContainerState,
  type PodEvent,
  type PodState,
  type RetryAllOnceResponse,
  type State,
  type WatchEventsRequest,
} from "./gen/control/control.js";
import { toServiceError } from "./status.js";

/** The plugin surface the control API uses. */
export type ControlTarget = Pick<
  ResctrlPlugin,
  | "events"
  | "snapshot"
  | "unassignedContainers"
  | "groupTasks"
  | "droppedEvents"
  | "unmonitoredPods"
  | "retryGroupCreation"
  | "retryContainerReconcile"
  | "retryAllOnce"
>;

/** Options of {@link ControlApiServer.listen}. */
export interface ControlApiServerOptions {
  /** Unix socket path. A stale socket (nobody listening) is replaced; a live one is an error. */
  socketPath: string;
  plugin: ControlTarget;
  logger?: Logger;
}

/** How long `close()` waits for in-flight calls before cancelling them. */
export const CONTROL_SHUTDOWN_GRACE_MS = 1000;

/**
 * The daemon's gRPC control API (`nri_resctrl.control.v1.Control`) on a unix socket with mode
 * 0600 (never TCP). Each WatchEvents call owns one bounded plugin subscription; a slow watcher
 * loses events (the plugin counts them) rather than slowing the plugin. Retry calls map errors to
 * gRPC codes (see `grpcCodeOf`). `close()` ends watch streams, stops the server and removes the
 * socket file.
 */
export class ControlApiServer {
  readonly #server: Server;
  readonly #subs = new Set<{ close(): void }>();
  readonly socketPath: string;
  readonly #log: Logger;

  private constructor(server: Server, socketPath: string, log: Logger) {
    this.#server = server;
    this.socketPath = socketPath;
    this.#log = log;
  }

  /** Binds and starts. Rejects if the socket is in use or cannot be created. */
  static async listen(opts: ControlApiServerOptions): Promise<ControlApiServer> {
    const log = opts.logger ?? pino({ level: "silent" });
    await removeStaleSocket(opts.socketPath);
    const server = new Server();
    const api = new ControlApiServer(server, opts.socketPath, log);
    server.addService(ControlService, api.#handlers(opts.plugin));
    const oldMask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) =>
        server.bindAsync(`unix:${opts.socketPath}`, ServerCredentials.createInsecure(), (err) =>
          err
            ? reject(new Error(`failed to bind control socket ${opts.socketPath}`, { cause: err }))
            : resolve(),
        ),
      );
    } finally {
      process.umask(oldMask);
    }
    await chmod(opts.socketPath, 0o600);
    log.info({ socket: opts.socketPath }, "control API listening");
    return api;
  }

  /** Ends watch streams, stops the server (graceful, then forced) and unlinks the socket. Idempotent. */
  async close(): Promise<void> {
    for (const s of this.#subs) s.close();
    this.#subs.clear();
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.#server.forceShutdown();
        resolve();
      }, CONTROL_SHUTDOWN_GRACE_MS);
      this.#server.tryShutdown(() => {
        clearTimeout(t);
        resolve();
      });
    });
    await unlink(this.socketPath).catch(() => undefined);
  }

  #handlers(plugin: ControlTarget) {
    const log = this.#log;
    const unary =
      <Req, Res>(name: string, fn: (req: Req) => Promise<Res>) =>
      (call: { request: Req }, cb: sendUnaryData<Res>) => {
        fn(call.request).then(
          (res) => cb(null, res),
          (err: unknown) => {
            log.info({ rpc: name, err: errorMessage(err) }, "control call failed");
            cb(toServiceError(err));
          },
        );
      };
    const podState = async (uid: string): Promise<PodState | undefined> => {
      const snap = plugin.snapshot().find((p) => p.podUid === uid);
      if (!snap) return undefined;
      try {
        return toPodState(snap, await plugin.groupTasks(uid));
      } catch (err) {
        return toPodState(snap, [], errorMessage(err));
      }
    };
    const state = async (): Promise<State> => {
      const pods: PodState[] = [];
      for (const p of plugin.snapshot()) {
        const s = await podState(p.podUid);
        if (s) pods.push(s);
      }
      return {
        pods,
        unassignedContainers: plugin.unassignedContainers().map(toContainerState),
        droppedEvents: plugin.droppedEvents,
        unmonitoredPods: plugin.unmonitoredPods(),
      };
    };
    return {
      watchEvents: (call: ServerWritableStream<WatchEventsRequest, PodEvent>) => this.#watch(plugin, call),
      getState: unary("GetState", () => state()),
      retryGroupCreation: unary("RetryGroupCreation", async (req: { podUid: string }) => {
        await plugin.retryGroupCreation(req.podUid);
        const s = await podState(req.podUid);
        if (!s)
          throw Object.assign(new Error(`failed to find pod ${req.podUid}: removed`), {
            name: "PodNotFoundError",
          });
        return s;
      }),
      retryContainerReconcile: unary(
        "RetryContainerReconcile",
        async (req: { containerId: string }): Promise<ContainerState> => {
          await plugin.retryContainerReconcile(req.containerId);
          const all = [...plugin.snapshot().flatMap((p) => p.containers), ...plugin.unassignedContainers()];
          const c = all.find((x) => x.id === req.containerId);
          if (!c) {
            throw Object.assign(new Error(`failed to find container ${req.containerId}: removed`), {
              name: "ContainerNotFoundError",
            });
          }
          return toContainerState(c);
        },
      ),
      retryAllOnce: unary("RetryAllOnce", async (): Promise<RetryAllOnceResponse> => ({
        report: toRetryReport(await plugin.retryAllOnce()),
        state: await state(),
      })),
    };
  }

  #watch(plugin: ControlTarget, call: ServerWritableStream<WatchEventsRequest, PodEvent>): void {
    const sub = plugin.events();
    this.#subs.add(sub);
    const stop = (): void => {
      sub.close();
      this.#subs.delete(sub);
    };
    call.on("cancelled", stop);
    call.on("error", stop);
    if (call.request.includeSnapshot) for (const p of plugin.snapshot()) call.write(snapshotEvent(p));
    void (async () => {
      for await (const e of sub) {
        if (call.cancelled) break;
        if (!call.write(toPodEvent(e))) await writable(call);
      }
      stop();
      if (!call.cancelled) call.end();
    })().catch((err: unknown) => this.#log.warn({ err }, "watch stream failed"));
  }
}

/**
 * Resolves on "drain", or when the call is cancelled, fails or closes (no "drain" ever comes then:
 * waiting for it alone would keep the stream and this loop alive forever). Removes its listeners.
 */
function writable(call: ServerWritableStream<WatchEventsRequest, PodEvent>): Promise<void> {
  const events = ["drain", "cancelled", "error", "close"] as const;
  return new Promise<void>((resolve) => {
    const done = (): void => {
      for (const ev of events) call.off(ev, done);
      resolve();
    };
    if (call.cancelled || call.destroyed) return resolve();
    for (const ev of events) call.once(ev, done);
  });
}

/** Removes `path` if it is a socket nobody listens on; rejects if it is in use or not a socket. */
async function removeStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new Error(`failed to bind control socket ${path}: exists and is not a socket`);
  const live = await new Promise<boolean>((resolve) => {
    const s = connect(path);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
  if (live) throw new Error(`failed to bind control socket ${path}: another process is listening`);
  await unlink(path);
}
