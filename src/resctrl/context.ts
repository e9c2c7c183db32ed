import type { Logger } from "pino";
import type { FsProvider } from "./provider.js";

/** Internal: the validated configuration every operation module receives. Not exported from index. */
export interface ResctrlContext {
  readonly fs: FsProvider;
  readonly root: string;
  readonly groupPrefix: string;
  readonly procMountsPath: string;
  readonly procFilesystemsPath: string;
  readonly logger: Logger;
}

/** Path of the kernel's explanation of the last failed command. */
export function lastCmdStatusPath(ctx: ResctrlContext): string {
  return `${ctx.root}/info/last_cmd_status`;
}

/**
 * Best effort: the trimmed text of `<root>/info/last_cmd_status`, or undefined when unreadable,
 * empty or just "ok". Never rejects.
 */
export async function readKernelStatus(ctx: ResctrlContext): Promise<string | undefined> {
  try {
    const text = (await ctx.fs.readToString(lastCmdStatusPath(ctx))).trim();
    return text.length > 0 && text !== "ok" ? text : undefined;
  } catch {
    return undefined;
  }
}
