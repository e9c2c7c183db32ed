// grpcCodeOf: the gRPC status a control-API call answers for each error of the plugin and resctrl
// layers.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { CapacityError, RmidLimboError } from "../resctrl/errors.js";
import { grpcCodeOf } from "./status.js";

describe("grpcCodeOf", () => {
  it("maps error classes to gRPC codes", () => {
    const named = (name: string) => Object.assign(new Error("x"), { name });
    assert.equal(grpcCodeOf(named("PodNotFoundError")), status.NOT_FOUND);
    assert.equal(grpcCodeOf(named("CapacityError")), status.RESOURCE_EXHAUSTED);
    assert.equal(grpcCodeOf(named("CgroupGoneError")), status.FAILED_PRECONDITION);
    assert.equal(grpcCodeOf(named("NoPermissionError")), status.PERMISSION_DENIED);
    assert.equal(grpcCodeOf("not an error"), status.INTERNAL);
  });

  it("RMIDs in limbo answer UNAVAILABLE (retry later), RMID exhaustion RESOURCE_EXHAUSTED", () => {
    assert.equal(grpcCodeOf(new RmidLimboError("busy")), status.UNAVAILABLE);
    assert.equal(grpcCodeOf(new CapacityError("full")), status.RESOURCE_EXHAUSTED);
  });
});
