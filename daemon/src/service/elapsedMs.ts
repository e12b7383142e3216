/** Milliseconds since a process.hrtime.bigint() reading, to the microsecond (audit events carry it). */
export function elapsedMs(started: bigint): number {
  return Math.round(Number(process.hrtime.bigint() - started) / 1e3) / 1e3;
}
