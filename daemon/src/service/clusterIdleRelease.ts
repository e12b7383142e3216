// Idle blocks of a cluster pool given back to the cluster: a block empty for blockIdleSeconds is
// removed from the served pool in the database first, then deleted in the store with a compare on
// its revision. The pool keeps at least one block, and enough free addresses not to claim again.
import type { ClusterPoolConfig } from '../config/types.ts';
import { formatCidr } from '../ip/address.ts';
import type { UnitOfWork } from '../store/commitQueue.ts';
import type { ClusterSupplyParts } from './clusterEngine.ts';
import { blockBounds, blockFree, lowWater } from './clusterBlockUsage.ts';

export interface IdleReleaseContext extends ClusterSupplyParts {
  /** Since when each block ("pool/first") has been seen empty. */
  readonly emptySince: Map<string, number>;
  rebuild(pool: ClusterPoolConfig, unit: UnitOfWork): void;
}

/** Gives back the pool's blocks empty for blockIdleSeconds; the pool keeps at least one block, and enough free addresses. */
export async function releaseIdleBlocks(context: IdleReleaseContext, pool: ClusterPoolConfig): Promise<void> {
  const { engine, store, log, metrics, blockIdleSeconds, emptySince } = context;
  const now = Date.now();
  const state = context.catalogue.find('address', pool.name);
  const owned = store.clusterBlocks.list(pool.name).filter((b) => b.state === 'owned');
  if (!state) return;
  for (const block of owned) {
    const key = `${pool.name}/${block.first}`;
    const interval = blockBounds(block);
    if (state.taken.countWithin(interval) > 0n) {
      emptySince.delete(key);
      continue;
    }
    const since = emptySince.get(key) ?? now;
    emptySince.set(key, since);
    if (now - since < blockIdleSeconds * 1000) continue;
    const released = await context.commitQueue.submit((unit) => {
      // Checked again where allocations run: an ADD may have taken an address meanwhile.
      const current = context.catalogue.find('address', pool.name);
      const remaining = store.clusterBlocks.list(pool.name).filter((b) => b.state === 'owned');
      if (!current || remaining.length <= 1 || current.taken.countWithin(interval) > 0n) return false;
      if (current.usage().free - blockFree(current, interval) < lowWater(pool)) return false;
      store.clusterBlocks.remove(pool.addressSpace, block.first);
      context.rebuild(pool, unit);
      return true;
    });
    emptySince.delete(key);
    if (!released) continue;
    const cidr = formatCidr(block.first, block.prefixLength, block.family);
    // Not served any more before the store hears of it; if the release fails, the next
    // reconcile finds the block still ours and serves it again.
    try {
      const outcome = await engine.claimer.releaseBlock({ pool: pool.name, cidr, token: block.token, revision: block.revision });
      metrics?.releases.inc({ pool: pool.name, result: outcome === 'notOwned' ? 'not_owned' : outcome });
      log.info({ event: 'cluster.block_released', pool: pool.name, block: cidr, outcome }, `released idle block ${cidr} of cluster pool "${pool.name}" (${outcome})`);
    } catch (error) {
      metrics?.releases.inc({ pool: pool.name, result: 'unavailable' });
      throw error;
    }
  }
}
