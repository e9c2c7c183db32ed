import { rmSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { NriStub } from "../../../src/nri/index.js";
import type { NriContainer, NriPod } from "../../../src/nri/types.js";
import type { ResctrlPlugin } from "../../../src/plugin/plugin.js";
import { FakeRuntime, type SentRecord } from "../../fakes/fake-runtime.js";
import type { NriGeneration } from "../../fakes/nri-generations.js";

/** NRI request timeout of the fake runtime (containerd's default). */
export const MOCK_REQUEST_TIMEOUT_MS = 2000;
/** First reconnect delay of the plugin's stub after the fake runtime restarts. */
export const MOCK_RECONNECT_INITIAL_MS = 20;
/** Longest reconnect delay of the plugin's stub. */
export const MOCK_RECONNECT_MAX_MS = 200;

/** What the runtime knows when it (re)starts: the pods and containers it sends in Synchronize. */
export type RuntimeState = () => { pods: NriPod[]; containers: NriContainer[] };

/** Options of {@link FakeRuntimeLink.start}. */
export interface LinkOptions {
  plugin: ResctrlPlugin;
  /** Directory for the runtime socket (the scenario's tmp dir). */
  dir: string;
  logger: Logger;
  timeoutMs: number;
  state: RuntimeState;
  /** The runtime sends Synchronize in chunks of this many pods (@scripted-runtime). */
  syncChunkSize?: number;
  /** The NRI generation the fake runtime speaks (default v0.6). */
  nri?: NriGeneration;
  /** Sees the plugin's stub before it starts (the daemon services follow its connection). */
  watchStub?: (stub: NriStub) => void;
  /** The stub's NRI request timing hook (the daemon's metrics histogram). */
  onRequest?: (method: string, seconds: number) => void;
}

/**
 * Wires an in-process plugin to a {@link FakeRuntime} the way containerd and a plugin process are
 * wired: the real {@link NriStub} (with reconnect) dials the runtime's unix socket, registers, is
 * configured and synchronized; every event then travels over the socket. Owns the runtime and the
 * stub (not the plugin); `stop()` closes both.
 */
export class FakeRuntimeLink {
  #runtime: FakeRuntime | undefined;
  #syncs = 0;
  /** Journals of runtimes that were restarted, each followed by a "(connection closed)" record. */
  readonly #pastJournals: SentRecord[] = [];

  private constructor(
    private readonly o: LinkOptions,
    runtime: FakeRuntime | undefined,
    private readonly stub: NriStub,
  ) {
    this.#runtime = runtime;
    stub.on("synchronized", () => (this.#syncs += 1));
  }

  /** Listens, connects the plugin and resolves once the runtime considers it synchronized and ready. */
  static async start(o: LinkOptions): Promise<FakeRuntimeLink> {
    const runtime = await listen(o);
    const stub = newStub(o);
    const h = new FakeRuntimeLink(o, runtime, stub);
    await stub.start();
    await stub.waitSynchronized(o.timeoutMs);
    await runtime.waitForPlugin(o.timeoutMs);
    return h;
  }

  /**
   * Starts the plugin's stub while no runtime listens (its socket absent); resolves once the stub
   * failed its first connect and scheduled the next attempt. {@link startRuntime} brings the
   * runtime up.
   */
  static async startBeforeRuntime(o: LinkOptions): Promise<FakeRuntimeLink> {
    rmSync(socketPath(o.dir), { force: true });
    const stub = newStub(o);
    const h = new FakeRuntimeLink(o, undefined, stub);
    const waiting = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error("failed to start the plugin before the runtime: it never retried")),
        o.timeoutMs,
      );
      stub.once("reconnecting", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    // Registration happens only once the runtime is up; a stop before that rejects, which is fine.
    stub.start().catch(() => undefined);
    await waiting;
    return h;
  }

  /** Listens with the current state; resolves once the waiting plugin registered and was synchronized. */
  async startRuntime(): Promise<void> {
    if (this.#runtime) throw new Error("failed to start the runtime: it already runs");
    const before = this.#syncs;
    this.#runtime = await listen(this.o);
    await this.#runtime.waitForPlugin(this.o.timeoutMs);
    await this.#synchronizedMoreThan(before);
  }

  /** The runtime currently listening. */
  get runtime(): FakeRuntime {
    if (!this.#runtime)
      throw new Error("failed to reach the runtime: it is not up yet (When the runtime comes up)");
    return this.#runtime;
  }

  /** Synchronize requests the plugin has handled: 1 after start, +1 per re-registration. */
  get syncs(): number {
    return this.#syncs;
  }

  /** Every request the runtime(s) sent so far, oldest first (see FakeRuntime.journal). */
  journal(): SentRecord[] {
    return [...this.#pastJournals, ...(this.#runtime?.journal ?? [])];
  }

  /** Closes the runtime (the plugin sees EOF), listens again with the current state, waits for re-registration and a new Synchronize. */
  async restartRuntime(): Promise<void> {
    const before = this.#syncs;
    this.#pastJournals.push(...this.runtime.journal, {
      method: "(connection closed)",
      podId: "",
      delivered: false,
    });
    await this.runtime.close();
    this.#runtime = await listen(this.o);
    await this.#runtime.waitForPlugin(this.o.timeoutMs);
    await this.#synchronizedMoreThan(before);
  }

  /** Resolves once the stub handled more than `count` Synchronize requests; rejects after the timeout. */
  #synchronizedMoreThan(count: number): Promise<void> {
    if (this.#syncs > count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      // Registered after the constructor's counter, so it sees the count already incremented.
      const onSync = (): void => {
        if (this.#syncs <= count) return;
        clearTimeout(timer);
        this.stub.off("synchronized", onSync);
        resolve();
      };
      const timer = setTimeout(() => {
        this.stub.off("synchronized", onSync);
        reject(new Error("failed to restart the runtime: the plugin was not synchronized again"));
      }, this.o.timeoutMs);
      this.stub.on("synchronized", onSync);
    });
  }

  /** Awaits a runtime event call; rejects when no ready plugin was subscribed to it. */
  async deliver(what: string, target: string, call: Promise<boolean>): Promise<void> {
    if (!(await call))
      throw new Error(`failed to deliver ${what} for ${target}: no plugin is registered for it`);
  }

  /** Stops the stub and the runtime. Never rejects. */
  async stop(): Promise<void> {
    await this.stub.stop().catch(() => undefined);
    await this.#runtime?.close().catch(() => undefined);
  }
}

function newStub(o: LinkOptions): NriStub {
  const stub = new NriStub(o.plugin, {
    name: "resctrl",
    idx: "10",
    socketPath: socketPath(o.dir),
    logger: o.logger.child({ side: "stub" }),
    reconnect: { initialMs: MOCK_RECONNECT_INITIAL_MS, maxMs: MOCK_RECONNECT_MAX_MS },
    ...(o.onRequest ? { onRequest: o.onRequest } : {}),
  });
  o.watchStub?.(stub);
  return stub;
}

function socketPath(dir: string): string {
  return join(dir, "nri.sock");
}

async function listen(o: LinkOptions): Promise<FakeRuntime> {
  const runtime = await FakeRuntime.listen({
    socketPath: socketPath(o.dir),
    requestTimeoutMs: MOCK_REQUEST_TIMEOUT_MS,
    syncChunkSize: o.syncChunkSize,
    nri: o.nri,
    logger: o.logger.child({ side: "runtime" }),
  });
  const { pods, containers } = o.state();
  for (const p of pods) runtime.addPod(p);
  for (const c of containers) runtime.addContainer(c);
  return runtime;
}
