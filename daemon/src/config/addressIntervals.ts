// Set arithmetic on inclusive address intervals. Pure, and never walks addresses one by one:
// an IPv6 /64 holds 2^64 of them.
import type { AddressInterval } from './types.ts';

export function compareIntervals(a: AddressInterval, b: AddressInterval): number {
  if (a.start !== b.start) return a.start < b.start ? -1 : 1;
  return a.end === b.end ? 0 : a.end < b.end ? -1 : 1;
}

/** Sorts, and merges intervals that overlap or touch. */
export function mergeIntervals(intervals: readonly AddressInterval[]): AddressInterval[] {
  const merged: AddressInterval[] = [];
  for (const interval of [...intervals].sort(compareIntervals)) {
    const last = merged[merged.length - 1];
    if (last !== undefined && interval.start <= last.end + 1n) {
      if (interval.end > last.end) merged[merged.length - 1] = { start: last.start, end: interval.end };
    } else {
      merged.push({ start: interval.start, end: interval.end });
    }
  }
  return merged;
}

/** Addresses in `from` that are not in `remove`; both may be unsorted. Result sorted and merged. */
export function subtractIntervals(from: readonly AddressInterval[], remove: readonly AddressInterval[]): AddressInterval[] {
  const cover = mergeIntervals(remove);
  const result: AddressInterval[] = [];
  for (const interval of mergeIntervals(from)) {
    let next = interval.start;
    for (const piece of cover) {
      if (piece.end < next) continue;
      if (piece.start > interval.end) break;
      if (piece.start > next) result.push({ start: next, end: piece.start - 1n });
      next = piece.end + 1n;
      if (next > interval.end) break;
    }
    if (next <= interval.end) result.push({ start: next, end: interval.end });
  }
  return result;
}

export function intervalsOverlap(a: AddressInterval, b: AddressInterval): boolean {
  return a.start <= b.end && b.start <= a.end;
}

export function countAddresses(intervals: readonly AddressInterval[]): bigint {
  return intervals.reduce((sum, interval) => sum + (interval.end - interval.start + 1n), 0n);
}

/** True when the address lies in one of the sorted, disjoint intervals. */
export function intervalsInclude(intervals: readonly AddressInterval[], address: bigint): boolean {
  const interval = intervals[firstIntervalEndingAtOrAfter(intervals, address)];
  return interval !== undefined && interval.start <= address;
}

/** Index of the first of the sorted, disjoint intervals that ends at or after the address. */
export function firstIntervalEndingAtOrAfter(intervals: readonly AddressInterval[], address: bigint): number {
  return lastIndexWhere(0, intervals.length, (i) => intervals[i]!.end < address) + 1;
}

/**
 * The last index in [from, to) at which `holds` is true, or from - 1 when there is none; `holds`
 * must be true on a leading part of the range and false after it (e.g. "starts at or before x").
 */
export function lastIndexWhere(from: number, to: number, holds: (index: number) => boolean): number {
  let lo = from;
  let hi = to - 1;
  let found = from - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (holds(mid)) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}
