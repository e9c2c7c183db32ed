import { status, type ServiceError } from "@grpc/grpc-js";
import { Metadata } from "@grpc/grpc-js";

/**
 * Maps a plugin/resctrl error to a gRPC status (by class name, so it works across module copies):
 * unknown pod/container → NOT_FOUND, CapacityError (RMIDs exhausted) → RESOURCE_EXHAUSTED,
 * RmidLimboError (no RMID free yet, freed ones still in limbo: busy, retry later) → UNAVAILABLE, gone cgroup / not
 * mounted / unsupported → FAILED_PRECONDITION, NoPermissionError → PERMISSION_DENIED, bad
 * arguments → INVALID_ARGUMENT, anything else → INTERNAL. Pure.
 */
export function grpcCodeOf(err: unknown): status {
  const name = err instanceof Error ? err.name : "";
  switch (name) {
    case "PodNotFoundError":
    case "ContainerNotFoundError":
      return status.NOT_FOUND;
    case "CapacityError":
      return status.RESOURCE_EXHAUSTED;
    case "RmidLimboError":
      return status.UNAVAILABLE;
    case "CgroupGoneError":
    case "NotMountedError":
    case "UnsupportedError":
    case "GroupNameCollisionError":
      return status.FAILED_PRECONDITION;
    case "NoPermissionError":
      return status.PERMISSION_DENIED;
    case "InvalidPidError":
    case "InvalidConfigError":
    case "CgroupPathError":
      return status.INVALID_ARGUMENT;
    default:
      return status.INTERNAL;
  }
}

/** A `ServiceError`-shaped object for a grpc-js callback; `details` carries the message. */
export function toServiceError(err: unknown): Partial<ServiceError> {
  const message = err instanceof Error ? err.message : String(err);
  const md = new Metadata();
  md.set("error-class", err instanceof Error ? err.name : "Error");
  return { code: grpcCodeOf(err), details: message, message, metadata: md };
}
