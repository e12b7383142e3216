// What a configuration change does to the pools, for hot reload: which pools appear, which go,
// and which addresses stop being allocatable (a lease on one of those would be orphaned).
import { cidrBounds } from '../ip/address.ts';
import { subtractIntervals } from './addressIntervals.ts';
import { allocatableIntervals } from './poolSize.ts';
import type { AddressInterval, BerthConfig, PoolConfig } from './types.ts';

export interface PoolShrink {
  /** The pool as newly configured. */
  readonly pool: PoolConfig;
  /** The pool as it was configured; `lost` is in its family (it differs from `pool`'s when the subnet switched family). */
  readonly previous: PoolConfig;
  /** Addresses that were allocatable under the old configuration and are not under the new one. */
  readonly lost: readonly AddressInterval[];
}

export interface PoolDiff {
  readonly added: readonly PoolConfig[];
  readonly removed: readonly string[];
  /** Pools whose configuration differs in any way (ranges, gateway, routes, dns...). */
  readonly changed: readonly string[];
  /** The changed pools that lost allocatable addresses; empty when the change only grows or re-describes them. */
  readonly shrunk: readonly PoolShrink[];
}

export function diffPools(oldCfg: BerthConfig, newCfg: BerthConfig): PoolDiff {
  const oldByName = new Map(oldCfg.pools.map((pool) => [pool.name, pool]));
  const newNames = new Set(newCfg.pools.map((pool) => pool.name));
  const added: PoolConfig[] = [];
  const changed: string[] = [];
  const shrunk: PoolShrink[] = [];
  for (const pool of newCfg.pools) {
    const before = oldByName.get(pool.name);
    if (before === undefined) {
      added.push(pool);
      continue;
    }
    if (samePool(before, pool)) continue;
    changed.push(pool.name);
    const lost = lostAddresses(before, pool);
    if (lost.length > 0) shrunk.push({ pool, previous: before, lost });
  }
  const removed = oldCfg.pools.filter((pool) => !newNames.has(pool.name)).map((pool) => pool.name);
  return { added, removed, changed, shrunk };
}

function lostAddresses(before: PoolConfig, after: PoolConfig): AddressInterval[] {
  const was = allocatableIntervals(before);
  // A pool that switched family keeps none of its old addresses (the numbers may coincide).
  if (before.family !== after.family) return was;
  return subtractIntervals(was, allocatableIntervals(after));
}

function samePool(a: PoolConfig, b: PoolConfig): boolean {
  return canonical(a) === canonical(b);
}

function canonical(pool: PoolConfig): string {
  const { first, last } = cidrBounds(pool.subnet);
  return JSON.stringify({ ...pool, subnet: [pool.family, first, last] }, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
}
