// Pure address selection: which address to hand out next, given the allocatable intervals of a
// pool and the addresses already held. No I/O, no clock.
import { firstIntervalEndingAtOrAfter } from '../config/addressIntervals.ts';
import type { AddressInterval, AddressStrategy } from '../config/types.ts';
import type { TakenAddressSet } from './takenAddressSet.ts';

/** A uniformly random bigint in [0, bound); injected so that selection stays pure and testable. */
export type RandomBelow = (bound: bigint) => bigint;

export interface PickContext {
  readonly allocatable: readonly AddressInterval[];
  readonly taken: TakenAddressSet;
  /** Number of addresses in `allocatable`. */
  readonly size: bigint;
  /** The last address handed out (roundRobin). */
  readonly cursor?: bigint;
  readonly randomBelow: RandomBelow;
}

/**
 * The address a strategy hands out next, or undefined when none is free. Every strategy costs
 * O(intervals + log runs), whatever the number of leases:
 * - roundRobin: the first free address after the cursor, wrapping (a freed address is reused last);
 * - lowestFree: the lowest free address;
 * - random: the first free address at or after a uniformly random allocatable address, wrapping.
 */
export function pickAddress(strategy: AddressStrategy, context: PickContext): bigint | undefined {
  const { allocatable, taken } = context;
  switch (strategy) {
    case 'roundRobin':
      return pickNextFree(allocatable, taken, context.cursor);
    case 'lowestFree':
      return firstFreeFrom(allocatable, taken, allocatable[0]?.start ?? 0n);
    case 'random': {
      if (context.size === 0n) return undefined;
      const start = addressAtOffset(allocatable, context.randomBelow(context.size));
      return firstFreeFrom(allocatable, taken, start) ?? firstFreeFrom(allocatable, taken, allocatable[0]?.start ?? 0n);
    }
  }
}

/** The address `offset` places into the allocatable intervals (offset < their total size). */
function addressAtOffset(allocatable: readonly AddressInterval[], offset: bigint): bigint {
  let remaining = offset;
  for (const interval of allocatable) {
    const length = interval.end - interval.start + 1n;
    if (remaining < length) return interval.start + remaining;
    remaining -= length;
  }
  throw new RangeError(`offset ${offset} is beyond the allocatable addresses`);
}

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
