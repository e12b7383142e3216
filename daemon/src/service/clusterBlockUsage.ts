// Counting inside one block of a cluster pool, on the pool's in-memory state (no queries).
import type { ClusterPoolConfig } from '../config/types.ts';
import { cidrBounds, familyBits } from '../ip/address.ts';
import type { PoolState } from './poolState.ts';

/** Free addresses below this start a background claim: a quarter of a block. */
export function lowWater(pool: ClusterPoolConfig): bigint {
  const size = 1n << BigInt(familyBits(pool.family) - pool.blockSize);
  return size / 4n > 1n ? size / 4n : 1n;
}

export function blockBounds(block: { first: bigint; prefixLength: number; family: 4 | 6 }) {
  const { first, last } = cidrBounds({ family: block.family, network: block.first, prefixLength: block.prefixLength });
  return { start: first, end: last };
}

/** Free addresses of a pool inside one of its blocks. */
export function blockFree(state: PoolState, interval: { start: bigint; end: bigint }): bigint {
  let allocatable = 0n;
  for (const range of state.allocatable) {
    const start = range.start > interval.start ? range.start : interval.start;
    const end = range.end < interval.end ? range.end : interval.end;
    if (start <= end) allocatable += end - start + 1n;
  }
  return allocatable - state.taken.countWithin(interval);
}

