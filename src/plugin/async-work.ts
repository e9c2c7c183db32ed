// Small async helpers of the plugin's work scheduling. Pure apart from the timer in raceTimeout.

/** Oldest first. */
export function bySeq(a: { seq: number }, b: { seq: number }): number {
  return a.seq - b.seq;
}

/**
 * Work of several pods in round-robin order (first item of each pod, then the second, …), so the
 * concurrent workers reconcile different pods instead of queueing on one pod's lock.
 */
export function interleaveByPod<T>(byPod: ReadonlyMap<string, readonly T[]>): T[] {
  const lists = [...byPod.values()];
  const total = lists.reduce((n, l) => n + l.length, 0);
  const out: T[] = [];
  for (let i = 0; out.length < total; i++) for (const l of lists) if (i < l.length) out.push(l[i] as T);
  return out;
}

/** Runs `fn` over `items` with at most `limit` in flight, starting them in order. */
export async function mapLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (t: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** True if `p` settled within `ms`. The timer is cleared as soon as either side wins. */
export async function raceTimeout(p: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true), t]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolves on the next turn of the event loop (setImmediate). Work whose every await resolves at
 * once (the in-memory resctrl, synchronous cgroup reads) would otherwise run as one microtask chain
 * and block timers and I/O — e.g. Synchronize's inline budget could not fire.
 */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
