/** Idle keys kept before the first sweep (see {@link KeyedMutex}). */
export const KEYED_MUTEX_MIN_SWEEP = 1024;

/** A key's queue: the settled-or-pending end of its chain and how many sections it holds. */
interface Slot {
  tail: Promise<void>;
  pending: number;
}

/**
 * Serializes async critical sections per key (here: per pod), so START/REMOVE/retry work on one
 * pod cannot interleave and double count, while different pods proceed concurrently. FIFO per key;
 * a rejected section does not poison the key. No timeouts: sections must terminate.
 *
 * A key stays in the table while idle, so a pod's next event reuses its slot: dropping and
 * re-adding keys made V8 rehash the long-lived table into a new one in old space every few
 * sections (garbage only a full GC frees). Idle keys are swept when the table doubles past its
 * size after the last sweep (at least {@link KEYED_MUTEX_MIN_SWEEP}), so keys of removed pods
 * cannot accumulate.
 */
export class KeyedMutex {
  #slots = new Map<string, Slot>();
  #active = 0;
  #sweepAt = KEYED_MUTEX_MIN_SWEEP;

  /** Runs `fn` once every earlier section for `key` has settled; resolves/rejects with its result. */
  run<R>(key: string, fn: () => Promise<R> | R): Promise<R> {
    let slot = this.#slots.get(key);
    if (!slot) {
      if (this.#slots.size >= this.#sweepAt) this.#sweep();
      slot = { tail: Promise.resolve(), pending: 0 };
      this.#slots.set(key, slot);
    }
    if (slot.pending++ === 0) this.#active += 1;
    const result = slot.tail.then(() => fn());
    const s = slot;
    const settle = (): void => {
      if (--s.pending === 0) this.#active -= 1;
    };
    slot.tail = result.then(settle, settle);
    return result;
  }

  /** Number of keys with a section running or queued (for tests and diagnostics). */
  get activeKeys(): number {
    return this.#active;
  }

  /** Keys held, idle ones included (for tests and diagnostics). */
  get size(): number {
    return this.#slots.size;
  }

  #sweep(): void {
    for (const [key, slot] of this.#slots) if (slot.pending === 0) this.#slots.delete(key);
    this.#sweepAt = Math.max(KEYED_MUTEX_MIN_SWEEP, 2 * this.#slots.size);
  }
}
