// Applying a new pool configuration to a running daemon: growth applies at once; anything that
// would orphan a lease (a removed pool or a shrunk range still holding addresses) refuses the
// whole reload, and the old pools stay in service.
import { subtractIntervals } from '../config/addressIntervals.ts';
import { assignableIntervals } from '../config/poolSize.ts';
import type { PoolConfig } from '../config/types.ts';
import { formatAddress } from '../ip/address.ts';
import type { LeaseStore } from '../store/leaseStore.ts';
import type { PoolRegistry } from './poolRegistry.ts';
import { PoolState } from './poolState.ts';

export type ReloadPlan =
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'refused'; readonly problems: readonly string[] }
  | { readonly kind: 'apply'; readonly added: readonly string[]; readonly removed: readonly string[]; readonly changed: readonly string[]; readonly next: readonly PoolConfig[] };

const MAX_LISTED = 5;

export function planReload(current: PoolRegistry, next: readonly PoolConfig[]): ReloadPlan {
  const problems: string[] = [];
  const nextByName = new Map(next.map((pool) => [pool.name, pool]));
  const removed: string[] = [];
  const changed: string[] = [];
  for (const pool of current.all()) {
    const replacement = nextByName.get(pool.name);
    if (!replacement) {
      if (pool.taken.size > 0n) problems.push(`removing pool "${pool.name}" would orphan its ${pool.taken.size} lease(s); release them first`);
      else removed.push(pool.name);
      continue;
    }
    if (sameConfig(pool.config, replacement)) continue;
    changed.push(pool.name);
    if (replacement.network !== pool.config.network && pool.taken.size > 0n) {
      problems.push(`pool "${pool.name}": moving it from network "${pool.config.network}" to "${replacement.network}" would leave its ${pool.taken.size} lease(s) in the old network; release them first`);
      continue;
    }
    const orphaned = orphanedAddresses(pool, replacement);
    if (orphaned.length > 0) {
      problems.push(`pool "${pool.name}": the new ranges no longer cover leased addresses ${orphaned.slice(0, MAX_LISTED).join(', ')}${orphaned.length > MAX_LISTED ? ' and more' : ''}; release them first`);
    }
  }
  const added = next.filter((pool) => !current.has(pool.name)).map((pool) => pool.name);
  if (problems.length > 0) return { kind: 'refused', problems };
  if (added.length === 0 && removed.length === 0 && changed.length === 0) return { kind: 'unchanged' };
  return { kind: 'apply', added, removed, changed, next };
}

/** Builds the pools of an accepted plan; unchanged pools keep their state object. */
export function applyReload(current: PoolRegistry, plan: Extract<ReloadPlan, { kind: 'apply' }>, store: LeaseStore): PoolState[] {
  return plan.next.map((config) => {
    const existing = current.get(config.name);
    if (existing && !plan.changed.includes(config.name)) return existing;
    const state = PoolState.load(config, store);
    return state;
  });
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
