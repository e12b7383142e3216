// A cluster pool as this node serves it: an address pool whose ranges are the blocks it owns.
// Pure: the blocks come from the lease database, the pool from the config file. Served through
// the same PoolState, allocator and transaction as any local pool.
import { cidrBounds } from '../ip/address.ts';
import type { ClusterPoolConfig, PoolConfig, RangeConfig } from './types.ts';

export interface ServedBlock {
  readonly first: bigint;
  readonly prefixLength: number;
}

export function clusterPoolAsAddressPool(pool: ClusterPoolConfig, blocks: readonly ServedBlock[]): PoolConfig {
  const ranges: RangeConfig[] = [...blocks].sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0)).map((block) => {
    const { first, last } = cidrBounds({ family: pool.family, network: block.first, prefixLength: block.prefixLength });
    // firstOfBlock: each block is its own subnet, its first usable address the gateway (a bridge
    // or the node's route target); its network and broadcast addresses are then never handed out.
    return pool.gateway === 'firstOfBlock' ? { start: first, end: last, prefixLength: block.prefixLength, gateway: first + 1n } : { start: first, end: last };
  });
  return {
    kind: 'address', name: pool.name, addressSpace: pool.addressSpace, labels: pool.labels, family: pool.family, subnet: pool.subnet,
    reclaimDelaySeconds: pool.reclaimDelaySeconds, strategy: pool.strategy, ranges, exclude: pool.exclude,
    routes: pool.routes, dns: pool.dns, preAllocations: [],
  };
}
