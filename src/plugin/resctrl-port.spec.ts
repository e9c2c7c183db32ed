// The plugin's view of resctrl errors: which count as capacity (retry later, stop a retry pass).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CapacityError, RmidLimboError } from "../resctrl/errors.js";
import { isCapacityError, isRmidLimboError } from "./resctrl-port.js";

describe("isCapacityError / isRmidLimboError", () => {
  it("RmidLimboError (EBUSY: freed RMIDs in limbo) is a capacity error; plain exhaustion is not limbo", () => {
    const busy = new RmidLimboError("busy");
    const full = new CapacityError("full");
    assert.equal(isCapacityError(busy), true);
    assert.equal(isRmidLimboError(busy), true);
    assert.equal(isRmidLimboError(full), false);
  });
});
