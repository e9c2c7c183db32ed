// ResctrlPlugin.synchronize beyond plugin.spec.ts: containers listed STOPPED in sandboxes the
// resync does not list (NoPod, owned by a pod, unknown), the pod lock their stop takes, the
// summary records, and failures of a pod's section or of the background reconciles (logged, never
// thrown to the runtime).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { memoryLogger } from "../../support/worlds/shared/log-capture.js";
import { ROOT, ctr, gate, harness, pod, until, type LogLine } from "../../test/support/plugin-harness.js";
import { MemFs } from "../memfs/mem-fs.js";
import { NriContainerState } from "../nri/types.js";
import { Resctrl } from "../resctrl/index.js";
import { MockPidSource } from "../testing/mock-pid-source.js";
import type { PodResctrlEvent } from "./events.js";
import { ResctrlPlugin } from "./plugin.js";

const STOPPED = NriContainerState.STOPPED;

/** Resolves after `n` turns of the event loop (lets queued work run; no timer). */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

/**
 * A plugin like the harness's, whose logger throws when `throwOn(msg, fields)` says so (a
 * failure inside a pod's section or a background reconcile), keeping every other record.
 */
function throwingLogger(throwOn: (msg: string, fields: Record<string, unknown>) => boolean) {
  const { logger, records } = memoryLogger("debug", {
    hooks: {
      logMethod(args, method) {
        const [first, second] = args as unknown[];
        const fields = typeof first === "object" && first !== null ? (first as Record<string, unknown>) : {};
        const msg = typeof first === "string" ? first : String(second);
        if (throwOn(msg, fields)) throw new Error(`logger refused ${msg}`);
        return method.apply(this, args);
      },
    },
  });
  const logs = records as LogLine[];
  const fs = MemFs.withResctrl({ root: ROOT });
  const resctrl = Resctrl.withProvider(fs, { root: ROOT, groupPrefix: "pod_" });
  const pids = new MockPidSource();
  const plugin = ResctrlPlugin.withPidSource({}, resctrl, pids, { logger });
  const events: PodResctrlEvent[] = [];
  plugin.onEvent((e) => events.push(e));
  return { plugin, pids, logs, events };
}

describe("ResctrlPlugin.synchronize: containers listed STOPPED outside the listed sandboxes", () => {
  it("a NoPod container is recorded Stopped; an unknown one of an unknown sandbox is ignored", async () => {
    const h = harness();
    await h.plugin.startContainer(pod("x"), ctr("c0", "sb-x")); // its pod is unknown: NoPod
    assert.equal(h.plugin.unassignedContainers()[0]?.state, "NoPod");
    await h.plugin.synchronize([], [ctr("c0", "sb-x", STOPPED), ctr("c9", "sb-y", STOPPED)]);
    await h.plugin.idle();
    assert.deepEqual(
      h.plugin.unassignedContainers().map((c) => [c.id, c.state]),
      [["c0", "Stopped"]],
    );
    assert.deepEqual(h.events, []);
  });

  it("a container listed STOPPED without a sandbox id is stopped in the pod that owns it", async () => {
    const h = harness();
    const p = pod("u1");
    h.pids.setPids("c1", [11]);
    await h.plugin.runPodSandbox(p);
    await h.plugin.startContainer(p, ctr("c1", "")); // the event's pod gives its sandbox
    await h.plugin.synchronize([p], [ctr("c1", "", STOPPED)]);
    await h.plugin.idle();
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Exists 1/1", "u1 Exists 0/0"]);
    assert.equal(h.plugin.snapshot()[0]?.containers[0]?.state, "Stopped");
  });

  it("…and that stop waits for the owning pod's START in flight (the pod's lock)", async () => {
    const h = harness();
    const p = pod("u1");
    h.pids.setPids("c1", [11]);
    await h.plugin.runPodSandbox(p);
    await h.plugin.startContainer(p, ctr("c1", ""));
    const hold = gate<number[]>();
    let asked = false;
    h.pids.setFn("c2", () => {
      asked = true;
      return hold.promise;
    });
    const starting = h.plugin.startContainer(p, ctr("c2", p.id));
    await until(() => asked);
    const syncing = h.plugin.synchronize([p], [ctr("c1", "", STOPPED), ctr("c2", p.id)]);
    await turns(5);
    hold.open([21]);
    await starting;
    await syncing;
    await h.plugin.idle();
    assert.deepEqual(h.trace(), ["u1 Exists 0/0", "u1 Exists 1/1", "u1 Exists 2/2", "u1 Exists 1/1"]);
  });
});

describe("ResctrlPlugin.synchronize: summary records and failures", () => {
  it("the background summary says how long the Synchronize took", async () => {
    const h = harness();
    h.pids.setPids("c1", [11]);
    await h.plugin.synchronize([pod("u1")], [ctr("c1", "sb-u1")]);
    await h.plugin.idle();
    const summary = h.logs.find((l) => l.msg === "reconciled the synchronized containers");
    assert.equal(summary?.containers, 1);
    const ms = summary?.durationMs as number;
    assert.ok(ms >= 0 && ms < 60_000, String(ms));
  });

  it("a pod whose section fails is logged with the error; the other pods are still added", async () => {
    const h = throwingLogger((msg, f) => msg === "pod event" && f.podUid === "bad");
    await h.plugin.synchronize([pod("bad"), pod("u1")], []);
    await h.plugin.idle();
    const failed = h.logs.filter((l) => l.msg === "failed to add a synchronized pod");
    assert.equal(failed.length, 1);
    assert.match(String((failed[0]?.err as { message?: string } | undefined)?.message), /logger refused/);
    assert.deepEqual(
      h.events.map((e) => e.podUid),
      ["u1"],
    );
  });

  it("a background reconcile that fails is logged with the error, never thrown", async () => {
    const h = throwingLogger((msg) => msg === "reconciled the synchronized containers");
    h.pids.setPids("c1", [11]);
    await h.plugin.synchronize([pod("u1")], [ctr("c1", "sb-u1")]);
    await h.plugin.idle();
    const failed = h.logs.filter((l) => l.msg === "background reconcile failed");
    assert.equal(failed.length, 1);
    assert.equal(failed[0]?.level, 50);
    assert.match(String((failed[0]?.err as { message?: string } | undefined)?.message), /logger refused/);
  });
});
