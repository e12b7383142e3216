// Pure address selection: which address to hand out next, given the allocatable intervals of a
// pool and the addresses already held. No I/O, no clock.
import type { AddressInterval } from '../config/types.ts';
import type { TakenAddressSet } from './takenAddressSet.ts';

/**
 * Round-robin like host-local: the first free address after `after` (the last one handed out),
 * wrapping around to the start, so a just-freed address is not immediately reused.
 * Cost: O(intervals + log runs); it jumps over held runs, never walks addresses.
 */
export function pickNextFree(allocatable: readonly AddressInterval[], taken: TakenAddressSet, after?: bigint): bigint | undefined {
  const startAt = after === undefined ? undefined : after + 1n;
  const first = startAt === undefined ? undefined : firstFreeFrom(allocatable, taken, startAt);
  return first ?? firstFreeFrom(allocatable, taken, allocatable[0]?.start ?? 0n);
}

/** The lowest free allocatable address >= from, or undefined. */
export function firstFreeFrom(allocatable: readonly AddressInterval[], taken: TakenAddressSet, from: bigint): bigint | undefined {
  for (let i = firstIntervalEndingAtOrAfter(allocatable, from); i < allocatable.length; i++) {
    const interval = allocatable[i]!;
    let candidate = interval.start > from ? interval.start : from;
    const runEnd = taken.runEndAt(candidate);
    if (runEnd !== undefined) candidate = runEnd + 1n;
    // Runs are merged, so the address after a run is free unless it leaves the interval.
    if (candidate <= interval.end) return candidate;
  }
  return undefined;
}

export function isAllocatable(allocatable: readonly AddressInterval[], address: bigint): boolean {
  const i = firstIntervalEndingAtOrAfter(allocatable, address);
  const interval = allocatable[i];
  return interval !== undefined && interval.start <= address;
}

function firstIntervalEndingAtOrAfter(intervals: readonly AddressInterval[], address: bigint): number {
  let lo = 0;
  let hi = intervals.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (intervals[mid]!.end < address) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
