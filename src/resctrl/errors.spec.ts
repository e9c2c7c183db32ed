import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import {
  CapacityError,
  IoError,
  NoPermissionError,
  ResctrlError,
  errnoCode,
  errnoError,
  errnoNumber,
  errorMessage,
  mapFsError,
} from "./errors.js";

describe("errnoCode / errnoError / mapFsError", () => {
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

describe("errno helpers on odd inputs", () => {
  it("errnoCode: a function, a non-string code or a non-errno E-code is no errno", () => {
    assert.equal(errnoCode(Object.assign(() => 0, { code: "EIO" })), undefined);
    assert.equal(errnoCode({ code: ["EIO"] }), undefined);
    assert.equal(errnoCode({ code: "ERR_CHILD_PROCESS_STDIO_MAXBUFFER" }), undefined);
  });

  it("errnoNumber never throws and only returns numbers", () => {
    assert.equal(errnoNumber(null), undefined);
    assert.equal(errnoNumber(undefined), undefined);
    assert.equal(errnoNumber({ errno: "5" }), undefined);
    assert.equal(errnoNumber({ errno: -5 }), -5);
  });

  it("errorMessage: an Error's message, String() of anything else", () => {
    assert.equal(errorMessage(new Error("m")), "m");
    assert.equal(errorMessage("s"), "s");
    assert.equal(errorMessage(42), "42");
  });

  it("mapFsError names the errno, or the message of a non-errno error", () => {
    const site = { verb: "create", object: "monitor group", id: "g", path: "/r/g" };
    const busy = mapFsError(errnoError("EBUSY", "x"), site);
    assert.equal(busy.message, "failed to create monitor group g: EBUSY at /r/g");
    assert.equal(
      mapFsError(new Error("weird"), site).message,
      "failed to create monitor group g: weird at /r/g",
    );
  });

  it("errnoError sets errno and path only when known; no cause property without a cause", () => {
    const e = errnoError("EWEIRD", "x");
    assert.equal(Object.hasOwn(e, "errno"), false);
    assert.equal(Object.hasOwn(e, "path"), false);
    assert.equal(Object.hasOwn(new IoError("m"), "cause"), false);
    assert.equal(new IoError("m", { cause: 0 }).cause, 0);
  });
});
