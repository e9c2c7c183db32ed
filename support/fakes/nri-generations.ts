/**
 * How each NRI generation's runtime side talks to an external plugin, as the fake runtime
 * reproduces it. Facts from containerd/nri's pkg/adaptation at the tags named (see
 * docs/writing-scenarios.md and ../shared/docs/runtime-versions.md):
 *
 * | generation | runtimes | valid events | Configure timeouts | Synchronize | per-event RPCs | mux frame cap |
 * |---|---|---|---|---|---|---|
 * | v0.6 | containerd 1.7.16–1.7.25 | 0x7ff | no | one message, any size | no | 16 MiB |
 * | v0.8 | containerd 1.7.26+, 2.0, 2.1, k3s 1.32 | 0x7ff | yes | one message; split on ResourceExhausted | no | 10 + 4 MiB |
 * | v0.10 | containerd 2.2 | 0x3fff | yes | as v0.8 | no | 10 + 4 MiB |
 * | v0.12 | containerd 2.3 | 0x3fff | yes | as v0.8 | yes: dedicated RPC first, StateChange for good after UNIMPLEMENTED | 10 + 4 MiB |
 */
import { NriEvent } from "../../src/nri/types.js";

/** The NRI generations the fake runtime speaks. */
export const NRI_GENERATIONS = ["v0.6", "v0.8", "v0.10", "v0.12"] as const;
export type NriGeneration = (typeof NRI_GENERATIONS)[number];

/** What a generation's runtime does, for the fake runtime. */
export interface NriGenerationProfile {
  generation: NriGeneration;
  /** The NRI module version string (`ConfigureRequest.NRI_version` on v0.12+, else ""). */
  moduleVersion: string;
  /** A runtime version that speaks it (ConfigureRequest.runtime_version). */
  runtimeVersion: string;
  /** Events a plugin may subscribe to; a mask with other bits fails Configure. `events = 0` means all of these. */
  validEvents: number;
  /** ConfigureRequest carries registration_timeout / request_timeout (ms). */
  configureTimeouts: boolean;
  /** Synchronize is retried in smaller chunks (`more`) when ttrpc refuses an oversized message. */
  splitsSync: boolean;
  /** Largest mux frame payload the runtime writes; bigger writes are split (v0.8+) into several frames. */
  maxFramePayload: number;
  /** Events first sent through their dedicated RPC (v0.12+), with the RPC name. */
  dedicatedRpcs: ReadonlyMap<NriEvent, string>;
}

/** ttrpc's default maximum message length: a larger message is refused with ResourceExhausted (Go ttrpc ≥ 1.2.6). */
export const TTRPC_MAX_MESSAGE_LENGTH = 4 << 20;
/** The smallest chunk (pods + containers) the runtime tries before giving up (nri v0.8 `minObjsPerMsg`). */
export const MIN_OBJECTS_PER_SYNC_MESSAGE = 8;

const V012_DEDICATED: ReadonlyMap<NriEvent, string> = new Map([
  [NriEvent.RUN_POD_SANDBOX, "RunPodSandbox"],
  [NriEvent.STOP_POD_SANDBOX, "StopPodSandbox"],
  [NriEvent.REMOVE_POD_SANDBOX, "RemovePodSandbox"],
  [NriEvent.POST_CREATE_CONTAINER, "PostCreateContainer"],
  [NriEvent.START_CONTAINER, "StartContainer"],
  [NriEvent.POST_START_CONTAINER, "PostStartContainer"],
  [NriEvent.POST_UPDATE_CONTAINER, "PostUpdateContainer"],
  [NriEvent.REMOVE_CONTAINER, "RemoveContainer"],
]);

const PROFILES: Record<NriGeneration, NriGenerationProfile> = {
  "v0.6": {
    generation: "v0.6",
    moduleVersion: "",
    runtimeVersion: "1.7.24-fake",
    validEvents: 0x7ff,
    configureTimeouts: false,
    splitsSync: false,
    maxFramePayload: 1 << 24,
    dedicatedRpcs: new Map(),
  },
  "v0.8": {
    generation: "v0.8",
    moduleVersion: "",
    runtimeVersion: "2.1.9-fake",
    validEvents: 0x7ff,
    configureTimeouts: true,
    splitsSync: true,
    maxFramePayload: 10 + (4 << 20),
    dedicatedRpcs: new Map(),
  },
  "v0.10": {
    generation: "v0.10",
    moduleVersion: "",
    runtimeVersion: "2.2.0-fake",
    validEvents: 0x3fff,
    configureTimeouts: true,
    splitsSync: true,
    maxFramePayload: 10 + (4 << 20),
    dedicatedRpcs: new Map(),
  },
  "v0.12": {
    generation: "v0.12",
    moduleVersion: "v0.12.0",
    runtimeVersion: "2.3.0-fake",
    validEvents: 0x3fff,
    configureTimeouts: true,
    splitsSync: true,
    maxFramePayload: 10 + (4 << 20),
    dedicatedRpcs: V012_DEDICATED,
  },
};

/** The profile of a generation. */
export function nriGeneration(g: NriGeneration): NriGenerationProfile {
  return PROFILES[g];
}

/** Parses a generation name ("v0.8", "0.8", "v0.8.0"); throws naming the accepted values. */
export function parseNriGeneration(value: unknown): NriGeneration {
  const s = String(value).trim().replace(/^v?/, "v").replace(/\.0$/, "");
  const g = NRI_GENERATIONS.find((x) => x === s);
  if (!g)
    throw new Error(
      `failed to parse NRI generation ${JSON.stringify(value)}: use one of ${NRI_GENERATIONS.join(", ")}`,
    );
  return g;
}

/**
 * The mux frame payloads a Go runtime writes for one ttrpc message (header + payload): ttrpc writes
 * through a 4096-byte `bufio.Writer` over the mux connection, whose `Write` splits anything larger
 * than `maxFramePayload` into several frames. So: a first frame of at most 4096 bytes (header and
 * the start of the payload), then the rest as frames of at most `maxFramePayload` when it does not
 * fit the buffer, else one tail frame. Pure.
 */
export function goWriterFrames(message: Buffer, maxFramePayload: number): Buffer[] {
  const BUF = 4096;
  if (message.length <= BUF) return [message];
  const out: Buffer[] = [message.subarray(0, BUF)];
  let rest = message.subarray(BUF);
  if (rest.length <= BUF) return [...out, rest]; // buffered, then flushed as a tail frame
  while (rest.length > 0) {
    out.push(rest.subarray(0, maxFramePayload));
    rest = rest.subarray(maxFramePayload);
  }
  return out;
}
