import type { NriContainer, NriPod } from "../nri/types.js";
import type { CgroupPidSource } from "../plugin/pid-source.js";

/** One scripted answer for a container: a list, a function, or an error to reject with. */
export type MockPidAnswer =
  | { kind: "pids"; pids: number[] }
  | { kind: "sequence"; lists: number[][] }
  | { kind: "fn"; fn: (call: number, container: NriContainer) => number[] | Promise<number[]> }
  | { kind: "error"; error: Error };

/**
 * Scripted {@link CgroupPidSource} for tests: answers per container id. A fixed list, a sequence
 * of lists (one per call; the last repeats), a function of the call number, or an error. Unknown
 * containers resolve to `[]` (an existing but empty cgroup) unless `unknown: "error"` is set.
 * Counts calls per container. Returns exactly what it is told (even 0 or negative PIDs), so tests
 * can check that lower layers refuse them. Never blocks beyond what a scripted function does.
 *
 * `sandboxGone` answers false (alive, or unknown) unless scripted with {@link setSandboxGone} by
 * pod UID or sandbox id (a sandbox-id script wins over a UID script); calls are counted.
 */
export class MockPidSource implements CgroupPidSource {
  readonly #containerGone = new Map<string, boolean | Error | (() => boolean)>();
  readonly #answers = new Map<string, MockPidAnswer>();
  readonly #calls = new Map<string, number>();
  readonly #unknown: "empty" | "error";
  readonly #gone = new Map<string, boolean | Error>();
  #goneCalls = 0;

  constructor(opts: { unknown?: "empty" | "error" } = {}) {
    this.#unknown = opts.unknown ?? "empty";
  }

  /** Always answer `pids` for `containerId`. */
  setPids(containerId: string, pids: number[]): this {
    this.#answers.set(containerId, { kind: "pids", pids: [...pids] });
    return this;
  }

  /** Answer `lists[0]` on the next call, `lists[1]` on the one after, …; the last list repeats. */
  setSequence(containerId: string, lists: number[][]): this {
    if (lists.length === 0) throw new Error("failed to script MockPidSource: sequence must not be empty");
    this.#answers.set(containerId, { kind: "sequence", lists: lists.map((l) => [...l]) });
    return this;
  }

  /** Answer with `fn(callNumber starting at 1, container)`. */
  setFn(
    containerId: string,
    fn: (call: number, container: NriContainer) => number[] | Promise<number[]>,
  ): this {
    this.#answers.set(containerId, { kind: "fn", fn });
    return this;
  }

  /** Reject every call with `error` (e.g. a CgroupGoneError). */
  setError(containerId: string, error: Error): this {
    this.#answers.set(containerId, { kind: "error", error });
    return this;
  }

  /** Forget the script of one container. */
  clear(containerId: string): this {
    this.#answers.delete(containerId);
    return this;
  }

  /**
   * Script `sandboxGone` for a pod UID or a sandbox id: `true` (gone), `false` (alive or unknown),
   * or an Error to reject with (to test that callers survive a misbehaving source).
   */
  setSandboxGone(podUidOrSandboxId: string, gone: boolean | Error): this {
    this.#gone.set(podUidOrSandboxId, gone);
    return this;
  }

  /** `sandboxGone` calls so far, all pods. */
  sandboxGoneCalls(): number {
    return this.#goneCalls;
  }

  /** `tasksOf` calls so far for `containerId`. */
  calls(containerId: string): number {
    return this.#calls.get(containerId) ?? 0;
  }

  /** `tasksOf` calls so far, all containers. */
  totalCalls(): number {
    let n = 0;
    for (const v of this.#calls.values()) n += v;
    return n;
  }

  cgroupPathOf(container: NriContainer): string {
    return `/mock-cgroup/${container.id}`;
  }

  /**
   * Script `containerGone` for a container id: `true` (exited), `false` (alive or unknown, the
   * default), a function asked on each call, or an Error to reject with.
   */
  setContainerGone(containerId: string, gone: boolean | Error | (() => boolean)): this {
    this.#containerGone.set(containerId, gone);
    return this;
  }

  async containerGone(container: NriContainer): Promise<boolean> {
    const a = this.#containerGone.get(container.id) ?? false;
    if (a instanceof Error) throw a;
    return typeof a === "function" ? a() : a;
  }

  async sandboxGone(pod: NriPod): Promise<boolean> {
    this.#goneCalls += 1;
    const a = this.#gone.get(pod.id) ?? this.#gone.get(pod.uid) ?? false;
    if (a instanceof Error) throw a;
    return a;
  }

  async tasksOf(container: NriContainer, _pod?: NriPod): Promise<number[]> {
    const call = (this.#calls.get(container.id) ?? 0) + 1;
    this.#calls.set(container.id, call);
    const a = this.#answers.get(container.id);
    if (!a) {
      if (this.#unknown === "error") {
        throw new Error(`failed to read tasks of container ${container.id}: not scripted in MockPidSource`);
      }
      return [];
    }
    switch (a.kind) {
      case "pids":
        return [...a.pids];
      case "sequence":
        return [...(a.lists[Math.min(call, a.lists.length) - 1] ?? [])];
      case "fn":
        return [...(await a.fn(call, container))];
      case "error":
        throw a.error;
    }
  }
}
