import {
  IoError,
  NoPermissionError,
  NotMountedError,
  UnsupportedError,
  errnoCode,
  errnoNumber,
} from "./errors.js";
import type { ResctrlContext } from "./context.js";
import type { SupportInfo } from "./types.js";

/** Default path of the kernel's mount table. */
export const DEFAULT_PROC_MOUNTS_PATH = "/proc/mounts";
/** Default path of the kernel's list of filesystem types. */
export const DEFAULT_PROC_FILESYSTEMS_PATH = "/proc/filesystems";

/** Decodes the octal escapes (`\040` space, `\011` tab, `\012` newline, `\134` backslash) of /proc/mounts. */
export function decodeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Mount points (decoded) of every resctrl line of a /proc/mounts text, in order. Pure. */
export function resctrlMountPointsFromText(text: string): string[] {
  const points: string[] = [];
  for (const line of text.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields.length >= 3 && fields[2] === "resctrl" && fields[1] !== undefined) {
      points.push(decodeMountField(fields[1]));
    }
  }
  return points;
}

/** True if a /proc/filesystems text lists `resctrl`. Pure. */
export function resctrlListedInFilesystems(text: string): boolean {
  return text.split("\n").some((line) => line.trim().split(/\s+/).at(-1) === "resctrl");
}

async function readProc(ctx: ResctrlContext, path: string, what: string): Promise<string> {
  try {
    return await ctx.fs.readToString(path);
  } catch (err) {
    // Unreadable /proc is a broken environment, not a permission question about resctrl: IoError.
    throw new IoError(`failed to read ${what} ${path}: ${errnoCode(err) ?? String(err)}`, {
      path,
      code: errnoCode(err),
      errno: errnoNumber(err),
      cause: err,
    });
  }
}

/** See `Resctrl.detectSupport`. Rejects only with IoError when /proc/filesystems or /proc/mounts is unreadable. */
export async function detectSupportFromFs(ctx: ResctrlContext): Promise<SupportInfo> {
  const filesystems = await readProc(ctx, ctx.procFilesystemsPath, "filesystem list");
  const mounts = await readProc(ctx, ctx.procMountsPath, "mount table");
  const points = resctrlMountPointsFromText(mounts);
  const mounted = points.includes(ctx.root);
  const otherMountPoints = points.filter((p) => p !== ctx.root);
  let writable = false;
  let monitoring = false;
  if (mounted) {
    try {
      await ctx.fs.checkCanOpenForWrite(`${ctx.root}/tasks`);
      writable = true;
    } catch (err) {
      ctx.logger.debug({ err, root: ctx.root }, "resctrl root tasks not writable");
    }
    monitoring = await ctx.fs.exists(`${ctx.root}/mon_groups`);
  }
  return {
    supported: mounted || resctrlListedInFilesystems(filesystems),
    mounted,
    ...(mounted ? { mountPoint: ctx.root } : {}),
    otherMountPoints,
    writable,
    monitoring,
  };
}

const UNSUPPORTED_MOUNT_CODES = new Set(["ENODEV", "EINVAL", "ENOTSUP", "EOPNOTSUPP", "ENOSYS"]);

/** See `Resctrl.ensureMounted`. */
export async function ensureMountedAt(ctx: ResctrlContext, autoMount: boolean): Promise<void> {
  const before = await detectSupportFromFs(ctx);
  if (before.mounted) return;
  if (!before.supported) {
    throw new UnsupportedError(
      `failed to mount resctrl ${ctx.root}: the kernel does not list resctrl in ${ctx.procFilesystemsPath}`,
      { path: ctx.root },
    );
  }
  if (!autoMount) {
    const elsewhere =
      before.otherMountPoints.length > 0 ? ` (mounted at ${before.otherMountPoints.join(", ")})` : "";
    throw new NotMountedError(
      `failed to use resctrl ${ctx.root}: not mounted there and auto-mount is off${elsewhere}`,
      { path: ctx.root },
    );
  }
  try {
    await ctx.fs.mountResctrl(ctx.root);
  } catch (err) {
    const code = errnoCode(err);
    const opts = { path: ctx.root, code, errno: errnoNumber(err), cause: err };
    const msg = `failed to mount resctrl ${ctx.root}: ${code ?? String(err)}`;
    if (code === "EACCES" || code === "EPERM") throw new NoPermissionError(msg, opts);
    if (code !== undefined && UNSUPPORTED_MOUNT_CODES.has(code)) throw new UnsupportedError(msg, opts);
    throw new IoError(msg, opts);
  }
  const after = await detectSupportFromFs(ctx);
  if (!after.mounted) {
    throw new IoError(`failed to mount resctrl ${ctx.root}: mount did not take effect`, { path: ctx.root });
  }
  ctx.logger.info({ root: ctx.root }, "mounted resctrl");
}
