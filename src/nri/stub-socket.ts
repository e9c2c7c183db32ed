import net from "node:net";
import { DEFAULT_NRI_SOCKET, NRI_PLUGIN_SOCKET_ENV } from "./constants.js";

/** Where the stub's trunk comes from, in priority order. */
export interface SocketSource {
  /** Pre-connected socket (consumed by the first call). */
  socket?: net.Socket;
  socketPath?: string;
  env: Record<string, string | undefined>;
}

/**
 * Opens the trunk socket: a pre-connected socket, else (when no path/socket was configured) the fd
 * in NRI_PLUGIN_SOCKET (runtime-launched plugin), else a connection to `socketPath` (default
 * DEFAULT_NRI_SOCKET). `firstUse` is false on reconnects: a pre-connected socket or inherited fd
 * cannot be reused, so the call then dials the path or rejects with a clear error. Rejects on a
 * connect error or an invalid fd; never throws synchronously.
 */
export function openNriSocket(src: SocketSource, firstUse: boolean): Promise<net.Socket> {
  if (src.socket) {
    if (firstUse) return Promise.resolve(src.socket);
    if (src.socketPath === undefined) {
      return Promise.reject(
        new Error("cannot reconnect: the pre-connected socket is gone and no socketPath is set"),
      );
    }
  }
  const fdText = src.env[NRI_PLUGIN_SOCKET_ENV];
  if (src.socketPath === undefined && src.socket === undefined && fdText !== undefined && fdText !== "") {
    if (!firstUse)
      return Promise.reject(new Error(`cannot reconnect: ${NRI_PLUGIN_SOCKET_ENV} fd was closed`));
    const fd = Number(fdText);
    if (!Number.isInteger(fd) || fd < 0) {
      return Promise.reject(new Error(`invalid ${NRI_PLUGIN_SOCKET_ENV}="${fdText}"`));
    }
    try {
      return Promise.resolve(new net.Socket({ fd, readable: true, writable: true }));
    } catch (err) {
      return Promise.reject(new Error(`failed to open ${NRI_PLUGIN_SOCKET_ENV} fd ${fd}`, { cause: err }));
    }
  }
  const path = nriSocketPath(src);
  return new Promise((resolve, reject) => {
    const s = net.createConnection(path);
    s.once("connect", () => {
      s.off("error", reject);
      resolve(s);
    });
    s.once("error", reject);
  });
}

/**
 * Connect error codes that mean "the runtime is not listening there (yet)": no socket file
 * (ENOENT: not started, or its directory not created yet) or a socket file nobody accepts on
 * (ECONNREFUSED: a stale socket of a stopped runtime, or one that is starting). A node routinely
 * starts the plugin before the runtime, so these are expected while waiting; anything else
 * (EACCES, ENOTDIR, ...) is a real error. (Linux also answers ECONNREFUSED for a regular file at
 * the path, so that reads as waiting too; the line names the path.)
 */
export const RUNTIME_ABSENT_CODES: readonly string[] = ["ENOENT", "ECONNREFUSED"];

/** The code of `err` when it is one of {@link RUNTIME_ABSENT_CODES}, else undefined. Pure. */
export function runtimeAbsentCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === "string" && RUNTIME_ABSENT_CODES.includes(code) ? code : undefined;
}

/** The socket path `openNriSocket` dials for `src` (when it dials one). Pure. */
export function nriSocketPath(src: Pick<SocketSource, "socketPath">): string {
  return src.socketPath ?? DEFAULT_NRI_SOCKET;
}

/**
 * Nothing listens on the runtime's socket (`code` is one of {@link RUNTIME_ABSENT_CODES}). Raised
 * by a connect attempt that will not be retried (no reconnect); `cause` is the socket error.
 */
export class RuntimeUnavailableError extends Error {
  override readonly name = "RuntimeUnavailableError";
  constructor(
    readonly socket: string,
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
