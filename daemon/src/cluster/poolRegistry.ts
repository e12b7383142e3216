// Cluster pool definitions in the store: the first node to serve a pool records it, every other
// node must bring the same definition. A half-rolled ConfigMap therefore refuses the pool on the
// nodes that differ instead of splitting the cluster.
import { parseCidr } from '../ip/address.ts';
import type { ClaimStore } from './claimStore.ts';
import { BlockSizeChangeError, ClusterDataError, DefinitionMismatchError, PoolOverlapError } from './clusterErrors.ts';
import { ClusterKeys, decodeEntries, decodePoolRecord, encodeRecord, isPoolName, type PoolRecord } from './clusterRecords.ts';
import { carvePool, subnetsOverlap, type CarvedPool, type ClusterPoolDefinition } from './poolDefinition.ts';

export interface RecordedPool extends PoolRecord {
  readonly name: string;
  readonly pool: CarvedPool;
  readonly revision: string;
}

export class ClusterPoolRegistry {
  readonly keys: ClusterKeys;
  constructor(private readonly store: ClaimStore, private readonly node: string, prefix?: string, private readonly now: () => Date = () => new Date()) {
    this.keys = new ClusterKeys(prefix);
  }

  /**
   * Records the definition if the pool is new, or checks it against the recorded one. Throws
   * DefinitionMismatchError (showing both), PoolOverlapError (another cluster pool's subnet
   * overlaps), ClusterUnavailableError. Returns the carved pool to claim blocks with.
   */
  async ensure(definition: ClusterPoolDefinition): Promise<CarvedPool> {
    const pool = carvePool(definition);
    const { pools } = await this.list();
    this.checkOverlap(pool, pools);
    const key = this.keys.pool(pool.name);
    const value = encodeRecord({ definition: pool.canonical, hash: pool.hash, recordedBy: this.node, recordedAt: this.now().toISOString() });
    const outcome = await this.store.create(key, value);
    if (outcome.ok) return pool;
    if (!outcome.current) return this.ensure(definition);
    const recorded = decodePoolRecord(key, outcome.current.value);
    if (recorded.definition !== pool.canonical) throw new DefinitionMismatchError(pool.name, recorded.definition, pool.canonical, recorded.recordedBy);
    return pool;
  }

  /**
   * Operator action: replaces a recorded definition. Refuses a blockSize change while the pool
   * has blocks (BlockSizeChangeError) and overlaps with other pools. Compares on the revision read.
   */
  async replace(definition: ClusterPoolDefinition): Promise<CarvedPool> {
    const pool = carvePool(definition);
    const { pools } = await this.list();
    this.checkOverlap(pool, pools);
    const existing = pools.find((p) => p.name === pool.name);
    if (!existing) return this.ensure(definition);
    if (existing.pool.blockSize !== pool.blockSize) {
      const blocks = await this.store.list(this.keys.blocksPrefix(pool.name));
      if (blocks.length > 0) throw new BlockSizeChangeError(pool.name, existing.pool.blockSize, pool.blockSize, blocks.length);
    }
    const value = encodeRecord({ definition: pool.canonical, hash: pool.hash, recordedBy: this.node, recordedAt: this.now().toISOString() });
    const outcome = await this.store.compareAndSwap(this.keys.pool(pool.name), value, existing.revision);
    if (!outcome.ok) throw new DefinitionMismatchError(pool.name, outcome.current?.value ?? '(deleted)', pool.canonical, 'a concurrent writer');
    return pool;
  }

  /** Every recorded pool, and a problem for every key or value that is not a berth pool record. */
  async list(): Promise<{ pools: RecordedPool[]; problems: ClusterDataError[] }> {
    const { records, problems } = decodeEntries(await this.store.list(this.keys.poolsPrefix()), (entry): RecordedPool => {
      const name = entry.key.slice(this.keys.poolsPrefix().length);
      if (!isPoolName(name)) throw new ClusterDataError(entry.key, 'not a berth pool key (<prefix>/pools/<pool name>)');
      const record = decodePoolRecord(entry.key, entry.value);
      let pool: CarvedPool;
      try {
        pool = carvePool(JSON.parse(record.definition) as ClusterPoolDefinition);
      } catch (error) {
        throw new ClusterDataError(entry.key, `field "definition": ${(error as Error).message}`);
      }
      if (pool.name !== name) throw new ClusterDataError(entry.key, `field "definition": names pool "${pool.name}", not "${name}"`);
      return { ...record, name, pool, revision: entry.revision };
    });
    return { pools: records, problems };
  }

  private checkOverlap(pool: CarvedPool, pools: readonly RecordedPool[]): void {
    for (const other of pools) {
      if (other.name !== pool.name && subnetsOverlap(pool.subnet, other.pool.subnet)) {
        throw new PoolOverlapError(pool.name, pool.subnetText, other.name, other.pool.subnetText);
      }
    }
  }
}

/** Overlap check among local definitions (before any store is reached): the first overlapping pair. */
export function findOverlap(definitions: readonly ClusterPoolDefinition[]): PoolOverlapError | undefined {
  const parsed = definitions.map((d) => ({ name: d.name, subnet: d.subnet, cidr: parseCidr(d.subnet) }));
  for (let i = 0; i < parsed.length; i++) {
    for (let j = i + 1; j < parsed.length; j++) {
      if (subnetsOverlap(parsed[i]!.cidr, parsed[j]!.cidr)) return new PoolOverlapError(parsed[i]!.name, parsed[i]!.subnet, parsed[j]!.name, parsed[j]!.subnet);
    }
  }
  return undefined;
}
