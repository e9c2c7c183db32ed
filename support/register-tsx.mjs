// Loaded first by every cucumber profile (see cucumber.js `import`): registers tsx's ESM hooks so
// the TypeScript support code and step definitions load in the main process and in every parallel
// worker, with or without NODE_OPTIONS="--import tsx". Node ≥ 20.6 (module.register).
import { register } from "tsx/esm/api";

register();
