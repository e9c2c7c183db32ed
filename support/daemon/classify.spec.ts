// How the daemon driver classifies failed control-API retries: the real control server
// (src/control/server.ts) in front of a plugin stand-in that throws the plugin's own error
// classes, and the real ControlClient, as the containerd and hardware worlds drive the daemon.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { status, type ServiceError } from "@grpc/grpc-js";
import { ControlClient } from "../../src/control/client.js";
import { ControlApiServer, type ControlTarget } from "../../src/control/server.js";
import { CapacityError, RmidLimboError } from "../../src/resctrl/errors.js";
import { classifyControlError, classifyRetryError } from "./classify.js";

/** A plugin whose group-creation retry fails with whatever {@link failWith} holds. */
function failingPlugin(failWith: { err: Error }): ControlTarget {
  return {
    retryGroupCreation: async () => {
      throw failWith.err;
    },
    retryContainerReconcile: async () => {
      throw failWith.err;
    },
    retryAllOnce: async () => {
      throw failWith.err;
    },
  } as unknown as ControlTarget;
}

/** The error the control client rejects with. */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => assert.fail("the call succeeded"),
    (err: unknown) => err,
  );
}

describe("classifyControlError over the real control API", () => {
  const dir = mkdtempSync(join(tmpdir(), "ctl-classify-"));
  const failWith = { err: new Error("unset") };
  let server: ControlApiServer;
  let client: ControlClient;

  before(async () => {
    const socketPath = join(dir, "control.sock");
    server = await ControlApiServer.listen({ socketPath, plugin: failingPlugin(failWith) });
    client = await ControlClient.connect(socketPath);
  });

  after(async () => {
    client?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const cases: Array<[string, Error]> = [
    [
      "RmidLimboError",
      new RmidLimboError("failed to create group pod_x: RMIDs in limbo, retry later", { code: "EBUSY" }),
    ],
    ["CapacityError", new CapacityError("failed to create group pod_x: out of RMIDs", { code: "ENOSPC" })],
    ["PodNotFoundError", Object.assign(new Error("failed to find pod x"), { name: "PodNotFoundError" })],
    ["IoError", Object.assign(new Error("failed to read tasks: EIO"), { name: "IoError" })],
  ];
  for (const [name, err] of cases) {
    it(`${name}: the same outcome as the in-process classification`, async () => {
      failWith.err = err;
      const got = classifyControlError(await rejection(client.retryGroupCreation("x")), "pod-not-found");
      assert.deepEqual(got, classifyRetryError(err));
    });
  }

  it("RmidLimboError arrives as UNAVAILABLE and becomes a capacity error in limbo", async () => {
    failWith.err = new RmidLimboError("RMIDs in limbo, retry later");
    const e = (await rejection(client.retryAllOnce())) as ServiceError;
    assert.equal(e.code, status.UNAVAILABLE);
    assert.deepEqual(classifyControlError(e, "pod-not-found"), {
      ok: false,
      error: "capacity",
      limbo: true,
      message: "RMIDs in limbo, retry later",
    });
  });

  it("CapacityError arrives as RESOURCE_EXHAUSTED and becomes a capacity error without limbo", async () => {
    failWith.err = new CapacityError("out of RMIDs");
    const e = (await rejection(client.retryContainerReconcile("c"))) as ServiceError;
    assert.equal(e.code, status.RESOURCE_EXHAUSTED);
    assert.deepEqual(classifyControlError(e, "container-not-found"), {
      ok: false,
      error: "capacity",
      message: "out of RMIDs",
    });
  });
});

describe("classifyControlError without the control API's error class", () => {
  it("an UNAVAILABLE of the transport (daemon unreachable) is no limbo", () => {
    const e = Object.assign(new Error("14 UNAVAILABLE: No connection established"), {
      code: status.UNAVAILABLE,
      details: "No connection established",
    });
    assert.deepEqual(classifyControlError(e, "pod-not-found"), {
      ok: false,
      error: "other",
      message: "No connection established",
    });
  });

  it("NOT_FOUND maps to the caller's not-found kind; a plain Error to other", () => {
    const nf = Object.assign(new Error("5 NOT_FOUND: x"), { code: status.NOT_FOUND, details: "x" });
    assert.deepEqual(classifyControlError(nf, "container-not-found"), {
      ok: false,
      error: "container-not-found",
      message: "x",
    });
    assert.deepEqual(classifyControlError(new Error("boom"), "pod-not-found"), {
      ok: false,
      error: "other",
      message: "boom",
    });
  });
});
