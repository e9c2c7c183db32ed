/**
 * Errors of the policy layer. `PluginError` is the base; the resctrl layer's own errors
 * (`CapacityError`, …) pass through unchanged so callers can match on them.
 */

/** Base class of every error the plugin itself raises. */
export class PluginError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A retry named a pod UID the plugin does not know (never seen, or already removed). */
export class PodNotFoundError extends PluginError {
  constructor(readonly podUid: string) {
    super(`failed to find pod ${JSON.stringify(podUid)}: not known to the plugin`);
  }
}

/** A retry named a container id the plugin does not know (never seen, or already removed). */
export class ContainerNotFoundError extends PluginError {
  constructor(readonly containerId: string) {
    super(`failed to find container ${JSON.stringify(containerId)}: not known to the plugin`);
  }
}

/** `ResctrlPluginConfig` failed validation; `field` names the offending setting. */
export class InvalidPluginConfigError extends PluginError {
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(`failed to validate plugin config ${field}: ${detail}`);
  }
}

/** Message of any thrown value, for logs. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Name of any thrown value's class ("Error" for non-errors), for logs and error mapping. */
export function errorName(e: unknown): string {
  return e instanceof Error ? e.name : "Error";
}

/** A container's cgroup path cannot be determined from what NRI reported (empty, hostile, malformed). */
export class CgroupPathError extends PluginError {}

/** The container's cgroup directory no longer exists (the container exited or was removed). */
export class CgroupGoneError extends PluginError {
  constructor(
    readonly containerId: string,
    readonly tried: string[],
  ) {
    super(`failed to read cgroup of container ${containerId}: cgroup is gone (tried ${tried.join(", ")})`);
  }
}

/** A cgroup file could not be read or held something other than task IDs. */
export class CgroupReadError extends PluginError {}

/** A group name collision between two pod UIDs (guard against lossy UID sanitization). */
export class GroupNameCollisionError extends PluginError {
  constructor(podUid: string, path: string) {
    super(`failed to create group for pod ${JSON.stringify(podUid)}: ${path} is already used by another pod`);
  }
}
