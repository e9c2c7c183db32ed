import type { PodResctrlEvent } from "../../../src/plugin/events.js";
import type { ResctrlPlugin } from "../../../src/plugin/plugin.js";
import type { EventSubscription } from "../../../src/plugin/event-bus.js";
import { foldEvent, type UnnumberedPodEvent } from "../event-log.js";
import type { PodView } from "../types.js";

/**
 * An external consumer of the plugin's bounded `events()` stream, as a collector would be. It
 * starts stalled: subscribed but not reading, so its queue fills and the plugin drops events.
 * `resync` follows the documented recovery: a fresh subscription, then a snapshot taken in the
 * same tick (so no event falls between the two), then folding every later event into the view.
 */
export class EventConsumer {
  #sub: EventSubscription<PodResctrlEvent>;
  readonly #view = new Map<string, PodView>();
  #reading: Promise<void> | undefined;

  constructor(
    private readonly plugin: ResctrlPlugin,
    private readonly translate: (e: PodResctrlEvent) => UnnumberedPodEvent,
  ) {
    this.#sub = plugin.events();
  }

  /** Resubscribes, replaces the view with `snapshotNow()` (same tick) and starts reading new events. */
  resync(snapshotNow: () => readonly PodView[]): void {
    this.#sub.close();
    this.#sub = this.plugin.events();
    this.#view.clear();
    for (const v of snapshotNow()) this.#view.set(v.pod, v);
    const sub = this.#sub;
    this.#reading = (async () => {
      for await (const e of sub) foldEvent(this.#view, this.translate(e));
    })();
  }

  /** The consumer's current view, sorted by pod name. */
  view(): PodView[] {
    return [...this.#view.values()].sort((a, b) => a.pod.localeCompare(b.pod));
  }

  /** Ends the subscription. Idempotent. */
  close(): void {
    this.#sub.close();
    void this.#reading;
  }
}
