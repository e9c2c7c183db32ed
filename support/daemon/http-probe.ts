import { request } from "node:http";
import type { ProbeAnswer } from "../worlds/types.js";

/** Deadline of one GET against the plugin's HTTP endpoint. */
export const HTTP_GET_TIMEOUT_MS = 10_000;

/**
 * One plain GET (no keep-alive: nothing stays open after the answer) against the plugin's HTTP
 * endpoint; resolves with the status and the whole body, whatever the status. Rejects when nothing
 * answers within `timeoutMs`, naming the URL.
 */
export function httpGet(
  host: string,
  port: number,
  path: string,
  timeoutMs = HTTP_GET_TIMEOUT_MS,
): Promise<ProbeAnswer> {
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}${path}`;
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, method: "GET", agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
      );
      res.on("error", (e) => reject(new Error(`failed to read the answer of GET ${url}: ${e.message}`)));
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", (e) => reject(new Error(`failed to GET ${url}: ${e.message}`)));
    req.end();
  });
}
