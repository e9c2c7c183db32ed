import { errnoCode, mapFsError } from "./errors.js";
import type { ResctrlContext } from "./context.js";
import { assertInsideRoot } from "./group.js";
import type { DomainReading } from "./types.js";

/** Prefix of the L3 monitoring domain directories under `mon_data`. */
export const L3_DOMAIN_PREFIX = "mon_L3_";

/**
 * See `Resctrl.llcOccupancy`. Domains sorted by id. A non-numeric value gives `bytes: null` plus the
 * kernel's text in `status`; a domain that vanished (ENOENT) between listing and reading is
 * skipped; other read errors and listing errors throw (shared errno mapping).
 */
export async function llcOccupancyFromFs(ctx: ResctrlContext, groupPath: string): Promise<DomainReading[]> {
  assertInsideRoot(ctx, groupPath, "read occupancy of");
  const monData = `${groupPath}/mon_data`;
  let names: string[];
  try {
    names = await ctx.fs.readChildDirs(monData);
  } catch (err) {
    throw mapFsError(err, {
      verb: "list",
      object: "monitoring domains of group",
      id: groupPath,
      path: monData,
    });
  }
  const readings: DomainReading[] = [];
  for (const domainId of names.filter((n) => n.startsWith(L3_DOMAIN_PREFIX)).sort()) {
    const file = `${monData}/${domainId}/llc_occupancy`;
    let text: string;
    try {
      text = (await ctx.fs.readToString(file)).trim();
    } catch (err) {
      if (errnoCode(err) === "ENOENT") continue;
      throw mapFsError(err, { verb: "read", object: "llc_occupancy of group", id: groupPath, path: file });
    }
    const bytes = /^\d+$/.test(text) ? Number(text) : NaN;
    readings.push(
      Number.isSafeInteger(bytes) ? { domainId, bytes } : { domainId, bytes: null, status: text },
    );
  }
  return readings;
}
