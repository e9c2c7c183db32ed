import { createHash } from "node:crypto";
import { posix } from "node:path";
import { InvalidConfigError } from "./errors.js";

/** Default mount point of the resctrl filesystem. */
export const DEFAULT_RESCTRL_ROOT = "/sys/fs/resctrl";
/** Default prefix of every group this layer creates (and the only groups cleanup touches). */
export const DEFAULT_GROUP_PREFIX = "pod_";
/** Longest allowed group prefix. */
export const MAX_GROUP_PREFIX_LENGTH = 32;
/** Longest kept part of a sanitized pod UID (before the collision suffix). */
export const MAX_UID_PART_LENGTH = 63;
/** Characters allowed in a prefix and kept from a UID. */
export const SAFE_NAME_PATTERN = /^[A-Za-z0-9_-]+$/;
/** Hex characters of sha256(uid) appended when sanitizing changed the UID. */
export const UID_HASH_LENGTH = 10;
/** UID part used when nothing of the UID survives sanitizing (a hash suffix is always added). */
export const UNKNOWN_UID_PART = "unknown";

/** Names ending like this are reserved for hashed UIDs; a clean UID of that shape is hashed too. */
const HASHED_SUFFIX = new RegExp(`-h[0-9a-f]{${UID_HASH_LENGTH}}$`);

/** Throws {@link InvalidConfigError} unless `prefix` is non-empty, `[A-Za-z0-9_-]` only, ≤ 32 chars. */
export function validatePrefix(prefix: string): string {
  if (typeof prefix !== "string" || prefix.length === 0) {
    throw new InvalidConfigError(`failed to validate group prefix "${String(prefix)}": must not be empty`);
  }
  if (prefix.length > MAX_GROUP_PREFIX_LENGTH) {
    throw new InvalidConfigError(
      `failed to validate group prefix "${prefix}": longer than ${MAX_GROUP_PREFIX_LENGTH} characters`,
    );
  }
  if (!SAFE_NAME_PATTERN.test(prefix)) {
    throw new InvalidConfigError(
      `failed to validate group prefix "${prefix}": only letters, digits, '-' and '_' are allowed`,
    );
  }
  return prefix;
}

/** Throws {@link InvalidConfigError} unless `root` is absolute, normalized, not `/`, without a trailing slash. */
export function validateRoot(root: string): string {
  if (typeof root !== "string" || !posix.isAbsolute(root)) {
    throw new InvalidConfigError(
      `failed to validate resctrl root "${String(root)}": must be an absolute path`,
    );
  }
  if (root === "/" || posix.normalize(root) !== root || root.endsWith("/") || root.includes("\0")) {
    throw new InvalidConfigError(
      `failed to validate resctrl root "${root}": must be normalized (no '..', '.', '//' or trailing '/') and not '/'`,
    );
  }
  return root;
}

/**
 * Pure: the UID part of a group name. Keeps ASCII letters, digits, `-`, `_`, truncated to
 * {@link MAX_UID_PART_LENGTH}; empty → {@link UNKNOWN_UID_PART}. If that changed the UID in any
 * way, appends `-h` + the first {@link UID_HASH_LENGTH} hex chars of sha256(uid), so two
 * different UIDs never share a group. A clean UID (≤ 63 safe chars) maps to itself, unless it
 * already ends in `-h<10 hex>` (the reserved hashed shape): then it is hashed too, so a crafted
 * clean UID can never take a hashed UID's name.
 */
export function sanitizeUid(podUid: string): string {
  const kept = podUid.replace(/[^A-Za-z0-9_-]/g, "");
  const truncated = kept.slice(0, MAX_UID_PART_LENGTH);
  if (truncated === podUid && truncated.length > 0 && !HASHED_SUFFIX.test(truncated)) return truncated;
  const base = truncated.length > 0 ? truncated : UNKNOWN_UID_PART;
  const hash = createHash("sha256").update(podUid, "utf8").digest("hex").slice(0, UID_HASH_LENGTH);
  return `${base}-h${hash}`;
}
