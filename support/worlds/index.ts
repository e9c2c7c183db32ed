import type { PodWorld } from "./types.js";

/** The worlds a profile can name in `worldParameters.world`. */
export const KNOWN_WORLDS = ["mock", "containerd", "hardware"] as const;

/** One entry of {@link KNOWN_WORLDS}. */
export type WorldName = (typeof KNOWN_WORLDS)[number];

/** The world named by the profile when `worldParameters.world` is absent. */
export const DEFAULT_WORLD: WorldName = "mock";

/**
 * What a world module (`support/worlds/<name>/index.ts`) must export: a factory returning a fresh,
 * not yet initialized {@link PodWorld}. It must be cheap and synchronous (no I/O): the expensive
 * setup belongs in `PodWorld.init`, which the hooks call only for scenarios that will run.
 */
export interface WorldModule {
  createWorld(parameters: Readonly<Record<string, unknown>>): PodWorld;
  /** Optional: why this machine cannot host the world (its scenarios are then skipped with that reason). */
  unavailable?(): Promise<string | undefined>;
  /** Optional: releases what the world shares across scenarios (called once, after all scenarios). */
  shutdown?(): Promise<void>;
}

/** The world chosen for a scenario, or why every scenario of the profile must be skipped. */
export type WorldChoice = { world: PodWorld } | { unavailable: string };

/**
 * Picks the world named by `parameters.world` (default {@link DEFAULT_WORLD}) and creates an
 * instance. A known world whose module does not exist yet yields `{ unavailable }`, so its
 * scenarios are reported skipped with that reason; an unknown name, or a module that exists but
 * fails to load, rejects (a configuration or code error must fail the run, not skip it).
 */
export async function chooseWorld(parameters: Readonly<Record<string, unknown>>): Promise<WorldChoice> {
  const name = parameters.world ?? DEFAULT_WORLD;
  if (typeof name !== "string" || !(KNOWN_WORLDS as readonly string[]).includes(name)) {
    throw new Error(
      `failed to choose world ${JSON.stringify(name)}: worldParameters.world must be one of ${KNOWN_WORLDS.join(", ")}`,
    );
  }
  const mod = await loadWorldModule(name as WorldName);
  if (!mod)
    return {
      unavailable: `world "${name}" not implemented yet (support/worlds/${name}/index.ts is missing)`,
    };
  const reason = await mod.unavailable?.();
  if (reason) return { unavailable: reason };
  return { world: mod.createWorld(parameters) };
}

/** Calls `shutdown()` of every world module loaded so far (AfterAll). Never rejects. */
export async function shutdownWorlds(): Promise<void> {
  for (const mod of cache.values()) await mod?.shutdown?.().catch(() => undefined);
}

const cache = new Map<WorldName, WorldModule | null>();

async function loadWorldModule(name: WorldName): Promise<WorldModule | null> {
  if (cache.has(name)) return cache.get(name) ?? null;
  const specifier = `./${name}/index.js`;
  let mod: WorldModule | null;
  try {
    mod = (await import(specifier)) as WorldModule;
  } catch (err) {
    if (!isMissingModule(err, specifier)) {
      throw new Error(`failed to load world ${name}: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      });
    }
    mod = null;
  }
  if (mod && typeof mod.createWorld !== "function") {
    throw new Error(
      `failed to load world ${name}: support/worlds/${name}/index.ts does not export createWorld()`,
    );
  }
  cache.set(name, mod);
  return mod;
}

/** The import failed because the world's own index file does not exist (not because of a broken import inside it). */
function isMissingModule(err: unknown, specifier: string): boolean {
  const e = err as { code?: string; message?: string };
  if (e?.code !== "ERR_MODULE_NOT_FOUND" || typeof e.message !== "string") return false;
  const missing = /Cannot find (?:module|package) '([^']+)'/.exec(e.message)?.[1] ?? "";
  const leaf = specifier.replace(/^\.\//, "").replace(/\.js$/, "");
  return [".js", ".ts", ""].some((ext) => missing.endsWith(`${leaf}${ext}`));
}
