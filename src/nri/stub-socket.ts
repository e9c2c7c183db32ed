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
  const path = src.socketPath ?? DEFAULT_NRI_SOCKET;
  return new Promise((resolve, reject) => {
    const s = net.createConnection(path);
    s.once("connect", () => {
      s.off("error", reject);
      resolve(s);
    });
    s.once("error", reject);
  });
}
