/**
 * Serializes async critical sections per key (here: per pod), so START/REMOVE/retry work on one
 * pod cannot interleave and double count, while different pods proceed concurrently. FIFO per key;
 * a rejected section does not poison the key. No timeouts: sections must terminate.
 */
export class KeyedMutex {
  #tails = new Map<string, Promise<void>>();

  /** Runs `fn` once every earlier section for `key` has settled; resolves/rejects with its result. */
  run<R>(key: string, fn: () => Promise<R> | R): Promise<R> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    const result = prev.then(() => fn());
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  /** Number of keys with a section running or queued (for tests and diagnostics). */
  get activeKeys(): number {
    return this.#tails.size;
  }
}
