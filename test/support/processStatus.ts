// Reads a process's memory from /proc/<pid>/status, the way an operator would watch berthd.
import { readFileSync } from 'node:fs';

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
