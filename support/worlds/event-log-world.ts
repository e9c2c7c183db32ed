import { EventLog } from "./event-log.js";
import {
  capabilitiesOf,
  type Capability,
  type CapabilityPorts,
  type FlagCapability,
  type PodEvent,
} from "./types.js";

/**
 * The part of a {@link PodWorld} port every world implements the same way: the pod events, kept
 * in one {@link EventLog} per world instance, and the capabilities derived from the world's ports
 * and flags. A world extends this, lists its {@link ports}, feeds {@link eventLog} from wherever
 * its events come from, and closes it in `dispose()` (which rejects pending waits).
 *
 * Nothing here blocks except the returned promises; none of them polls.
 */
export abstract class EventLogWorld {
  /** The capability ports the world serves (see PodWorld.ports). */
  abstract readonly ports: Partial<CapabilityPorts>;
  /** The capabilities without methods the world has (see PodWorld.flags). */
  readonly flags?: readonly FlagCapability[];

  /** The world's capabilities, derived from {@link ports} and {@link flags} ({@link capabilitiesOf}). */
  capabilities(): ReadonlySet<Capability> {
    return capabilitiesOf(this);
  }

  /** The scenario's events; owned by the world instance, closed by its `dispose()`. */
  protected readonly eventLog = new EventLog();

  /** Events of one pod, oldest first. */
  events(pod: string): readonly PodEvent[] {
    return this.eventLog.of(pod);
  }

  /** All events, oldest first. */
  allEvents(): readonly PodEvent[] {
    return this.eventLog.all();
  }

  /** The first event of `pod` (recorded or future) matching `predicate`; rejects after `timeoutMs`. */
  waitForEvent(pod: string, predicate: (e: PodEvent) => boolean, timeoutMs: number): Promise<PodEvent> {
    return this.eventLog.waitFor(pod, predicate, timeoutMs);
  }

  /** Waits `ms`; rejects if any event of `pod` was recorded meanwhile. */
  assertNoEventWithin(pod: string, ms: number): Promise<void> {
    return this.eventLog.assertQuiet(pod, ms);
  }
}
