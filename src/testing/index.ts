/** Test doubles for users' tests: `MockPidSource`, and the in-memory resctrl provider (`src/memfs`). */
export * from "../memfs/index.js";
export { MockPidSource, type MockPidAnswer } from "./mock-pid-source.js";
