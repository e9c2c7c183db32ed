// Deterministic waiting for the unit and cross-layer specs: a gate to hold a call open and a
// poll with a deadline (never a bare sleep).

/** A promise plus its resolver, to hold a PID source call (or any async step) open. */
export function gate<T = void>(): { promise: Promise<T>; open: (v: T) => void } {
  let open!: (v: T) => void;
  const promise = new Promise<T>((r) => (open = r));
  return { promise, open };
}

/** Polls `cond` every 2 ms until true or `ms` elapsed (then throws). */
export async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("until: condition not met in time");
    await new Promise((r) => setTimeout(r, 2));
  }
}
