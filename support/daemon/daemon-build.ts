import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

/** The repository root (where src/ and dist/ live). */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** Where the per-run transpiled daemon goes (inside node_modules so its imports resolve; removed at shutdown). */
export const DAEMON_BUILD_DIR = join(
  REPO_ROOT,
  "node_modules",
  ".cache",
  "nri-resctrl-daemon",
  `daemon-${process.pid}`,
);

let building: Promise<string[]> | undefined;

/**
 * The node arguments that run the daemon: `dist/cli.js` when the build is newer than every file
 * under src/; else src/ transpiled once per run (TypeScript `transpileModule`, no type check,
 * ~1 s) into {@link DAEMON_BUILD_DIR}. Starting the transpiled daemon costs a fraction of
 * `node --import tsx src/cli.ts`, which matters on a loaded 2-core VM with one daemon per scenario.
 * Falls back to tsx if transpiling fails. Memoized; never rejects. Both the containerd and the
 * hardware world run the daemon this way (plugin-daemon.ts).
 */
export function daemonCommand(): Promise<string[]> {
  building ??= build().catch((err: unknown) => {
    console.warn(`[daemon] failed to transpile the daemon, using tsx: ${String(err)}`);
    return ["--import", "tsx", join(REPO_ROOT, "src", "cli.ts")];
  });
  return building;
}

/** Removes {@link DAEMON_BUILD_DIR}. Never rejects. */
export async function removeDaemonBuild(): Promise<void> {
  building = undefined;
  await rm(DAEMON_BUILD_DIR, { recursive: true, force: true }).catch(() => undefined);
}

async function build(): Promise<string[]> {
  const src = join(REPO_ROOT, "src");
  const files = sources(src);
  const dist = join(REPO_ROOT, "dist", "cli.js");
  if (existsSync(dist) && statSync(dist).mtimeMs >= Math.max(...files.map((f) => statSync(f).mtimeMs)))
    return [dist];
  await rm(DAEMON_BUILD_DIR, { recursive: true, force: true });
  await mkdir(DAEMON_BUILD_DIR, { recursive: true });
  // Also on an interrupted run (the containerd world's signal handlers end with process.exit) and
  // in processes that never call removeDaemonBuild (unit tests).
  process.once("exit", () => rmSync(DAEMON_BUILD_DIR, { recursive: true, force: true }));
  await writeFile(join(DAEMON_BUILD_DIR, "package.json"), '{ "type": "module" }\n');
  const compilerOptions: ts.CompilerOptions = {
    module: ts.ModuleKind.ESNext,
    target: ts.ScriptTarget.ES2022,
    esModuleInterop: true,
    sourceMap: false,
  };
  for (const file of files) {
    const out = join(DAEMON_BUILD_DIR, relative(src, file)).replace(/\.ts$/, ".js");
    const { outputText } = ts.transpileModule(await readFile(file, "utf8"), {
      compilerOptions,
      fileName: file,
    });
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, outputText);
  }
  return [join(DAEMON_BUILD_DIR, "cli.js")];
}

/** Every non-test .ts file under `dir`. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith(".ts") && !e.name.endsWith(".spec.ts") && !e.name.endsWith(".d.ts") ? [p] : [];
  });
}
