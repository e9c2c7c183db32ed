import { BinaryReader } from "@bufbuild/protobuf/wire";
import { Container, PodSandbox } from "./gen/nri/api.js";
import { NriContainerState, type NriContainer, type NriPod } from "./types.js";

/**
 * A decoded protobuf map as a record (missing → {}). Not copied: every decoded message is fresh and
 * used once, and copying the maps of thousands of Synchronize containers was measurable. Safe with
 * hostile keys: the generated decoder assigns entries to a plain object, where a `__proto__` key
 * with a string value is dropped by the setter (never a prototype change), and others are own
 * properties.
 */
function record(m: { [key: string]: string } | undefined): Record<string, string> {
  if (m) for (const _ in m) return m;
  return EMPTY_RECORD; // most containers carry no labels or annotations: one shared, frozen {}
}

const EMPTY_RECORD: Record<string, string> = Object.freeze({});

/** Converts a generated `PodSandbox` into an {@link NriPod}; missing fields become "" / 0 / {}. Pure. */
export function toNriPod(p: PodSandbox | undefined): NriPod {
  return {
    id: p?.id ?? "",
    name: p?.name ?? "",
    uid: p?.uid ?? "",
    namespace: p?.namespace ?? "",
    labels: record(p?.labels),
    annotations: record(p?.annotations),
    cgroupParent: p?.linux?.cgroupParent ?? "",
    cgroupsPath: p?.linux?.cgroupsPath ?? "",
    pid: p?.pid ?? 0,
  };
}

/**
 * Converts a generated `Container` into an {@link NriContainer}; missing fields become "" / 0 / {}.
 * An out-of-range state (a newer runtime) is passed through as its number. `sandboxId`, the id of
 * the pod decoded with it, replaces an equal `podSandboxId`: one kept string per sandbox instead
 * of one per container (64 bytes each, kept as long as the container is tracked). Pure.
 */
export function toNriContainer(c: Container | undefined, sandboxId?: string): NriContainer {
  const podSandboxId = c?.podSandboxId ?? "";
  return {
    id: c?.id ?? "",
    podSandboxId: sandboxId !== undefined && podSandboxId === sandboxId ? sandboxId : podSandboxId,
    name: c?.name ?? "",
    state: (c?.state ?? NriContainerState.UNKNOWN) as number as NriContainerState,
    labels: record(c?.labels),
    annotations: record(c?.annotations),
    cgroupsPath: c?.linux?.cgroupsPath ?? "",
    pid: c?.pid ?? 0,
  };
}

/** The inverse of {@link toNriPod} (for the fake runtime and tests). Pure. */
export function fromNriPod(p: NriPod): PodSandbox {
  return {
    id: p.id,
    name: p.name,
    uid: p.uid,
    namespace: p.namespace,
    labels: { ...p.labels },
    annotations: { ...p.annotations },
    runtimeHandler: "",
    linux: { cgroupParent: p.cgroupParent, cgroupsPath: p.cgroupsPath, namespaces: [] },
    pid: p.pid,
    ips: [],
  };
}

/** The inverse of {@link toNriContainer} (for the fake runtime and tests). Pure. */
export function fromNriContainer(c: NriContainer): Container {
  return {
    id: c.id,
    podSandboxId: c.podSandboxId,
    name: c.name,
    state: c.state as number,
    labels: { ...c.labels },
    annotations: { ...c.annotations },
    args: [],
    env: [],
    linux: { namespaces: [], cgroupsPath: c.cgroupsPath },
    pid: c.pid,
    createdAt: 0,
    startedAt: 0,
    finishedAt: 0,
    exitCode: 0,
    statusReason: "",
    statusMessage: "",
  };
}

/**
 * Decodes one Synchronize chunk (`SynchronizeRequest`: 1 pods, 2 containers, 3 more) and converts
 * each pod and container as soon as it is decoded: the generated message of one is garbage before
 * the next is read, instead of a whole chunk of them being live (and surviving young-generation
 * GCs) until the chunk is converted. Same wire rules as `SynchronizeRequest.decode`: a field with
 * an unexpected wire type is skipped, a zero tag or an end-group tag ends the message.
 * `sandboxIds` collects the ids of the pods decoded so far (pass the same map for every chunk of
 * one Synchronize): a container of one of them shares its id string ({@link toNriContainer}).
 * Returns `more`. Throws like the generated decoder on malformed input.
 */
export function decodeSyncChunk(
  payload: Uint8Array,
  onPod: (p: NriPod) => void,
  onContainer: (c: NriContainer) => void,
  sandboxIds: Map<string, string> = new Map(),
): boolean {
  const reader = new BinaryReader(payload);
  let more = false;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag === 10) {
      const pod = toNriPod(PodSandbox.decode(reader, reader.uint32()));
      sandboxIds.set(pod.id, pod.id);
      onPod(pod);
      continue;
    }
    if (tag === 18) {
      const c = Container.decode(reader, reader.uint32());
      onContainer(toNriContainer(c, sandboxIds.get(c.podSandboxId)));
      continue;
    }
    if (tag === 24) {
      more = reader.bool();
      continue;
    }
    if ((tag & 7) === 4 || tag === 0) break;
    reader.skip(tag & 7);
  }
  return more;
}
