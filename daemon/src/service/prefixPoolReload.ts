// Applying a new prefix pool configuration: like address pools, anything that would orphan a held
// prefix (a removed pool, a moved network, a subnet no longer covering it, a reserved subnet over
// it) refuses the whole reload; everything else applies.
import { intervalsOverlap } from '../config/addressIntervals.ts';
import type { PrefixPoolConfig } from '../config/types.ts';
import { cidrBounds } from '../ip/address.ts';
import type { LeaseStore } from '../store/leaseStore.ts';
import { sameConfig } from './poolReload.ts';
import { PrefixPoolState } from './prefixPoolState.ts';

export interface PrefixReloadPlan {
  readonly problems: readonly string[];
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly string[];
}

const MAX_LISTED = 5;

export function planPrefixReload(current: readonly PrefixPoolState[], next: readonly PrefixPoolConfig[]): PrefixReloadPlan {
  const problems: string[] = [];
  const nextByName = new Map(next.map((pool) => [pool.name, pool]));
  const currentNames = new Set(current.map((pool) => pool.name));
  const removed: string[] = [];
  const changed: string[] = [];
  for (const pool of current) {
    const replacement = nextByName.get(pool.name);
    const held = pool.heldCount;
    if (!replacement) {
      if (held > 0) problems.push(`removing prefix pool "${pool.name}" would orphan its ${held} prefix lease(s); release them first`);
      else removed.push(pool.name);
      continue;
    }
    if (sameConfig(pool.config, replacement)) continue;
    changed.push(pool.name);
    if (held === 0) continue;
    if (replacement.network !== pool.config.network || replacement.family !== pool.config.family) {
      problems.push(`prefix pool "${pool.name}": moving it to network "${replacement.network}" or another IP family would strand its ${held} prefix lease(s); release them first`);
      continue;
    }
    const bounds = cidrBounds(replacement.subnet);
    const prefixes = pool.heldPrefixes();
    const stranded = pool.heldIntervals().flatMap((interval, i) =>
      interval.start < bounds.first || interval.end > bounds.last || replacement.reservedSubnets.some((reserved) => intervalsOverlap(reserved, interval))
        ? [prefixes[i]!] : []);
    if (stranded.length > 0) {
      problems.push(`prefix pool "${pool.name}": the new subnet or reserved subnets no longer allow held prefixes ${stranded.slice(0, MAX_LISTED).join(', ')}${stranded.length > MAX_LISTED ? ' and more' : ''}; release them first`);
    }
  }
  const added = next.filter((pool) => !currentNames.has(pool.name)).map((pool) => pool.name);
  return { problems, added, removed, changed };
}

/** The prefix pools of an accepted plan; unchanged pools keep their state object. */
export function applyPrefixReload(current: readonly PrefixPoolState[], plan: PrefixReloadPlan, next: readonly PrefixPoolConfig[], store: LeaseStore): PrefixPoolState[] {
  const byName = new Map(current.map((pool) => [pool.name, pool]));
  return next.map((config) => {
    const existing = byName.get(config.name);
    return existing && !plan.changed.includes(config.name) ? existing : PrefixPoolState.load(config, store);
  });
}
