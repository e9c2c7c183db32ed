import {
  InvalidConfigError,
  NotMountedError,
  OutsideRootError,
  errnoCode,
  errnoError,
  errorMessage,
  mapFsError,
} from "./errors.js";
import type { ResctrlContext } from "./context.js";
import { assertInsideRoot, isControlGroupName } from "./group.js";
import type { GroupMonData, MonCapabilities, MonSample, MonUnreadable } from "./types.js";

/** A monitoring domain directory under `mon_data`: `mon_<RESOURCE>_<domain id>` (RESOURCE may contain `_`). */
export const MON_DOMAIN_DIR = /^mon_(.+)_(\d+)$/;

/** What a resource or event name must look like before it becomes part of a path (no `/`, `.`, …). */
const MON_NAME = /^[A-Za-z0-9_]+$/;

/** A counter as the kernel prints it (`%llu`): decimal digits only. */
const DECIMAL = /^\d+$/;

/** Root-level directories that are not control groups (same set the cleanup skips). */

/** NotMountedError unless `<root>/tasks` exists (the check `cleanupAll` makes). */
async function assertMounted(ctx: ResctrlContext, what: string): Promise<void> {
  if (!(await ctx.fs.exists(`${ctx.root}/tasks`))) {
    throw new NotMountedError(`failed to ${what} ${ctx.root}: ${ctx.root}/tasks is missing (not mounted)`, {
      path: ctx.root,
    });
  }
}

/**
 * Throws {@link OutsideRootError} unless `path` is a resctrl group: the root, `<root>/<ctrl>`,
 * `<root>/mon_groups/<mon>` or `<root>/<ctrl>/mon_groups/<mon>`, where `<ctrl>` is not one of
 * `info`, `mon_data`, `mon_groups`. Pure (nothing is read).
 */
export function assertGroupPath(ctx: ResctrlContext, path: string, verb: string): void {
  assertInsideRoot(ctx, path, verb);
  if (path === ctx.root) return;
  const segs = path.slice(ctx.root.length + 1).split("/");
  const ctrlOk = (name: string | undefined) => name !== undefined && isControlGroupName(name);
  const ok =
    (segs.length === 1 && ctrlOk(segs[0])) ||
    (segs.length === 2 && segs[0] === "mon_groups") ||
    (segs.length === 3 && ctrlOk(segs[0]) && segs[1] === "mon_groups");
  if (!ok) {
    throw new OutsideRootError(
      `failed to ${verb} group ${path}: not a resctrl group (the root, <root>/<ctrl>, <root>/mon_groups/<mon> or <root>/<ctrl>/mon_groups/<mon>)`,
      { path },
    );
  }
}

/** Lines of a `mon_features` text: trimmed, non-empty, safe names only, first occurrence kept. */
function parseFeatures(text: string): string[] {
  const events = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => MON_NAME.test(l));
  return [...new Set(events)];
}

/** Reads a file, or undefined when it does not exist; other errors are mapped and thrown. */
async function readOptional(ctx: ResctrlContext, path: string, object: string): Promise<string | undefined> {
  try {
    return await ctx.fs.readToString(path);
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return undefined;
    throw mapFsError(err, { verb: "read", object, id: path, path });
  }
}

/** See `Resctrl.monCapabilities`. */
export async function monCapabilitiesFromFs(ctx: ResctrlContext): Promise<MonCapabilities> {
  await assertMounted(ctx, "read the monitoring capabilities of resctrl");
  const info = `${ctx.root}/info`;
  let names: string[];
  try {
    names = await ctx.fs.readChildDirs(info);
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return { features: {} };
    throw mapFsError(err, { verb: "list", object: "monitoring resources in", id: info, path: info });
  }
  const resources = names
    .map((n) => /^(.+)_MON$/.exec(n)?.[1])
    .filter((r): r is string => r !== undefined && MON_NAME.test(r))
    .sort();
  const texts = await Promise.all(
    resources.map((r) => readOptional(ctx, `${info}/${r}_MON/mon_features`, "monitoring features")),
  );
  const features: Record<string, string[]> = {};
  resources.forEach((r, i) => {
    const text = texts[i];
    if (text !== undefined) features[r] = parseFeatures(text);
  });
  const caps: MonCapabilities = { features };
  let rootDomains: string[] | undefined;
  try {
    rootDomains = await ctx.fs.readChildDirs(`${ctx.root}/mon_data`);
  } catch {
    rootDomains = undefined; // no root mon_data: each group's is listed when read
  }
  if (rootDomains !== undefined) caps.domains = domainsByResource(rootDomains);
  const rmidsText = (await readOptional(ctx, `${info}/L3_MON/num_rmids`, "RMID count"))?.trim();
  if (rmidsText !== undefined) {
    if (DECIMAL.test(rmidsText)) caps.numRmids = Number(rmidsText);
    else ctx.logger.debug({ text: rmidsText }, "info/L3_MON/num_rmids is not a number; left out");
  }
  return caps;
}

/** One domain's reading of one event: a number, or why not. */
type DomainValue = { value: number } | { reason: string };

async function readDomainValue(ctx: ResctrlContext, file: string): Promise<DomainValue> {
  let text: string;
  try {
    text = await ctx.fs.readToString(file);
  } catch (err) {
    return { reason: errnoCode(err) ?? errorMessage(err) };
  }
  return parseDomainValue(text);
}

function readDomainValueSync(read: (p: string) => string, file: string): DomainValue {
  let text: string;
  try {
    text = read(file);
  } catch (err) {
    return { reason: errnoCode(err) ?? errorMessage(err) };
  }
  return parseDomainValue(text);
}

function parseDomainValue(text: string): DomainValue {
  const trimmed = text.trim();
  if (DECIMAL.test(trimmed)) return { value: Number(trimmed) };
  if (trimmed === "Unavailable" || trimmed === "Error") return { reason: trimmed };
  return { reason: `not a number ${JSON.stringify(trimmed.slice(0, 40))}` };
}

/** `mon_<R>_<id>` directory names grouped by resource R, each list sorted; other names ignored. */
function domainsByResource(dirs: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const dir of [...dirs].sort()) {
    const resource = MON_DOMAIN_DIR.exec(dir)?.[1];
    if (resource !== undefined) (out[resource] ??= []).push(dir);
  }
  return out;
}

/** See `Resctrl.readGroupMonData`. */
export async function readGroupMonDataFromFs(
  ctx: ResctrlContext,
  groupPath: string,
  caps: MonCapabilities,
): Promise<GroupMonData> {
  const verb = "read monitoring data of";
  assertGroupPath(ctx, groupPath, verb);
  const wanted = Object.entries(caps.features);
  for (const [resource, events] of wanted) {
    for (const name of [resource, ...events]) {
      if (typeof name !== "string" || !MON_NAME.test(name)) {
        throw new InvalidConfigError(
          `failed to ${verb} group ${groupPath}: invalid resource or event name ${JSON.stringify(name)} (must match ${MON_NAME.source})`,
        );
      }
    }
  }
  const monData = `${groupPath}/mon_data`;
  // Providers with synchronous reads (RealFs) read one group without yielding: a few µs per file
  // instead of tens through fs/promises; the caller yields between groups.
  const fs = ctx.fs;
  const sync =
    fs.readToStringSync && fs.readChildDirsSync
      ? { read: fs.readToStringSync.bind(fs), list: fs.readChildDirsSync.bind(fs) }
      : undefined;
  let domainsOf: Map<string, string[]>;
  if (caps.domains) domainsOf = new Map(Object.entries(caps.domains));
  else {
    let dirs: string[];
    try {
      dirs = sync ? sync.list(monData) : await ctx.fs.readChildDirs(monData);
    } catch (err) {
      throw mapFsError(err, {
        verb: "list",
        object: "monitoring domains of group",
        id: groupPath,
        path: monData,
      });
    }
    domainsOf = new Map(Object.entries(domainsByResource(dirs)));
  }
  const results = sync
    ? wanted.flatMap(([resource, events]) =>
        events.map((event) => {
          const domains = domainsOf.get(resource) ?? [];
          const values = domains.map((d) => readDomainValueSync(sync.read, `${monData}/${d}/${event}`));
          return { resource, event, domains, values };
        }),
      )
    : await Promise.all(
        wanted.flatMap(([resource, events]) =>
          events.map(async (event) => {
            const domains = domainsOf.get(resource) ?? [];
            const values = await Promise.all(
              domains.map((d) => readDomainValue(ctx, `${monData}/${d}/${event}`)),
            );
            return { resource, event, domains, values };
          }),
        ),
      );
  const samples: MonSample[] = [];
  const unreadable: MonUnreadable[] = [];
  let sawMissing = false;
  for (const { resource, event, domains, values } of results) {
    if (domains.length === 0) {
      unreadable.push({ resource, event, reason: `no mon_${resource}_* domain in mon_data` });
      continue;
    }
    const reasons: string[] = [];
    let sum = 0;
    values.forEach((v, i) => {
      if ("value" in v) sum += v.value;
      else {
        if (v.reason === "ENOENT") sawMissing = true;
        reasons.push(`${v.reason} at ${domains[i]}`);
      }
    });
    if (reasons.length === 0 && !Number.isFinite(sum)) reasons.push("sum out of range");
    if (reasons.length > 0) unreadable.push({ resource, event, reason: reasons.join("; ") });
    else samples.push({ resource, event, value: sum });
  }
  // A file missing after a successful listing: the group may have gone meanwhile.
  if (sawMissing && !(await ctx.fs.exists(monData))) {
    throw mapFsError(errnoError("ENOENT", "group removed while its monitoring data was read", monData), {
      verb: "list",
      object: "monitoring domains of group",
      id: groupPath,
      path: monData,
    });
  }
  return { samples, unreadable };
}

/** Lists the subdirectories of `dir`; ENOENT → `[]` (gone, or no monitoring); else mapped and thrown. */
async function listOrEmpty(ctx: ResctrlContext, dir: string): Promise<string[]> {
  try {
    return await ctx.fs.readChildDirs(dir);
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return [];
    throw mapFsError(err, { verb: "list", object: "groups in", id: dir, path: dir });
  }
}

/** See `Resctrl.rmidsInUse`. */
export async function rmidsInUseFromFs(ctx: ResctrlContext): Promise<number> {
  await assertMounted(ctx, "count the RMIDs in use in");
  let rootNames: string[];
  try {
    rootNames = await ctx.fs.readChildDirs(ctx.root);
  } catch (err) {
    throw mapFsError(err, { verb: "list", object: "groups in", id: ctx.root, path: ctx.root });
  }
  const ctrlGroups = rootNames.filter(isControlGroupName);
  const monLists = await Promise.all(
    [ctx.root, ...ctrlGroups.map((c) => `${ctx.root}/${c}`)].map((g) => listOrEmpty(ctx, `${g}/mon_groups`)),
  );
  return 1 + ctrlGroups.length + monLists.reduce((n, l) => n + l.length, 0);
}
