/** Named protocol constants of the NRI wire layer (see docs nri-protocol.md §2–§4). */

/** Default listening socket of the runtime for external plugins. */
export const DEFAULT_NRI_SOCKET = "/var/run/nri/nri.sock";
/** Environment variable carrying the fd of a runtime-launched plugin's socket. */
export const NRI_PLUGIN_SOCKET_ENV = "NRI_PLUGIN_SOCKET";

/** Mux connection on which the plugin serves `nri.pkg.api.v1alpha1.Plugin`. */
export const PLUGIN_SERVICE_CONN = 1;
/** Mux connection on which the plugin calls `nri.pkg.api.v1alpha1.Runtime`. */
export const RUNTIME_SERVICE_CONN = 2;

/** Full ttrpc service name served by the plugin. */
export const PLUGIN_SERVICE = "nri.pkg.api.v1alpha1.Plugin";
/** Full ttrpc service name served by the runtime. */
export const RUNTIME_SERVICE = "nri.pkg.api.v1alpha1.Runtime";

/** Mux frame header: u32be connId + u32be payload length. */
export const MUX_HEADER_LENGTH = 8;
/** ttrpc message header: u32be length, u32be stream id, u8 type, u8 flags. */
export const TTRPC_HEADER_LENGTH = 10;
/** Size of Go's bufio reader under the runtime's ttrpc channel: the §3.4 framing limit. */
export const GO_BUFIO_SIZE = 4096;
/** Default upper bound for one incoming mux frame payload (v0.6.1 senders use up to 16 MiB). */
export const DEFAULT_MAX_FRAME_LENGTH = 64 * 1024 * 1024;
/** Default upper bound for one incoming ttrpc message payload (Go sends up to 4 MiB, v1.2.5 more). */
export const DEFAULT_MAX_MESSAGE_LENGTH = 64 * 1024 * 1024;

/** Largest delay setTimeout accepts; a longer one would silently become 1 ms, so timers clamp to it. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** ttrpc message types. */
export const MessageType = { REQUEST: 1, RESPONSE: 2, DATA: 3 } as const;
