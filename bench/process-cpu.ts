/**
 * CPU seconds used by each process this one started, its descendants included (PostgreSQL's
 * backends are children of the postmaster), read from /proc: a bench can say where a machine's
 * time went, not only how busy it was. Linux only; elsewhere every figure is empty.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticks: number | undefined;
function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

interface Stat {
  ppid: number;
  comm: string;
  /** utime + stime of the process itself, plus cutime + cstime of its children that have exited (so nothing is counted twice). */
  ticks: number;
}

function readStat(pid: number): Stat | undefined {
  let raw: string;
  try {
    raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // gone since the listing
  }
  // comm is in parentheses and may hold spaces: the fields start after the last ')'.
  const close = raw.lastIndexOf(')');
  const comm = raw.slice(raw.indexOf('(') + 1, close);
  const f = raw.slice(close + 2).split(' ');
  // f[0] is field 3 (state): ppid is field 4, utime..cstime fields 14..17.
  return { ppid: Number(f[1]), comm, ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) };
}

/**
 * CPU seconds so far of every child of `rootPid` with its whole subtree, summed by `label(comm, pid)`
 * (children that share a label, such as several workers, are added up).
 */
export function childTreeCpuSeconds(label: (comm: string, pid: number) => string, rootPid = process.pid): Map<string, number> {
  const stats = new Map<number, Stat>();
  let pids: number[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
  } catch {
    return new Map();
  }
  for (const pid of pids) {
    const s = readStat(pid);
    if (s) stats.set(pid, s);
  }
  const children = new Map<number, number[]>();
  for (const [pid, s] of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
  const subtree = (pid: number): number => (stats.get(pid)?.ticks ?? 0) + (children.get(pid) ?? []).reduce((sum, c) => sum + subtree(c), 0);
  const out = new Map<string, number>();
  for (const child of children.get(rootPid) ?? []) {
    const name = label(stats.get(child)!.comm, child);
    out.set(name, (out.get(name) ?? 0) + subtree(child) / clockTicks());
  }
  return out;
}
