import { credentials, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import {
  ControlClient as GenClient,
  type ContainerState,
  type PodEvent,
  type PodState,
  type RetryAllOnceResponse,
  type State,
} from "./gen/control/control.js";

/** Default time `ControlClient.connect` waits for the daemon's socket to accept. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

/** A running WatchEvents stream. */
export interface EventWatch {
  /** Cancels the stream; `onEnd` is not called for a cancel. Idempotent. */
  cancel(): void;
}

/**
 * Typed promise client for the daemon's control API over its unix socket, for tests, worlds and
 * tools. Failed calls reject with the grpc-js `ServiceError` (its `code` is a grpc `status`:
 * NOT_FOUND, RESOURCE_EXHAUSTED, …). Owns one channel; `close()` releases it.
 */
export class ControlClient {
  readonly #c: GenClient;

  private constructor(c: GenClient) {
    this.#c = c;
  }

  /** Connects to `unix:<socketPath>`; rejects if not ready within `timeoutMs`. */
  static async connect(socketPath: string, timeoutMs = DEFAULT_CONNECT_TIMEOUT_MS): Promise<ControlClient> {
    const c = new GenClient(`unix:${socketPath}`, credentials.createInsecure());
    try {
      await new Promise<void>((resolve, reject) =>
        c.waitForReady(Date.now() + timeoutMs, (err) =>
          err
            ? reject(new Error(`failed to connect control socket ${socketPath}`, { cause: err }))
            : resolve(),
        ),
      );
    } catch (e) {
      c.close();
      throw e;
    }
    return new ControlClient(c);
  }

  /**
   * Streams events to `onEvent` (snapshot first if `includeSnapshot`). `onEnd` is called once
   * when the server ends the stream (no argument) or it fails (the error); not on `cancel()`.
   */
  watchEvents(
    includeSnapshot: boolean,
    onEvent: (e: PodEvent) => void,
    onEnd?: (err?: Error) => void,
  ): EventWatch {
    const stream: ClientReadableStream<PodEvent> = this.#c.watchEvents({ includeSnapshot });
    let cancelled = false;
    let ended = false;
    const end = (err?: Error): void => {
      if (ended || cancelled) return;
      ended = true;
      onEnd?.(err);
    };
    stream.on("data", (e: PodEvent) => onEvent(e));
    stream.on("end", () => end());
    stream.on("error", (err: Error) => end(err));
    return {
      cancel: () => {
        if (cancelled) return;
        cancelled = true;
        stream.cancel();
      },
    };
  }

  getState(): Promise<State> {
    return call((cb) => this.#c.getState({}, cb));
  }

  /** Rejects NOT_FOUND (unknown pod) or RESOURCE_EXHAUSTED (no RMID free). */
  retryGroupCreation(podUid: string): Promise<PodState> {
    return call((cb) => this.#c.retryGroupCreation({ podUid }, cb));
  }

  /** Rejects NOT_FOUND (unknown container) or FAILED_PRECONDITION (cgroup gone). */
  retryContainerReconcile(containerId: string): Promise<ContainerState> {
    return call((cb) => this.#c.retryContainerReconcile({ containerId }, cb));
  }

  retryAllOnce(): Promise<RetryAllOnceResponse> {
    return call((cb) => this.#c.retryAllOnce({}, cb));
  }

  /** Closes the channel; pending calls fail with CANCELLED. */
  close(): void {
    this.#c.close();
  }
}

function call<T>(fn: (cb: (err: ServiceError | null, res: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res))));
}
