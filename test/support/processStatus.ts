// Reads a process's memory from /proc/<pid>/status, the way an operator would watch berthd.
import { readdirSync, readFileSync } from 'node:fs';

/** VmRSS in bytes, or undefined once the process is gone. */
export function residentBytes(pid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(text);
  return match ? Number(match[1]) * 1024 : undefined;
}

/** Samples VmRSS every intervalMs until stopped; stop() returns the peak seen. */
export function sampleResident(pid: number, intervalMs = 25): { stop(): number } {
  let peak = residentBytes(pid) ?? 0;
  const timer = setInterval(() => { peak = Math.max(peak, residentBytes(pid) ?? 0); }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, residentBytes(pid) ?? 0);
    },
  };
}

interface ProcStat { readonly pid: number; readonly ppid: number; readonly comm: string; readonly cpuTicks: number }

function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid ... utime stime ...": comm may hold spaces and parentheses.
  const close = text.lastIndexOf(')');
  const rest = text.slice(close + 2).split(' ');
  return { pid, ppid: Number(rest[1]), comm: text.slice(text.indexOf('(') + 1, close), cpuTicks: Number(rest[11]) + Number(rest[12]) };
}

/** This process's live children named `comm`, with the CPU time they have used so far. */
export function children(comm: string): ProcStat[] {
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name))
    .map((name) => procStat(Number(name)))
    .filter((stat): stat is ProcStat => stat !== undefined && stat.ppid === process.pid && stat.comm === comm);
}
