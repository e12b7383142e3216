// Pure prefix selection: which aligned block (a whole subnet) to hand out next, given the free
// space of a prefix pool. No I/O, no clock. Works on intervals and aligned blocks, never on
// addresses: a /48 holds 65,536 /64s and 2^80 addresses.
import type { AddressInterval, PrefixStrategy } from '../config/types.ts';

/** An aligned block: `size` is a power of two and `start` a multiple of it. */
export interface AlignedBlock {
  readonly start: bigint;
  readonly size: bigint;
}

/**
 * The start of the block of `size` addresses a strategy hands out from `free` (sorted, disjoint
 * intervals), or undefined when no aligned block of that size is free.
 * - sequential: the lowest free aligned block;
 * - efficient: best fit, the lowest block inside the smallest maximal free aligned block that
 *   holds it, so that the largest free blocks stay whole for larger requests.
 * Cost: O(free intervals × address bits).
 */
export function pickPrefix(strategy: PrefixStrategy, free: readonly AddressInterval[], size: bigint): bigint | undefined {
  if (strategy === 'sequential') {
    for (const interval of free) {
      const candidate = alignUp(interval.start, size);
      if (candidate + size - 1n <= interval.end) return candidate;
    }
    return undefined;
  }
  let best: AlignedBlock | undefined;
  for (const interval of free) {
    for (const block of alignedBlocks(interval)) {
      if (block.size < size || (best !== undefined && block.size >= best.size)) continue;
      best = block;
      if (block.size === size) return block.start;
    }
  }
  return best?.start;
}

/**
 * The maximal aligned blocks an interval is made of (the fewest CIDRs covering it exactly).
 * Every aligned block inside the interval lies inside exactly one of them.
 */
export function* alignedBlocks(interval: AddressInterval): Generator<AlignedBlock> {
  let start = interval.start;
  while (start <= interval.end) {
    // The largest power of two dividing start (any size for 0), shrunk until it fits.
    let size = start === 0n ? 1n << 128n : start & -start;
    while (start + size - 1n > interval.end) size >>= 1n;
    yield { start, size };
    start += size;
  }
}

/** How many aligned blocks of `size` fit entirely inside the intervals. */
export function countAlignedBlocks(intervals: readonly AddressInterval[], size: bigint): bigint {
  let count = 0n;
  for (const interval of intervals) {
    const first = alignUp(interval.start, size);
    const endExclusive = ((interval.end + 1n) / size) * size;
    if (endExclusive > first) count += (endExclusive - first) / size;
  }
  return count;
}

/**
 * The parts of `bounds` covered by none of the blocked lists. Each list is sorted and disjoint
 * within itself (held prefixes; reserved subnets); lists may touch or overlap one another.
 * O(total length): the lists are merged as they are walked, never sorted again.
 */
export function freeIntervals(bounds: AddressInterval, ...blocked: readonly (readonly AddressInterval[])[]): AddressInterval[] {
  const positions = blocked.map(() => 0);
  const free: AddressInterval[] = [];
  let next = bounds.start;
  for (;;) {
    // The blocked interval with the lowest start among the lists' heads.
    let lowest: AddressInterval | undefined;
    let from = -1;
    for (let i = 0; i < blocked.length; i++) {
      const head = blocked[i]![positions[i]!];
      if (head !== undefined && (lowest === undefined || head.start < lowest.start)) {
        lowest = head;
        from = i;
      }
    }
    if (lowest === undefined || lowest.start > bounds.end) break;
    positions[from] = positions[from]! + 1;
    if (lowest.end < next) continue;
    if (lowest.start > next) free.push({ start: next, end: lowest.start - 1n });
    next = lowest.end + 1n;
    if (next > bounds.end) return free;
  }
  if (next <= bounds.end) free.push({ start: next, end: bounds.end });
  return free;
}

function alignUp(value: bigint, size: bigint): bigint {
  return ((value + size - 1n) / size) * size;
}
