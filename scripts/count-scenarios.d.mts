/** Result counts of one cucumber messages file; `problems` explains every extra failure counted. */
export interface ScenarioCounts {
  passed: number;
  failed: number;
  skipped: number;
  problems: string[];
}
/** Counts one messages (ndjson) file's text. Pure. */
export function countMessages(text: string): ScenarioCounts;
/** "N passed, N failed, N skipped". */
export function formatCounts(counts: { passed: number; failed: number; skipped: number }): string;
