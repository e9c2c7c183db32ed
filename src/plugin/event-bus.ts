import type { Logger } from "pino";

/** An `events()` subscription: an async iterator that can also be closed explicitly. */
export interface EventSubscription<T> extends AsyncIterableIterator<T> {
  /** Ends the iteration; buffered events are discarded. Idempotent. */
  close(): void;
}

/**
 * Non-blocking fan-out of events. `emit` never waits: listeners are called synchronously (a
 * throwing listener is logged and skipped), and each `subscribe()` iterator has its own bounded
 * queue; when a queue is full the event is dropped for that subscriber, counted in `dropped` and
 * logged as a warning. Subscribers only see events emitted after they subscribed.
 */
export class EventBus<T> {
  #listeners = new Set<(e: T) => void>();
  #subs = new Set<Queue<T>>();
  #dropped = 0;
  #closed = false;

  constructor(
    private readonly capacity: number,
    private readonly logger: Logger,
  ) {}

  /** Events dropped so far, summed over all subscribers. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Delivers `e` to every listener and subscriber. Never blocks, never throws. */
  emit(e: T): void {
    if (this.#closed) return;
    for (const l of this.#listeners) {
      try {
        l(e);
      } catch (err) {
        this.logger.warn({ err }, "event listener threw; ignored");
      }
    }
    for (const q of this.#subs) {
      if (!q.push(e)) {
        this.#dropped += 1;
        this.logger.warn(
          { droppedEvents: this.#dropped, capacity: this.capacity },
          "event queue full; event dropped",
        );
      }
    }
  }

  /** Registers a synchronous listener; returns the function that removes it. */
  on(listener: (e: T) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** A new bounded subscription starting now. Ends when closed, or when the bus is closed. */
  subscribe(): EventSubscription<T> {
    const q = new Queue<T>(this.capacity, () => this.#subs.delete(q));
    if (this.#closed) q.end();
    else this.#subs.add(q);
    return q.iterator();
  }

  /** Ends every subscription (after their buffered events) and drops all listeners. */
  close(): void {
    this.#closed = true;
    this.#listeners.clear();
    for (const q of this.#subs) q.end();
    this.#subs.clear();
  }
}

class Queue<T> {
  #buf: T[] = [];
  #waiter: ((r: IteratorResult<T>) => void) | undefined;
  #ended = false;

  constructor(
    private readonly capacity: number,
    private readonly onClose: () => void,
  ) {}

  push(e: T): boolean {
    if (this.#ended) return true;
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = undefined;
      w({ value: e, done: false });
      return true;
    }
    if (this.#buf.length >= this.capacity) return false;
    this.#buf.push(e);
    return true;
  }

  /** Graceful end: buffered events are still delivered. */
  end(): void {
    this.#ended = true;
    if (this.#waiter && this.#buf.length === 0) {
      const w = this.#waiter;
      this.#waiter = undefined;
      w({ value: undefined, done: true });
    }
  }

  iterator(): EventSubscription<T> {
    const close = (): void => {
      this.#buf = [];
      this.end();
      this.onClose();
    };
    const it: EventSubscription<T> = {
      next: () => {
        if (this.#buf.length > 0) return Promise.resolve({ value: this.#buf.shift() as T, done: false });
        if (this.#ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (this.#waiter = resolve));
      },
      return: () => {
        close();
        return Promise.resolve({ value: undefined, done: true });
      },
      close,
      [Symbol.asyncIterator]() {
        return it;
      },
    };
    return it;
  }
}
