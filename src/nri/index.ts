/**
 * Public API of the NRI wire layer: the plugin stub, the plain types and handler interfaces, errors
 * and constants. The mux, ttrpc and generated code are internal.
 */
export {
  NriStub,
  DEFAULT_REGISTRATION_TIMEOUT_MS,
  type StubOptions,
  type StubState,
  type WaitingInfo,
} from "./stub.js";
export { RuntimeUnavailableError } from "./stub-socket.js";
export * from "./types.js";
export type * from "./handler.js";
export { ProtocolError, TtrpcError, Code } from "./errors.js";
export { DEFAULT_NRI_SOCKET, NRI_PLUGIN_SOCKET_ENV } from "./constants.js";
export {
  DEFAULT_BACKOFF_INITIAL_MS,
  DEFAULT_BACKOFF_MAX_MS,
  DEFAULT_BACKOFF_MULTIPLIER,
  DEFAULT_BACKOFF_JITTER,
  formatDelay,
  type BackoffOptions,
} from "./backoff.js";
export { deriveEventMask, isValidEventMask } from "./stub-mask.js";
