// Regenerates TypeScript from proto/ with buf (from npm) + ts-proto, into the committed gen/ folders.
//   node --import tsx scripts/gen.ts          write src/nri/gen, src/control/gen, support/cri/gen
//   node --import tsx scripts/gen.ts --check  generate into a temp dir and fail if it differs from what
//                                             is committed
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** One generation target: the proto folders (relative to proto/), the output folder, ts-proto options. */
interface Target {
  paths: readonly string[];
  out: string;
  opts: readonly string[];
}

const root = fileURLToPath(new URL("..", import.meta.url));
const plugin = join(root, "node_modules/.bin/protoc-gen-ts_proto");
const buf = join(root, "node_modules/.bin/buf");
const common = [
  "esModuleInterop=true",
  "importSuffix=.js",
  "env=node",
  "forceLong=number",
  "outputJsonMethods=false",
  "useDate=false",
  "useExactTypes=false",
];
const targets: readonly Target[] = [
  { paths: ["nri", "ttrpc"], out: "src/nri/gen", opts: [...common, "outputServices=false"] },
  { paths: ["control"], out: "src/control/gen", opts: [...common, "outputServices=grpc-js"] },
  { paths: ["cri"], out: "support/cri/gen", opts: [...common, "outputServices=grpc-js"] },
];

/** Every file under `dir`, by its path relative to `dir`, with its text. */
function listFiles(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else files.set(relative(dir, p), readFileSync(p, "utf8"));
    }
  };
  walk(dir);
  return files;
}

const check = process.argv.includes("--check");
let failed = false;
for (const t of targets) {
  const paths = t.paths.filter((p) => existsSync(join(root, "proto", p)));
  if (paths.length === 0) continue;
  const out = check ? mkdtempSync(join(tmpdir(), "gen-")) : join(root, t.out);
  if (!check) rmSync(out, { recursive: true, force: true });
  const template = JSON.stringify({
    version: "v2",
    plugins: [{ local: plugin, out, opt: t.opts }],
  });
  const args = ["generate", "--template", template, ...paths.flatMap((p) => ["--path", join("proto", p)])];
  const r = spawnSync(buf, args, { cwd: root, stdio: "inherit" });
  if (r.status !== 0) {
    console.error(`gen: buf generate failed for ${t.out}`);
    process.exit(r.status ?? 1);
  }
  if (check) {
    const want = listFiles(out);
    const have = existsSync(join(root, t.out)) ? listFiles(join(root, t.out)) : new Map<string, string>();
    for (const [rel, text] of want) {
      if (have.get(rel) !== text) {
        console.error(`gen --check: ${t.out}/${rel} differs from a fresh generation (run npm run gen)`);
        failed = true;
      }
    }
    for (const rel of have.keys()) {
      if (!want.has(rel)) {
        console.error(`gen --check: ${t.out}/${rel} is not produced by generation (stale file)`);
        failed = true;
      }
    }
    rmSync(out, { recursive: true, force: true });
  } else {
    // ts-proto writes its own "Code generated … DO NOT EDIT" header naming the .proto source.
    console.log(`gen: wrote ${t.out}`);
  }
}
if (check) {
  if (failed) process.exit(1);
  console.log("gen --check: generated code is up to date");
}
