import { readdir, readFile } from "node:fs/promises";

/** Clock ticks per second of `/proc/<pid>/stat` start times (USER_HZ, 100 on Linux x86). */
export const USER_HZ = 100;

/** Now, in clock ticks since boot (the clock of `/proc/<pid>/stat` field 22). */
export async function bootTicksNow(): Promise<number> {
  const up = Number((await readFile("/proc/uptime", "utf8")).split(" ")[0]);
  return Math.floor(up * USER_HZ);
}

/** Start time (ticks since boot) and parent PID of a task; undefined once it exited. */
async function taskStat(path: string): Promise<{ start: number; ppid: number } | undefined> {
  const text = await readFile(path, "utf8").catch(() => undefined);
  if (!text) return undefined;
  // Fields after the parenthesized command name: state(3) ppid(4) ... starttime(22).
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { ppid: Number(rest[1]), start: Number(rest[19]) };
}

/**
 * The tasks of the processes `procs` (one container's cgroup) that a real kernel would have in
 * the group whose tasks file lists `listed`. The kernel's rule that the in-memory resctrl model
 * lacks: a task created by a task of a group joins that group (clone/fork inherit it). So a live
 * thread that was never written is a member when it started after `cutoffTicks` (once the
 * plugin could have moved its creator) and its creator — approximated by its thread-group leader,
 * or for a process its parent — is a member. Threads that already existed before the cutoff
 * count only if they were written, so a plugin that forgets threads still fails.
 */
export async function kernelMembers(
  procs: readonly number[],
  listed: ReadonlySet<number>,
  cutoffTicks: number,
): Promise<number[]> {
  const procMember = new Map<number, boolean>();
  const stats = new Map<number, { start: number; ppid: number } | undefined>();
  for (const pid of procs) stats.set(pid, await taskStat(`/proc/${pid}/stat`));
  const isMember = (pid: number, depth = 0): boolean => {
    const known = procMember.get(pid);
    if (known !== undefined) return known;
    const st = stats.get(pid);
    const inherited =
      st !== undefined &&
      depth < 64 &&
      st.start > cutoffTicks &&
      stats.has(st.ppid) &&
      isMember(st.ppid, depth + 1);
    const member = listed.has(pid) || inherited;
    procMember.set(pid, member);
    return member;
  };
  const members: number[] = [];
  for (const pid of procs) {
    const tids = (await readdir(`/proc/${pid}/task`).catch(() => [] as string[])).map(Number);
    for (const tid of tids) {
      if (listed.has(tid)) members.push(tid);
      else if (tid !== pid && isMember(pid)) {
        const st = await taskStat(`/proc/${pid}/task/${tid}/stat`);
        if (st && st.start > cutoffTicks) members.push(tid);
      } else if (tid === pid && isMember(pid)) members.push(tid);
    }
  }
  return members;
}
