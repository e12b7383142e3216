// Applying a new pool configuration to a running daemon: growth applies at once; anything that
// would strand a lease (a removed pool, a moved address space, ranges or a subnet no longer covering a
// held address or prefix) refuses the whole reload, and the old pools stay in service. One plan
// for every kind; what strands a lease is the only part each kind answers for itself.
import { intervalsOverlap, subtractIntervals } from '../config/addressIntervals.ts';
import { assignableIntervals } from '../config/poolSize.ts';
import type { BerthConfig, PoolConfig, PrefixPoolConfig } from '../config/types.ts';
import { cidrBounds, formatAddress } from '../ip/address.ts';
import type { LeaseStore } from '../store/leaseStore.ts';
import type { PoolCatalogue, ServedPool } from './poolCatalogue.ts';
import { PoolState } from './poolState.ts';
import { describeInterval, PrefixPoolState } from './prefixPoolState.ts';

type ServedConfig = PoolConfig | PrefixPoolConfig;

export type ReloadPlan =
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'refused'; readonly problems: readonly string[] }
  | { readonly kind: 'apply'; readonly added: readonly string[]; readonly removed: readonly string[]; readonly changed: readonly string[]; readonly next: readonly ServedConfig[] };

const MAX_LISTED = 5;

export function planReload(current: PoolCatalogue, config: BerthConfig): ReloadPlan {
  const next: ServedConfig[] = [...config.pools, ...config.prefixPools];
  const problems: string[] = [];
  const nextByName = new Map(next.map((pool) => [pool.name, pool]));
  const removed: string[] = [];
  const changed: string[] = [];
  for (const pool of current.all()) {
    const replacement = nextByName.get(pool.name);
    if (replacement && sameConfig(pool.config, replacement)) continue;
    // A pool that changes kind is a removal and an addition.
    const stranded = pool.kind === 'address' && replacement?.kind === 'address' ? strandedAddresses(pool, replacement)
      : pool.kind === 'prefix' && replacement?.kind === 'prefix' ? strandedPrefixes(pool, replacement) : strandedByRemoval(pool);
    if (stranded) problems.push(stranded);
    else if (replacement?.kind === pool.kind) changed.push(pool.name);
    else removed.push(pool.name);
  }
  const added = next.filter((pool) => current.get(pool.name)?.kind !== pool.kind).map((pool) => pool.name);
  if (problems.length > 0) return { kind: 'refused', problems };
  if (added.length === 0 && removed.length === 0 && changed.length === 0) return { kind: 'unchanged' };
  return { kind: 'apply', added, removed, changed, next };
}

/** Builds the pools of an accepted plan; unchanged pools keep their state object. */
export function applyReload(current: PoolCatalogue, plan: Extract<ReloadPlan, { kind: 'apply' }>, store: LeaseStore): ServedPool[] {
  return plan.next.map((config) => {
    const existing = current.get(config.name);
    if (existing && existing.kind === config.kind && !plan.changed.includes(config.name)) return existing;
    return config.kind === 'address' ? PoolState.load(config, store) : PrefixPoolState.load(config, store);
  });
}

function strandedByRemoval(pool: ServedPool): string | undefined {
  const [held, what] = pool.kind === 'address' ? [pool.taken.size, 'pool'] : [BigInt(pool.heldCount), 'prefix pool'];
  return held > 0n ? `removing ${what} "${pool.name}" would orphan its ${held} ${pool.kind === 'address' ? '' : 'prefix '}lease(s); release them first` : undefined;
}

function strandedAddresses(pool: PoolState, replacement: PoolConfig): string | undefined {
  if (replacement.addressSpace !== pool.config.addressSpace && pool.taken.size > 0n) {
    return `pool "${pool.name}": moving it from address space "${pool.config.addressSpace}" to "${replacement.addressSpace}" would leave its ${pool.taken.size} lease(s) in the old address space; release them first`;
  }
  const orphaned = orphanedAddresses(pool, replacement);
  return orphaned.length > 0 ? `pool "${pool.name}": the new ranges no longer cover leased addresses ${listed(orphaned)}; release them first` : undefined;
}

function strandedPrefixes(pool: PrefixPoolState, replacement: PrefixPoolConfig): string | undefined {
  const held = pool.heldCount;
  if (held === 0) return undefined;
  if (replacement.addressSpace !== pool.config.addressSpace || replacement.family !== pool.config.family) {
    return `prefix pool "${pool.name}": moving it to address space "${replacement.addressSpace}" or another IP family would strand its ${held} prefix lease(s); release them first`;
  }
  const bounds = cidrBounds(replacement.subnet);
  const stranded = pool.heldIntervals()
    .filter((held) => held.start < bounds.first || held.end > bounds.last || replacement.reservedSubnets.some((reserved) => intervalsOverlap(reserved, held)))
    .map((held) => describeInterval(held, pool.config.family));
  return stranded.length > 0 ? `prefix pool "${pool.name}": the new subnet or reserved subnets no longer allow held prefixes ${listed(stranded)}; release them first` : undefined;
}

function listed(items: readonly string[]): string {
  return `${items.slice(0, MAX_LISTED).join(', ')}${items.length > MAX_LISTED ? ' and more' : ''}`;
}

function orphanedAddresses(pool: PoolState, replacement: PoolConfig): string[] {
  if (replacement.family !== pool.config.family) return [...pool.taken.addresses()].slice(0, MAX_LISTED + 1).map((a) => formatAddress(a, pool.config.family));
  const allowed = assignableIntervals(replacement);
  const orphaned: string[] = [];
  for (const run of pool.taken.runs()) {
    for (const lost of subtractIntervals([run], allowed)) {
      for (let address = lost.start; address <= lost.end && orphaned.length <= MAX_LISTED; address++) {
        orphaned.push(formatAddress(address, pool.config.family));
      }
    }
    if (orphaned.length > MAX_LISTED) break;
  }
  return orphaned;
}

/** Two validated pool configurations (of either kind) are the same. */
export function sameConfig(a: object, b: object): boolean {
  return JSON.stringify(a, bigintAsText) === JSON.stringify(b, bigintAsText);
}

function bigintAsText(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
