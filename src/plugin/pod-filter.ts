import type { NriPod } from "../nri/types.js";
import { InvalidPluginConfigError } from "./errors.js";

/** One requirement of an equality-based label selector (the Kubernetes syntax). */
export type LabelRequirement =
  { key: string; op: "=" | "!="; value: string } | { key: string; op: "exists" | "!exists" };

/**
 * Which pods get a group (RMIDs are scarce: tens to a few hundred per socket). Empty lists and an
 * empty selector select every pod.
 */
export interface PodFilterConfig {
  /** Only pods in these namespaces (empty: every namespace). */
  namespaces: string[];
  /** Never pods in these namespaces (wins over `namespaces`). */
  excludeNamespaces: string[];
  /** Every requirement must hold for the pod's labels (empty: every pod). */
  podLabelSelector: LabelRequirement[];
}

/** Selects every pod. */
export const SELECT_ALL: Readonly<PodFilterConfig> = Object.freeze({
  namespaces: [],
  excludeNamespaces: [],
  podLabelSelector: [],
});

const LABEL_KEY = /^([A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/**
 * Parses an equality-based label selector as `kubectl -l` takes it: comma-separated `key=value`,
 * `key==value`, `key!=value`, `key` (label present) and `!key` (label absent); every requirement
 * must hold. Empty text → no requirement. Throws InvalidPluginConfigError naming the bad part.
 */
export function parseLabelSelector(text: string): LabelRequirement[] {
  const out: LabelRequirement[] = [];
  if (text.trim() === "") return out;
  for (const raw of text.split(",")) {
    const part = raw.trim();
    const bad = (why: string): never => {
      throw new InvalidPluginConfigError("podLabelSelector", `${JSON.stringify(part)}: ${why}`);
    };
    const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (m) {
      const [, key = "", op = "", value = ""] = m;
      if (!LABEL_KEY.test(key)) bad("not a label key");
      if (!LABEL_VALUE.test(value) || value.length > 63) bad("not a label value");
      out.push({ key, op: op === "!=" ? "!=" : "=", value });
      continue;
    }
    const neg = part.startsWith("!");
    const key = neg ? part.slice(1).trim() : part;
    if (!LABEL_KEY.test(key)) bad("want key=value, key!=value, key or !key");
    out.push({ key, op: neg ? "!exists" : "exists" });
  }
  return out;
}

/** Parses a comma-separated namespace list (`a,b`); blanks are dropped. */
export function parseNamespaceList(field: string, text: string): string[] {
  const out = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  for (const ns of out) {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns) || ns.length > 63)
      throw new InvalidPluginConfigError(field, `${JSON.stringify(ns)} is not a namespace name`);
  }
  return out;
}

/** True if the filters select `pod` (namespace allowed, not excluded, every label requirement holds). */
export function podSelected(f: PodFilterConfig, pod: Pick<NriPod, "namespace" | "labels">): boolean {
  if (f.excludeNamespaces.includes(pod.namespace)) return false;
  if (f.namespaces.length > 0 && !f.namespaces.includes(pod.namespace)) return false;
  for (const r of f.podLabelSelector) {
    const has = Object.hasOwn(pod.labels, r.key);
    if (!("value" in r)) {
      if (has !== (r.op === "exists")) return false;
      continue;
    }
    const v = has ? pod.labels[r.key] : undefined;
    if ((v === r.value) !== (r.op === "=")) return false;
  }
  return true;
}

/** True if the filters select every pod. */
export function selectsAll(f: PodFilterConfig): boolean {
  return f.namespaces.length === 0 && f.excludeNamespaces.length === 0 && f.podLabelSelector.length === 0;
}

/** The filters as one line for logs and --help, e.g. `namespaces=a,b exclude=kube-system labels=tier=web`. */
export function describeFilter(f: PodFilterConfig): string {
  if (selectsAll(f)) return "every pod";
  const parts: string[] = [];
  if (f.namespaces.length > 0) parts.push(`namespaces=${f.namespaces.join(",")}`);
  if (f.excludeNamespaces.length > 0) parts.push(`exclude-namespaces=${f.excludeNamespaces.join(",")}`);
  if (f.podLabelSelector.length > 0)
    parts.push(
      `labels=${f.podLabelSelector
        .map((r) => {
          if ("value" in r) return `${r.key}${r.op}${r.value}`;
          return r.op === "exists" ? r.key : `!${r.key}`;
        })
        .join(",")}`,
    );
  return parts.join(" ");
}
