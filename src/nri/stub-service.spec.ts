import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pino } from "pino";
import { Event, PodSandbox, StateChangeEvent, SynchronizeRequest } from "./gen/nri/api.js";
import { registerPluginService } from "./stub-service.js";
import type { CallContext, MethodHandler, TtrpcServer } from "./ttrpc-server.js";
import type { NriContainer, NriPod } from "./types.js";

describe("Plugin service", () => {
  it("accepts split Synchronize chunks far larger than a spread argument list", async () => {
    const methods = new Map<string, MethodHandler>();
    const server = { register: (_s: string, m: string, h: MethodHandler) => methods.set(m, h) };
    let got: { pods: NriPod[]; containers: NriContainer[] } | undefined;
    registerPluginService(server as unknown as TtrpcServer, {
      handler: { runPodSandbox: () => undefined },
      derivedMask: 0x1,
      log: pino({ level: "silent" }),
      onConfigured: () => undefined,
      onSynchronized: (pods, containers) => (got = { pods, containers }),
    });
    const sync = methods.get("Synchronize")!;
    const ctx = {} as CallContext;
    const n = 300_000; // push(...chunk) throws RangeError well below this
    const big = SynchronizeRequest.encode({
      pods: new Array<PodSandbox>(n).fill(PodSandbox.fromPartial({})),
      containers: [],
      more: true,
    }).finish();
    await sync(Buffer.from(big), ctx);
    const last = SynchronizeRequest.encode({ pods: [], containers: [], more: false }).finish();
    await sync(Buffer.from(last), ctx);
    assert.equal(got?.pods.length, n);
    assert.equal(got?.containers.length, 0);
  });

  it("reports every request's method and duration; StateChange by its event, also when the handler rejects", async () => {
    const methods = new Map<string, MethodHandler>();
    const server = { register: (_s: string, m: string, h: MethodHandler) => methods.set(m, h) };
    const seen: Array<[string, number]> = [];
    registerPluginService(server as unknown as TtrpcServer, {
      handler: {
        startContainer: () => new Promise((r) => setTimeout(r, 20)),
        removeContainer: () => Promise.reject(new Error("boom")),
      },
      derivedMask: 0x1,
      log: pino({ level: "silent" }),
      onConfigured: () => undefined,
      onSynchronized: () => undefined,
      onRequest: (m, s) => seen.push([m, s]),
    });
    const ctx = {} as CallContext;
    const change = (event: Event) =>
      Buffer.from(StateChangeEvent.encode(StateChangeEvent.fromPartial({ event })).finish());
    await methods.get("StateChange")!(change(Event.START_CONTAINER), ctx);
    await assert.rejects(
      async () => methods.get("StateChange")!(change(Event.REMOVE_CONTAINER), ctx),
      /boom/,
    );
    const last = SynchronizeRequest.encode({ pods: [], containers: [], more: false }).finish();
    await methods.get("Synchronize")!(Buffer.from(last), ctx);
    assert.deepEqual(
      seen.map(([m]) => m),
      ["StateChange/START_CONTAINER", "StateChange/REMOVE_CONTAINER", "Synchronize"],
    );
    assert.ok(seen[0]![1] >= 0.015 && seen[0]![1] < 5, `duration in seconds: ${seen[0]![1]}`);
  });
});
