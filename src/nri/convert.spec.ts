// toNriPod / toNriContainer: the decoded message's fields, defaults for missing ones, and maps taken
// over as they were decoded (hostile keys cannot reach a prototype).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Container, PodSandbox } from "./gen/nri/api.js";
import { fromNriContainer, fromNriPod, toNriContainer, toNriPod } from "./convert.js";
import { NriContainerState } from "./types.js";

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
