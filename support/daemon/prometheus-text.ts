import type { MetricSample } from "../worlds/types.js";

/*
 * The Prometheus text exposition format (version 0.0.4), read back: what the scenario worlds get
 * from the plugin's /metrics. Only what prom-client writes is needed, but the parser follows the
 * format: `# HELP`/`# TYPE` and other comments, `name value`, `name{a="x",b="y"} value [timestamp]`,
 * label values with the escapes `\\`, `\"` and `\n`, and the values `NaN`, `+Inf`, `-Inf` (any case).
 */

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

/** Every sample of an exposition, in order. Throws on a line it cannot read, quoting it. Pure. */
export function parsePrometheusText(text: string): MetricSample[] {
  const out: MetricSample[] = [];
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    try {
      out.push(parseSampleLine(line));
    } catch (e) {
      throw new Error(
        `failed to parse line ${i + 1} of the metrics ${JSON.stringify(raw)}: ${(e as Error).message}`,
      );
    }
  }
  return out;
}

function parseSampleLine(line: string): MetricSample {
  const name = NAME.exec(line)?.[0];
  if (!name) throw new Error("no metric name");
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith("{")) {
    rest = rest.slice(1);
    for (;;) {
      rest = rest.trimStart();
      if (rest.startsWith("}")) {
        rest = rest.slice(1);
        break;
      }
      const label = LABEL_NAME.exec(rest)?.[0];
      if (!label) throw new Error("bad label name");
      rest = rest.slice(label.length).trimStart();
      if (!rest.startsWith("=")) throw new Error(`label ${label} has no ="value"`);
      rest = rest.slice(1).trimStart();
      if (!rest.startsWith('"')) throw new Error(`label ${label} has no ="value"`);
      rest = rest.slice(1);
      let value = "";
      for (;;) {
        const c = rest[0];
        if (c === undefined) throw new Error(`label ${label}: unterminated value`);
        rest = rest.slice(1);
        if (c === '"') break;
        if (c === "\\") {
          const e = rest[0];
          rest = rest.slice(1);
          if (e === "n") value += "\n";
          else if (e === "\\" || e === '"') value += e;
          else throw new Error(`label ${label}: bad escape \\${e ?? ""}`);
        } else value += c;
      }
      labels[label] = value;
      rest = rest.trimStart();
      if (rest.startsWith(",")) rest = rest.slice(1);
      else if (!rest.startsWith("}")) throw new Error(`label ${label}: expected , or }`);
    }
  }
  const fields = rest.trim().split(/\s+/);
  if (fields.length < 1 || fields.length > 2 || fields[0] === "") throw new Error("expected a value");
  return { name, labels, value: parseValue(fields[0] as string) };
}

function parseValue(s: string): number {
  // Prometheus reads these case-insensitively (Go's ParseFloat); prom-client writes `Nan`.
  const lower = s.toLowerCase();
  if (lower === "nan") return NaN;
  if (lower === "+inf" || lower === "inf") return Infinity;
  if (lower === "-inf") return -Infinity;
  const v = Number(s);
  if (s.trim() === "" || Number.isNaN(v)) throw new Error(`bad value ${JSON.stringify(s)}`);
  return v;
}

/** The samples of metric `name` whose labels include every pair of `labels`. Pure. */
export function samplesOf(
  samples: readonly MetricSample[],
  name: string,
  labels: Readonly<Record<string, string>> = {},
): MetricSample[] {
  return samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}
