// Everything under the prefix, sorted into berth records and problems: what `berthctl cluster
// check` reports, and the proof that foreign keys and garbage values are refused, not trusted.
import type { ClaimStore } from './claimStore.ts';
import { BlockClaimer } from './blockClaimer.ts';
import { ClusterDataError } from './clusterErrors.ts';
import { ClusterKeys, decodeNodeEntry, decodeUsageEntry } from './clusterRecords.ts';
import { ClusterPoolRegistry } from './poolRegistry.ts';

export interface ClusterAudit {
  readonly pools: number;
  readonly blocks: number;
  readonly nodes: number;
  readonly usageReports: number;
  /** One per key that is not a valid berth record, naming the key and the field. */
  readonly problems: ClusterDataError[];
}

export async function auditCluster(store: ClaimStore, prefix?: string): Promise<ClusterAudit> {
  const keys = new ClusterKeys(prefix);
  const claimer = new BlockClaimer({ store, node: 'audit', ...(prefix ? { prefix } : {}) });
  const registry = new ClusterPoolRegistry(store, 'audit', prefix);
  const problems: ClusterDataError[] = [];
  let pools = 0, blocks = 0, nodes = 0, usageReports = 0;
  const registered = await registry.list();
  pools = registered.pools.length;
  problems.push(...registered.problems);
  for (const entry of await store.list(`${keys.prefix}/`)) {
    try {
      if (entry.key.startsWith(keys.poolsPrefix())) continue;
      if (entry.key.startsWith(keys.blocksPrefix())) {
        claimer.decodeBlock(entry);
        blocks += 1;
      } else if (entry.key.startsWith(keys.nodesPrefix())) {
        decodeNodeEntry(keys, entry);
        nodes += 1;
      } else if (entry.key.startsWith(keys.usagePrefix())) {
        decodeUsageEntry(keys, entry);
        usageReports += 1;
      } else {
        throw new ClusterDataError(entry.key, 'not a berth key (expected pools/, blocks/, nodes/ or usage/ under the prefix)');
      }
    } catch (error) {
      if (!(error instanceof ClusterDataError)) throw error;
      problems.push(error);
    }
  }
  return { pools, blocks, nodes, usageReports, problems };
}
