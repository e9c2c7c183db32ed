import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { httpAddressFromLog, SERVING_HTTP_MSG } from "./daemon-log.js";

describe("httpAddressFromLog", () => {
  it("reads the port the daemon really bound from its log line", () => {
    assert.deepEqual(
      httpAddressFromLog({ level: 30, msg: SERVING_HTTP_MSG, host: "127.0.0.1", port: 40123 }),
      {
        host: "127.0.0.1",
        port: 40123,
      },
    );
    assert.equal(httpAddressFromLog({ msg: "runtime synchronized" }), undefined);
  });

  it("refuses a line that says it serves but names no usable port", () => {
    assert.throws(
      () => httpAddressFromLog({ msg: SERVING_HTTP_MSG, host: "127.0.0.1", port: 0 }),
      /HTTP address/,
    );
    assert.throws(() => httpAddressFromLog({ msg: SERVING_HTTP_MSG, port: 80 }), /HTTP address/);
  });
});
