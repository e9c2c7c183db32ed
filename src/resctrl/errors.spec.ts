import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import {
  CapacityError,
  IoError,
  NoPermissionError,
  ResctrlError,
  errnoCode,
  errnoError,
  mapFsError,
} from "./errors.js";

describe("errors", () => {
  it("errnoCode narrows unknown values", () => {
    assert.equal(errnoCode(errnoError("ENOENT", "x")), "ENOENT");
    assert.equal(errnoCode({ code: "EACCES" }), "EACCES");
    assert.equal(errnoCode({ code: "ERR_INVALID_ARG_TYPE" }), undefined);
    assert.equal(errnoCode(new Error("plain")), undefined);
    assert.equal(errnoCode(null), undefined);
    assert.equal(errnoCode("ENOENT"), undefined);
  });

  it("errnoError builds a Node-style error", () => {
    const e = errnoError("ENOSPC", "full", "/a");
    assert.equal(e.code, "ENOSPC");
    assert.equal(e.errno, -28);
    assert.equal(e.path, "/a");
  });

  it("mapFsError: EACCES/EPERM → NoPermission, ENOSPC → Capacity, others and non-errno → Io", () => {
    const site = { verb: "create", object: "monitor group", id: "g", path: "/r/g" };
    const cases: [unknown, typeof ResctrlError][] = [
      [errnoError("EACCES", "x"), NoPermissionError],
      [errnoError("EPERM", "x"), NoPermissionError],
      [errnoError("ENOSPC", "x"), CapacityError],
      [errnoError("EBUSY", "x"), IoError],
      [new Error("weird"), IoError],
    ];
    for (const [err, cls] of cases) {
      const mapped = mapFsError(err, site);
      assert.ok(mapped instanceof cls);
      assert.ok(mapped instanceof ResctrlError);
      assert.equal(mapped.cause, err);
      assert.equal(mapped.path, "/r/g");
      assert.match(mapped.message, /^failed to create monitor group g: /);
      assert.equal(mapped.name, cls.name);
    }
    const withStatus = mapFsError(errnoError("EINVAL", "x"), { ...site, kernelStatus: "Bad thing" });
    assert.equal(withStatus.kernelStatus, "Bad thing");
    assert.match(withStatus.message, /kernel: Bad thing/);
    assert.equal(withStatus.errno, -22);
  });
});
