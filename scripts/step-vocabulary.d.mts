/** One step definition found in steps/*.steps.ts. */
export interface StepEntry {
  keyword: "Given" | "When" | "Then";
  pattern: string;
  file: string;
}
export const START_MARKER: string;
export const END_MARKER: string;
export const DOC_PATH: string;
export const STEPS_DIR: string;
/** Every step definition, in file order; throws if one is not a plain string pattern. */
export function extractSteps(stepsDir?: string): StepEntry[];
/** The markdown table, with markers. */
export function renderTable(steps: readonly StepEntry[]): string;
/** The doc with its generated table replaced; throws if the markers are missing. */
export function replaceTable(doc: string, table: string): string;
