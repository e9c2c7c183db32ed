import { setWorldConstructor, World, type IWorldOptions } from "@cucumber/cucumber";
import { expect } from "chai";
import {
  portOf,
  type CapabilityPorts,
  type LogRecord,
  type PodEvent,
  type PodWorld,
  type PortCapability,
  type RetryOutcome,
} from "./worlds/types.js";

/** Default deadline of every "eventually" step, in ms. Override: worldParameters.timeoutMs or SCENARIO_TIMEOUT_MS. */
export const DEFAULT_SCENARIO_TIMEOUT_MS = 10_000;

/** Reads the effective "eventually" deadline: SCENARIO_TIMEOUT_MS beats worldParameters.timeoutMs beats the default. */
export function scenarioTimeoutMs(parameters: Readonly<Record<string, unknown>>, env = process.env): number {
  const fromEnv = Number(env.SCENARIO_TIMEOUT_MS);
  if (Number.isFinite(fromEnv) && fromEnv > 0) return fromEnv;
  const fromParams = Number(parameters.timeoutMs);
  if (Number.isFinite(fromParams) && fromParams > 0) return fromParams;
  return DEFAULT_SCENARIO_TIMEOUT_MS;
}

/**
 * The cucumber World: one per scenario. It owns the scenario's {@link PodWorld} port (created and
 * initialized by the Before hooks in support/hooks.ts) and the little memory steps need between
 * each other (the last retry outcome, event marks). Steps call `this.port.<method>` for the core
 * and `need(this, "<capability>").<method>` for a capability port, and assert on what comes back;
 * nothing here knows which world runs.
 */
export class ScenarioWorld extends World<Record<string, unknown>> {
  /** The world port; set by the first Before hook (undefined only if that hook skipped the scenario). */
  private portOrUndefined: PodWorld | undefined;
  /** Deadline of "eventually" steps for this scenario. */
  readonly timeoutMs: number;
  /** The outcome of the last operator retry. */
  lastRetry: RetryOutcome | undefined;
  /** Per pod: the `seq` of its newest event when the last operator action on it began (-1: none). */
  readonly marks = new Map<string, number>();
  /** Per pod: the `seq` of the newest event a step has already waited for ("acknowledged"). */
  readonly seen = new Map<string, number>();
  /** Texts of plugin error log lines a step declared expected (see the After hook in support/hooks.ts). */
  readonly expectedErrors: string[] = [];
  /** Pods and their container names declared by table steps, for "every pod" assertions. */
  readonly declaredPods = new Map<string, string[]>();
  /** The sweep interval the scenario declared (`Given the plugin sweeps every …`), in ms; undefined: not declared. */
  sweepIntervalMs: number | undefined;

  constructor(options: IWorldOptions<Record<string, unknown>>) {
    super(options);
    this.timeoutMs = scenarioTimeoutMs(options.parameters ?? {});
  }

  /** The scenario's world port. Throws if the Before hooks did not create one (a hook-order bug). */
  get port(): PodWorld {
    if (!this.portOrUndefined)
      throw new Error("failed to use the world port: it was not created (check support/hooks.ts)");
    return this.portOrUndefined;
  }

  /** Installs the port (support/hooks.ts only). */
  setPort(port: PodWorld | undefined): void {
    this.portOrUndefined = port;
  }

  /** The port if one was created, for After hooks that must not throw. */
  portIfAny(): PodWorld | undefined {
    return this.portOrUndefined;
  }

  /** Remembers the pod's newest event now, so a later step can look only at newer ones. */
  mark(pod: string): void {
    this.marks.set(pod, Math.max(-1, ...this.port.events(pod).map((e) => e.seq)));
  }

  /** Events of `pod` after its last {@link mark} (all events when never marked). */
  eventsSinceMark(pod: string): PodEvent[] {
    const after = this.marks.get(pod) ?? -1;
    return this.port.events(pod).filter((e) => e.seq > after);
  }

  /** Waits `ms` (only for "nothing happened" checks, which cannot be observed otherwise). */
  settle(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  /**
   * Polls `read` every {@link POLL_INTERVAL_MS} until `done(value)` or the scenario deadline, and
   * returns the last value read either way, so the caller's assertion shows what was seen.
   */
  async until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
    const deadline = Date.now() + this.timeoutMs;
    let value = await read();
    while (!done(value) && Date.now() < deadline) {
      await this.settle(POLL_INTERVAL_MS);
      value = await read();
    }
    return value;
  }

  /**
   * The deadline of a "within one sweep interval" step: the declared interval plus
   * {@link SWEEP_GRACE_MS}. Throws when the scenario declared no interval, or none (0).
   */
  oneSweepMs(): number {
    if (this.sweepIntervalMs === undefined || this.sweepIntervalMs <= 0)
      throw new Error(
        "failed to wait one sweep interval: the scenario declares no sweep interval (Given the plugin sweeps every N second(s))",
      );
    return this.sweepIntervalMs + SWEEP_GRACE_MS;
  }

  /**
   * Like {@link eventuallyMatching}, but with the deadline {@link oneSweepMs} instead of the
   * scenario's: the reaction must come from the next sweep, not from a later retry.
   */
  async withinOneSweep(pod: string, predicate: (e: PodEvent) => boolean): Promise<PodEvent> {
    const after = this.seen.get(pod) ?? -1;
    const ms = this.oneSweepMs();
    return this.acknowledge(
      await this.port
        .waitForEvent(pod, (e) => e.seq > after && predicate(e), ms)
        .catch((e: unknown) => {
          throw new Error(
            `failed within one sweep interval (${ms} ms: the interval plus ${SWEEP_GRACE_MS} ms): ${(e as Error).message}`,
            { cause: e },
          );
        }),
    );
  }

  /** Records that the scenario has looked at `pod`'s events up to `e` (see {@link unacknowledged}). */
  acknowledge(e: PodEvent): PodEvent {
    this.seen.set(e.pod, Math.max(this.seen.get(e.pod) ?? -1, e.seq));
    return e;
  }

  /** Events of `pod` newer than the newest one a step waited for: what "further event" means. */
  unacknowledged(pod: string): PodEvent[] {
    const after = this.seen.get(pod) ?? -1;
    return this.port.events(pod).filter((e) => e.seq > after);
  }

  /** Waits until `pod` reports `group`/`total`/`reconciled` (in any later event), with the scenario deadline. */
  async eventually(
    pod: string,
    group: "Exists" | "Failed",
    reconciled: number,
    total: number,
  ): Promise<PodEvent> {
    return this.eventuallyMatching(pod, (e) => matches(e, group, reconciled, total));
  }

  /**
   * Waits for the first event of `pod` newer than the acknowledged ones that satisfies `predicate`
   * (an old event never satisfies an "eventually": after a removal, an earlier 1 of 1 must not
   * count as the new 1 of 1), and acknowledges it.
   */
  async eventuallyMatching(pod: string, predicate: (e: PodEvent) => boolean): Promise<PodEvent> {
    const after = this.seen.get(pod) ?? -1;
    return this.acknowledge(
      await this.port.waitForEvent(pod, (e) => e.seq > after && predicate(e), this.timeoutMs),
    );
  }

  /**
   * Asserts that exactly one event for `pod` arrived since its mark, and that it shows the given
   * state: waits for it, then for a quiet period, then counts.
   */
  async expectExactlyOneEventSinceMark(
    pod: string,
    group: "Exists" | "Failed",
    reconciled: number,
    total: number,
  ): Promise<void> {
    const after = this.marks.get(pod) ?? -1;
    await this.port.waitForEvent(
      pod,
      (e) => e.seq > after && matches(e, group, reconciled, total),
      this.timeoutMs,
    );
    await this.port.assertNoEventWithin(pod, QUIET_PERIOD_MS).catch(() => undefined);
    expect(this.eventsSinceMark(pod).map(describeEvent)).to.deep.equal([
      `${pod}: ${group} ${reconciled} of ${total}`,
    ]);
  }
}

/**
 * The scenario world's port for `capability` (e.g. `need(this, "fault-injection")`); throws
 * CapabilityMissingError when the world lacks it, which a correctly tagged scenario never meets
 * (the capability hooks skip it first).
 */
export function need<C extends PortCapability>(world: ScenarioWorld, capability: C): CapabilityPorts[C] {
  return portOf(world.port, capability);
}

/** pino's "error" level: a plugin log line at or above it fails a passing scenario unless a step expected it. */
export const PLUGIN_ERROR_LEVEL = 50;

/** The plugin log lines at or above {@link PLUGIN_ERROR_LEVEL}, in order. Pure. */
export function pluginErrorLines(lines: readonly LogRecord[]): LogRecord[] {
  return lines.filter((l) => Number(l.level ?? 0) >= PLUGIN_ERROR_LEVEL);
}

/** Interval of {@link ScenarioWorld.until} polls. */
export const POLL_INTERVAL_MS = 20;

/** How long "exactly one event" waits for a second one before concluding there is none. */
export const QUIET_PERIOD_MS = 300;

/**
 * What "within one sweep interval" allows beyond the interval: the sweep's own work (sandbox and
 * cgroup checks, a group mkdir, moving tasks) and the event's way to the world.
 */
export const SWEEP_GRACE_MS = 1_000;

/** True if `e` is an AddOrUpdate with that group kind and those counters. */
export function matches(e: PodEvent, group: "Exists" | "Failed", reconciled: number, total: number): boolean {
  return (
    e.kind === "AddOrUpdate" && e.group.kind === group && e.reconciled === reconciled && e.total === total
  );
}

/** A stable, path-free one-line description of an event, for assertion messages and comparisons. */
export function describeEvent(e: PodEvent): string {
  if (e.kind === "Removed") return `${e.pod}: Removed`;
  return `${e.pod}: ${e.group.kind} ${e.reconciled} of ${e.total}`;
}

setWorldConstructor(ScenarioWorld);
