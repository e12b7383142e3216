// Interval arithmetic on sorted, non-overlapping inclusive intervals. Pure.
import type { AddressInterval } from '../config/types.ts';

/** Parts of `interval` not covered by `cover` (sorted, non-overlapping). */
export function subtractIntervals(interval: AddressInterval, cover: readonly AddressInterval[]): AddressInterval[] {
  const remainder: AddressInterval[] = [];
  let next = interval.start;
  for (const piece of cover) {
    if (piece.end < next) continue;
    if (piece.start > interval.end) break;
    if (piece.start > next) remainder.push({ start: next, end: piece.start - 1n });
    next = piece.end + 1n;
    if (next > interval.end) return remainder;
  }
  if (next <= interval.end) remainder.push({ start: next, end: interval.end });
  return remainder;
}
