// toNriPod / toNriContainer: the decoded message's fields, defaults for missing ones, and maps taken
// over as they were decoded (hostile keys cannot reach a prototype).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import fc from "fast-check";
import { Container, PodSandbox, SynchronizeRequest } from "./gen/nri/api.js";
import { decodeSyncChunk, fromNriContainer, fromNriPod, toNriContainer, toNriPod } from "./convert.js";
import { NriContainerState, type NriContainer, type NriPod } from "./types.js";

describe("toNriPod / toNriContainer", () => {
  it("missing messages and fields become empty values", () => {
    assert.deepEqual(toNriPod(undefined), {
      id: "",
      name: "",
      uid: "",
      namespace: "",
      labels: {},
      annotations: {},
      cgroupParent: "",
      cgroupsPath: "",
      pid: 0,
    });
    const c = toNriContainer(undefined);
    assert.equal(c.state, NriContainerState.UNKNOWN);
    assert.deepEqual([c.labels, c.annotations, c.cgroupsPath, c.pid], [{}, {}, "", 0]);
  });

  it("hostile map keys survive a wire round trip as own data, never as a prototype", () => {
    const labels = JSON.parse(
      '{"__proto__": {"polluted": "yes"}, "constructor": "c", "app": "web"}',
    ) as Record<string, string>;
    labels["__proto__"] = "x"; // an own string-valued "__proto__" key, as a hostile runtime could send
    const pod = toNriPod(
      PodSandbox.decode(PodSandbox.encode(fromNriPod({ ...toNriPod(undefined), id: "sb", labels })).finish()),
    );
    assert.equal(Object.getPrototypeOf(pod.labels), Object.prototype);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(pod.labels.app, "web");
    assert.equal(Object.hasOwn(pod.labels, "constructor") && pod.labels.constructor, "c");
    const ctr = toNriContainer(
      Container.decode(
        Container.encode(
          fromNriContainer({
            ...toNriContainer(undefined),
            id: "c1",
            annotations: labels,
            cgroupsPath: "/k/c1",
            pid: 7,
          }),
        ).finish(),
      ),
    );
    assert.equal(Object.getPrototypeOf(ctr.annotations), Object.prototype);
    assert.deepEqual([ctr.id, ctr.cgroupsPath, ctr.pid, ctr.annotations.app], ["c1", "/k/c1", 7, "web"]);
  });
});

describe("toNriContainer with the pod's id", () => {
  it("keeps the container's own podSandboxId unless it equals the pod's (then the pod's string)", () => {
    const c = fromNriContainer({ ...toNriContainer(undefined), id: "c1", podSandboxId: "sb1" });
    assert.equal(toNriContainer(c, "sb1").podSandboxId, "sb1");
    assert.equal(toNriContainer(c, "sb2").podSandboxId, "sb1", "another pod's id never replaces it");
    assert.equal(toNriContainer(c).podSandboxId, "sb1");
    assert.equal(toNriContainer({ ...c, podSandboxId: "" }, "sb1").podSandboxId, "");
  });
});

describe("decodeSyncChunk", () => {
  /** One wire field of a SynchronizeRequest, or a field the decoder must skip or stop at. */
  type Field =
    | { kind: "pod"; n: number }
    | { kind: "container"; n: number }
    | { kind: "more"; v: boolean }
    | { kind: "unknown"; field: number; wire: 0 | 1 | 2 | 5 }
    | { kind: "wrongWire" };

  function encode(fields: readonly Field[]): Uint8Array {
    const w = new BinaryWriter();
    for (const f of fields) {
      if (f.kind === "pod")
        PodSandbox.encode(
          fromNriPod({ ...toNriPod(undefined), id: `sb${f.n}`, uid: `u${f.n}`, labels: { app: `a${f.n}` } }),
          w.uint32(10).fork(),
        ).join();
      else if (f.kind === "container")
        Container.encode(
          fromNriContainer({
            ...toNriContainer(undefined),
            id: `c${f.n}`,
            podSandboxId: `sb${f.n}`,
            pid: f.n,
          }),
          w.uint32(18).fork(),
        ).join();
      else if (f.kind === "more") w.uint32(24).bool(f.v);
      else if (f.kind === "wrongWire")
        w.uint32((1 << 3) | 0).uint32(5); // field 1 as a varint: skipped
      else {
        w.uint32((f.field << 3) | f.wire);
        if (f.wire === 0) w.uint64(123);
        else if (f.wire === 1) w.fixed64(7);
        else if (f.wire === 2) w.bytes(new Uint8Array([1, 2, 3]));
        else w.fixed32(9);
      }
    }
    return w.finish();
  }

  function viaGenerated(bytes: Uint8Array): { pods: NriPod[]; containers: NriContainer[]; more: boolean } {
    const r = SynchronizeRequest.decode(bytes);
    return {
      pods: r.pods.map(toNriPod),
      containers: r.containers.map((c) => toNriContainer(c)),
      more: r.more,
    };
  }

  function viaChunk(bytes: Uint8Array): { pods: NriPod[]; containers: NriContainer[]; more: boolean } {
    const pods: NriPod[] = [];
    const containers: NriContainer[] = [];
    const more = decodeSyncChunk(
      bytes,
      (p) => pods.push(p),
      (c) => containers.push(c),
    );
    return { pods, containers, more };
  }

  it("converts what SynchronizeRequest.decode + toNriPod/toNriContainer would, field for field (property)", () => {
    const field: fc.Arbitrary<Field> = fc.oneof(
      fc.record({ kind: fc.constant("pod" as const), n: fc.nat(99) }),
      fc.record({ kind: fc.constant("container" as const), n: fc.nat(99) }),
      fc.record({ kind: fc.constant("more" as const), v: fc.boolean() }),
      fc.record({
        kind: fc.constant("unknown" as const),
        field: fc.integer({ min: 4, max: 2000 }),
        wire: fc.constantFrom(0 as const, 1 as const, 2 as const, 5 as const),
      }),
      fc.constant({ kind: "wrongWire" as const }),
    );
    fc.assert(
      fc.property(fc.array(field, { maxLength: 12 }), (fields) => {
        const bytes = encode(fields);
        assert.deepEqual(viaChunk(bytes), viaGenerated(bytes));
      }),
    );
  });

  it("an empty chunk is no pod, no container, more=false; a zero tag ends the message", () => {
    assert.deepEqual(viaChunk(new Uint8Array(0)), { pods: [], containers: [], more: false });
    const bytes = new Uint8Array([
      ...encode([{ kind: "pod", n: 1 }]),
      0,
      ...encode([{ kind: "container", n: 2 }]),
    ]);
    assert.deepEqual(viaChunk(bytes), viaGenerated(bytes));
    assert.equal(viaChunk(bytes).containers.length, 0, "nothing after the zero tag");
  });

  it("a truncated chunk throws, as the generated decoder does", () => {
    const bytes = encode([{ kind: "pod", n: 1 }]).subarray(0, 5);
    assert.throws(() => SynchronizeRequest.decode(bytes));
    assert.throws(() => viaChunk(bytes));
  });
});
