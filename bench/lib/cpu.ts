/**
 * Who used the CPU during a measurement, from /proc: the target, the upstream, the load generator
 * (a reaped child of the runner: its time shows in the runner's cutime), and anything else on the
 * machine. On a 2-core box another busy process skews every number, so
 * each row reports it rather than hiding it. Percentages are of one core (200% = both cores).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc times; 100 on every Linux this runs on (sysconf(_SC_CLK_TCK)). */
const HZ = 100;

interface Proc {
  ppid: number;
  comm: string;
  ticks: number;
}

export interface CpuSnapshot {
  at: number;
  procs: Map<number, Proc>;
  /** The runner's reaped children (the load generator, once it has exited). */
  reapedTicks: number;
  /** Machine-wide ticks from /proc/stat: total, idle and steal. */
  total: number;
  idle: number;
  steal: number;
  /** A target of several programs (gw-nginx: nginx, Gatehouse): each one's share of `target`. */
  parts?: Record<string, number>;
}

function parseStat(text: string): Proc & { cticks: number } {
  // comm is in parentheses and may contain spaces: fields restart after the last ')'
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const fields = text.slice(close + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime 15, cutime 16, cstime 17
  return {
    ppid: Number(fields[1]),
    comm,
    ticks: Number(fields[11]) + Number(fields[12]),
    cticks: Number(fields[13]) + Number(fields[14]),
  };
}

export function cpuSnapshot(): CpuSnapshot {
  const procs = new Map<number, Proc>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const { ppid, comm, ticks } = parseStat(readFileSync(`/proc/${name}/stat`, 'utf8'));
      procs.set(Number(name), { ppid, comm, ticks });
    } catch {
      // exited while we looked
    }
  }
  const self = parseStat(readFileSync('/proc/self/stat', 'utf8'));
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal ...
  return {
    at: Date.now(),
    procs,
    reapedTicks: self.cticks,
    total: cpu.slice(0, 8).reduce((a, b) => a + b, 0),
    idle: cpu[3]! + cpu[4]!,
    steal: cpu[7]!,
  };
}

/** A process and all its descendants, as found in the snapshot. */
export function tree(snapshot: CpuSnapshot, roots: number[]): Set<number> {
  const found = new Set(roots.filter((pid) => snapshot.procs.has(pid)));
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, proc] of snapshot.procs) {
      if (!found.has(pid) && found.has(proc.ppid)) {
        found.add(pid);
        grew = true;
      }
    }
  }
  return found;
}

export interface CpuUse {
  /** % of one core used by the target's processes. */
  target: number;
  upstream: number;
  /** Everything not part of the bench (nor Redis, which the Redis-mode targets use). */
  others: number;
  /** Machine-wide idle and steal, % of one core. */
  idle: number;
  steal: number;
  /** A target of several programs (gw-nginx: nginx, Gatehouse): each one's share of `target`. */
  parts?: Record<string, number>;
}

export function cpuUse(
  before: CpuSnapshot,
  after: CpuSnapshot,
  groups: { target: number[]; upstream: number[] },
): CpuUse {
  const target = tree(after, groups.target);
  const upstream = tree(after, groups.upstream);
  const runner = tree(after, [process.pid, process.ppid]);
  const others = new Set<number>();
  for (const [pid, proc] of after.procs) {
    if (!runner.has(pid) && !target.has(pid) && !upstream.has(pid) && proc.comm !== 'redis-server') others.add(pid);
  }
  const machine = (field: 'idle' | 'steal') => after[field] - before[field];
  return {
    target: pct(before, after, used(before, after, target)),
    upstream: pct(before, after, used(before, after, upstream)),
    others: pct(before, after, used(before, after, others)),
    idle: pct(before, after, machine('idle')),
    steal: pct(before, after, machine('steal')),
  };
}

/** % of one core used by these processes and their descendants. */
export function cpuOf(before: CpuSnapshot, after: CpuSnapshot, roots: number[]): number {
  return pct(before, after, used(before, after, tree(after, roots)));
}

function pct(before: CpuSnapshot, after: CpuSnapshot, ticks: number): number {
  const seconds = (after.at - before.at) / 1000;
  return Math.round((ticks / HZ / seconds) * 1000) / 10;
}

function used(before: CpuSnapshot, after: CpuSnapshot, pids: Set<number>): number {
  let ticks = 0;
  for (const pid of pids) {
    const a = after.procs.get(pid);
    const b = before.procs.get(pid);
    if (a && b && a.comm === b.comm) ticks += a.ticks - b.ticks;
  }
  return ticks;
}

/** Resident set size of a process, in bytes (VmRSS). */
export function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : 0;
}
