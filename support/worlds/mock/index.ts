import type { PodWorld } from "../types.js";
import { MockWorld } from "./mock-world.js";

/** The mock world module (see support/worlds/index.ts `WorldModule`). */
export function createWorld(_parameters: Readonly<Record<string, unknown>>): PodWorld {
  return new MockWorld();
}
