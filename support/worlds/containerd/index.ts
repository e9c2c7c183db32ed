import type { PodWorld } from "../types.js";
import { removeDaemonBuild } from "../../daemon/daemon-build.js";
import { ContainerdWorld } from "./containerd-world.js";
import { containerdAvailability, shutdownSharedContainerd } from "./shared-containerd.js";

/** The containerd world module (see support/worlds/index.ts `WorldModule`). */
export function createWorld(_parameters: Readonly<Record<string, unknown>>): PodWorld {
  return new ContainerdWorld();
}

/** Why this machine cannot run the containerd world (not root, no archive, ...), or undefined if it can. */
export async function unavailable(): Promise<string | undefined> {
  const a = await containerdAvailability();
  return a.ok ? undefined : `no local containerd: ${a.reason}`;
}

/** Stops the containerd shared by the run (AfterAll). Never rejects. */
export async function shutdown(): Promise<void> {
  await shutdownSharedContainerd();
  await removeDaemonBuild();
}
