// Fault: an events() subscriber that never reads while the plugin emits far more events than its
// queue holds. Emitting must not block, every dropped event is counted, and a consumer that folds
// its buffered events and then snapshot() ends with exactly the state a lossless listener built.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { PodResctrlEvent } from "../src/plugin/events.js";
import { ctr, harness, pod } from "./support/plugin-harness.js";

type View = Map<string, string>;

function fold(view: View, e: PodResctrlEvent): void {
  if (e.kind === "Removed") view.delete(e.podUid);
  else view.set(e.podUid, `${e.groupState.kind} ${e.totalContainers}/${e.reconciledContainers}`);
}

describe("fault: slow consumer fills the event queue", () => {
  it("drops are counted exactly; buffered events + snapshot() rebuild the lossless view", async () => {
    const capacity = 8;
    const h = harness({ cfg: { eventQueueCapacity: capacity } });
    const slow = h.plugin.events();
    const pods = Array.from({ length: 40 }, (_, i) => pod(`u${i}`));
    const ctrs = pods.flatMap((p, i) => [ctr(`a${i}`, p.id), ctr(`b${i}`, p.id)]);
    for (const [i, c] of ctrs.entries()) h.pids.setPids(c.id, [100 + i]);
    await h.plugin.synchronize(pods, ctrs);
    await h.plugin.idle();
    for (let i = 0; i < 10; i++) await h.plugin.removePodSandbox(pods[i]!);

    const emitted = h.events.length;
    assert.equal(emitted, 40 * 3 + 10, "0/0, 1/1, 2/2 per pod, then 10 Removed");
    assert.equal(h.plugin.droppedEvents, emitted - capacity);

    const truth: View = new Map();
    for (const e of h.events) fold(truth, e);

    const view: View = new Map();
    for (let i = 0; i < capacity; i++) {
      const r = await slow.next();
      assert.equal(r.done, false);
      fold(view, r.value as PodResctrlEvent);
    }
    assert.notDeepEqual(view, truth, "the buffered events alone are stale");
    view.clear();
    for (const s of h.plugin.snapshot())
      view.set(s.podUid, `${s.groupState.kind} ${s.totalContainers}/${s.reconciledContainers}`);
    assert.deepEqual(view, truth);

    // The subscription keeps working after the overflow.
    await h.plugin.removePodSandbox(pods[10]!);
    assert.deepEqual(await slow.next(), {
      value: { kind: "Removed", podUid: "u10", podName: "name-u10", podNamespace: "default" },
      done: false,
    });
    slow.close();
    await h.plugin.close();
  });

  it("a stuck subscriber does not slow or block the handlers of other consumers", async () => {
    const h = harness({ cfg: { eventQueueCapacity: 1 } });
    const stuck = h.plugin.events();
    const live = h.plugin.events();
    const seen: string[] = [];
    const reader = (async () => {
      for await (const e of live) seen.push(e.podUid);
    })();
    for (let i = 0; i < 50; i++) await h.plugin.runPodSandbox(pod(`p${i}`));
    await h.plugin.close();
    await reader;
    assert.equal(seen.length, 50, "the reading subscriber lost nothing");
    assert.equal(h.plugin.droppedEvents, 49, "only the stuck one dropped");
    stuck.close();
  });
});
