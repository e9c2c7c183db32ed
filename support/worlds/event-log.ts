import type { GroupReport, PodEvent, PodView } from "./types.js";

/** An event before the log numbers it. */
export type UnnumberedPodEvent = PodEvent extends infer E
  ? E extends PodEvent
    ? Omit<E, "seq">
    : never
  : never;

/**
 * Records the plugin's pod events (already translated to scenario names) and lets steps wait for
 * them. World-agnostic: every world feeds it from wherever its events come from (an in-process
 * listener, a gRPC stream); {@link EventLogWorld} (event-log-world.ts) serves the port's event
 * methods from it.
 *
 * Waiting never polls: each recorded event wakes the waiters. Owns no timers beyond the ones a
 * pending wait or quiet period started; {@link close} rejects pending waits.
 */
export class EventLog {
  readonly #events: PodEvent[] = [];
  readonly #waiters = new Set<() => void>();
  #closed = false;

  /** Appends an event (numbered in arrival order) and wakes every waiter. */
  record(event: UnnumberedPodEvent): PodEvent {
    const numbered = { ...event, seq: this.#events.length } as PodEvent;
    this.#events.push(numbered);
    for (const wake of [...this.#waiters]) wake();
    return numbered;
  }

  /** All events, oldest first. */
  all(): readonly PodEvent[] {
    return this.#events;
  }

  /** Events of one pod, oldest first. */
  of(pod: string): PodEvent[] {
    return this.#events.filter((e) => e.pod === pod);
  }

  /** The first event of `pod` (recorded or future) matching `predicate`; rejects after `timeoutMs`. */
  waitFor(pod: string, predicate: (e: PodEvent) => boolean, timeoutMs: number): Promise<PodEvent> {
    const find = (): PodEvent | undefined => this.of(pod).find(predicate);
    const hit = find();
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      const check = (): void => {
        const e = find();
        if (e) {
          done();
          resolve(e);
        } else if (this.#closed) {
          done();
          reject(
            new Error(
              `failed to wait for an event of pod ${pod}: the event log was closed; ${this.describe(pod)}`,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `failed to wait for an event of pod ${pod}: none matched within ${timeoutMs} ms; ${this.describe(pod)}`,
          ),
        );
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  /** Waits `ms`; rejects if any event of `pod` was recorded meanwhile (listing them). */
  async assertQuiet(pod: string, ms: number): Promise<void> {
    const before = this.#events.length;
    await new Promise((resolve) => setTimeout(resolve, ms));
    const extra = this.#events.slice(before).filter((e) => e.pod === pod);
    if (extra.length > 0) {
      throw new Error(
        `failed to observe silence for pod ${pod}: ${extra.length} event(s) within ${ms} ms: ${extra.map(describe).join("; ")}`,
      );
    }
  }

  /**
   * The pod's last reported group state and the path of its last `Exists` report (kept after a
   * `Failed` or `Removed`, so a world can check that directory is gone). Both undefined before
   * the pod's first AddOrUpdate.
   */
  lastGroupReport(pod: string): { reported: GroupReport | undefined; path: string | undefined } {
    const reports = this.of(pod).flatMap((e) => (e.kind === "AddOrUpdate" ? [e.group] : []));
    const path = reports.flatMap((g) => (g.kind === "Exists" ? [g.path] : [])).at(-1);
    return { reported: reports.at(-1), path };
  }

  /** Rejects every pending wait. Idempotent. */
  close(): void {
    this.#closed = true;
    for (const wake of [...this.#waiters]) wake();
  }

  /** "events of web: Exists 0/0, Exists 1/1" for error messages. */
  describe(pod: string): string {
    const evs = this.of(pod);
    return evs.length === 0
      ? `pod ${pod} has no events`
      : `events of ${pod}: ${evs.map(describe).join(", ")}`;
  }
}

function describe(e: PodEvent): string {
  return e.kind === "Removed" ? "Removed" : `${e.group.kind} ${e.reconciled}/${e.total}`;
}

/** Folds one event into a consumer's view (pod name → latest state). Pure apart from mutating `view`. */
export function foldEvent(view: Map<string, PodView>, e: UnnumberedPodEvent): void {
  if (e.kind === "Removed") view.delete(e.pod);
  else view.set(e.pod, { pod: e.pod, group: e.group, total: e.total, reconciled: e.reconciled });
}
