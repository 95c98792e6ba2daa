/**
 * CPU and memory of each part of the system, read from /proc: a group is some processes
 * and, optionally, all their descendants (gateway workers, PostgreSQL backends). CPU counts
 * user + system time, including children already reaped, so short-lived backends count too.
 * Memory is the proportional set size (PSS): shared pages are split between the processes
 * sharing them, so PostgreSQL's shared buffers count once, not once per backend.
 */
import { readdirSync, readFileSync } from "node:fs";

export interface ProcessGroup {
  pids: number[];
  /** Include every descendant of those pids. */
  tree: boolean;
}

export interface Sample {
  atMs: number;
  /** CPU seconds used so far, per group. */
  cpuSeconds: Record<string, number>;
  /** Empty when the sample did not read memory. */
  memoryMb: Record<string, number>;
}

const CLOCK_TICKS = (() => {
  const out = Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim();
  return Number(out) > 0 ? Number(out) : 100;
})();

export const canSample = (() => {
  try {
    readFileSync(`/proc/${process.pid}/stat`);
    return true;
  } catch {
    return false;
  }
})();

interface ProcStat {
  ppid: number;
  ticks: number;
}

function readStat(pid: number): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "latin1");
    // the command name may hold spaces and parentheses: fields start after the last ")"
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14..17
    const n = (field: number) => Number(fields[field - 3]);
    return { ppid: n(4), ticks: n(14) + n(15) + n(16) + n(17) };
  } catch {
    return null;
  }
}

function readMemoryKb(pid: number): number {
  for (const [file, key] of [[`/proc/${pid}/smaps_rollup`, "Pss:"], [`/proc/${pid}/status`, "VmRSS:"]] as const) {
    try {
      const text = readFileSync(file, "latin1");
      const at = text.indexOf(key);
      if (at >= 0) return parseInt(text.slice(at + key.length), 10) || 0;
    } catch {
      // gone, or not readable: try the next source
    }
  }
  return 0;
}

function allStats(): Map<number, ProcStat> {
  const stats = new Map<number, ProcStat>();
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const stat = readStat(pid);
    if (stat) stats.set(pid, stat);
  }
  return stats;
}

function members(group: ProcessGroup, stats: Map<number, ProcStat>): number[] {
  const found = new Set(group.pids.filter((p) => stats.has(p)));
  if (group.tree) {
    let grew = true;
    while (grew) {
      grew = false;
      for (const [pid, stat] of stats) {
        if (!found.has(pid) && found.has(stat.ppid)) {
          found.add(pid);
          grew = true;
        }
      }
    }
  }
  return [...found];
}

/**
 * CPU of every group and, with `memory`, its PSS. Reading PSS walks each process's page
 * tables in the kernel, on the cores the system under test runs on: callers read it less
 * often than CPU.
 */
export function sample(groups: Record<string, ProcessGroup>, atMs: number, memory = true): Sample {
  const stats = allStats();
  const s: Sample = { atMs, cpuSeconds: {}, memoryMb: {} };
  for (const [name, group] of Object.entries(groups)) {
    const pids = members(group, stats);
    s.cpuSeconds[name] = pids.reduce((sum, p) => sum + stats.get(p)!.ticks, 0) / CLOCK_TICKS;
    if (memory) s.memoryMb[name] = Math.round(pids.reduce((sum, p) => sum + readMemoryKb(p), 0) / 102.4) / 10;
  }
  return s;
}

/** Mean CPU % of each group between two samples (100 % = one core busy). */
export function cpuPercent(from: Sample, to: Sample): Record<string, number> {
  const seconds = (to.atMs - from.atMs) / 1000;
  const out: Record<string, number> = {};
  for (const name of Object.keys(to.cpuSeconds)) {
    out[name] = seconds > 0 ? Math.round((Math.max(0, to.cpuSeconds[name]! - (from.cpuSeconds[name] ?? 0)) / seconds) * 1000) / 10 : 0;
  }
  return out;
}
