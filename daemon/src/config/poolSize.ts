// Which addresses of a pool can be handed out, as intervals. Pure interval arithmetic: an IPv6
// /64 has 2^64 addresses and is never walked.
import { cidrBounds, maskAddress } from '../ip/address.ts';
import { countAddresses, mergeIntervals, subtractIntervals } from './addressIntervals.ts';
import type { AddressInterval, PoolConfig } from './types.ts';

export { countAddresses, mergeIntervals };

/** Addresses inside the subnet that are never handed out by rule, whatever the configuration says. */
function unusableAddresses(pool: Pick<PoolConfig, 'family' | 'subnet'>): AddressInterval[] {
  const { first, last } = cidrBounds(pool.subnet);
  if (pool.family === 4) {
    // Network and broadcast, except in point-to-point /31 (RFC 3021) and host /32 subnets.
    return pool.subnet.prefixLength >= 31 ? [] : [{ start: first, end: first }, { start: last, end: last }];
  }
  // The subnet-router anycast address (RFC 4291 2.6.1), except in /127 (RFC 6164) and /128.
  return pool.subnet.prefixLength >= 127 ? [] : [{ start: first, end: first }];
}

/**
 * Everything the pool may hand out to someone: the ranges minus the excludes, the gateways and
 * the unusable addresses (also those of a range with its own prefix length). Sorted and merged.
 */
export function assignableIntervals(pool: PoolConfig): AddressInterval[] {
  const blocked: AddressInterval[] = [...pool.exclude, ...unusableAddresses(pool)];
  if (pool.gateway !== undefined) blocked.push({ start: pool.gateway, end: pool.gateway });
  for (const range of pool.ranges) {
    if (range.gateway !== undefined) blocked.push({ start: range.gateway, end: range.gateway });
    if (range.prefixLength !== undefined) {
      const network = maskAddress(range.start, range.prefixLength, pool.family);
      blocked.push(...unusableAddresses({ family: pool.family, subnet: { family: pool.family, network, address: network, prefixLength: range.prefixLength } }));
    }
  }
  return subtractIntervals(pool.ranges, blocked);
}

/** What a free allocation picks from: the assignable addresses minus the pre-allocated ones. */
export function allocatableIntervals(pool: PoolConfig): AddressInterval[] {
  const assignable = assignableIntervals(pool);
  if (pool.preAllocations.length === 0) return assignable;
  return subtractIntervals(assignable, pool.preAllocations.map(({ address }) => ({ start: address, end: address })));
}

/** Addresses inside the subnet that are never handed out: outside the ranges, excluded, gateways, unusable. */
export function reservedCount(pool: PoolConfig): bigint {
  const { first, last } = cidrBounds(pool.subnet);
  return last - first + 1n - countAddresses(assignableIntervals(pool));
}
