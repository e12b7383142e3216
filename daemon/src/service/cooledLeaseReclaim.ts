// Freeing what finished cooling down, for every pool kind: a released address or prefix kept for
// its previous owner through the pool's reclaim delay becomes free for anyone.
import type { Logger } from 'pino';
import { formatAddress, formatCidr } from '../ip/address.ts';
import type { LeasePlace, PoolKind, ServiceDeps } from './poolCatalogue.ts';
import { prefixInterval } from './prefixPoolState.ts';

interface CooledLease extends LeasePlace {
  readonly kind: PoolKind;
  readonly end: bigint;
  /** What the audit event names: the address or the prefix. */
  readonly shown: { readonly address: string } | { readonly prefix: string };
}

/** Frees the addresses and prefixes whose reclaim delay is over; returns how many. No query when nothing cools. */
export async function reclaimCooled(deps: ServiceDeps, log: Logger): Promise<number> {
  if (!deps.pools.all().some((pool) => pool.coolingCount > 0)) return 0;
  const now = (deps.now ?? Date.now)();
  const reclaimed = await deps.commitQueue.submit((unit) => {
    const cooled: CooledLease[] = [
      ...deps.store.deleteCooledLeases(now).map((lease) => ({
        kind: 'address' as const, pool: lease.pool, addressSpace: lease.addressSpace, family: lease.family, start: lease.address, end: lease.address,
        shown: { address: formatAddress(lease.address, lease.family) },
      })),
      ...deps.store.prefixes.deleteCooled(now).map((lease) => ({
        kind: 'prefix' as const, pool: lease.pool, addressSpace: lease.addressSpace, family: lease.family, ...prefixInterval(lease.first, lease.prefixLength, lease.family),
        shown: { prefix: formatCidr(lease.first, lease.prefixLength, lease.family) },
      })),
    ];
    for (const lease of cooled) {
      const pool = deps.pools.holderOf(lease.kind, lease);
      // Cooling is counted by pool name: a lease left by a renamed pool was never counted here.
      if (pool?.unholdIn(unit, lease) && pool.name === lease.pool) pool.countCooling(unit, -1);
    }
    return cooled;
  });
  for (const lease of reclaimed) {
    const [event, message] = lease.kind === 'address' ? ['lease.reclaimed', 'cooled-down address is free again'] : ['prefix.reclaimed', 'cooled-down prefix is free again'];
    log.info({ event, pool: lease.pool, ...lease.shown }, message);
    deps.events?.reclaimed?.(lease.kind, lease.pool);
  }
  return reclaimed.length;
}
