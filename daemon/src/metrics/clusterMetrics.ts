// Metrics of cluster pools, in BerthMetrics' registry: whether the cluster store is reachable,
// blocks by state, claims and their latency, leases left in blocks this node lost.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface ClusterBlockCounts {
  readonly pool: string;
  readonly owned: number;
  readonly lost: number;
  /** Leases in lost blocks: reported, never dropped. */
  readonly conflicts: number;
}

export class ClusterMetrics {
  readonly connected: Gauge;
  readonly claims: Counter<'pool' | 'result'>;
  readonly claimDuration: Histogram<'pool'>;
  readonly releases: Counter<'pool' | 'result'>;
  readonly badRecords: Gauge;

  constructor(registry: Registry, blocks: () => readonly ClusterBlockCounts[]) {
    const registers = [registry];
    this.connected = new Gauge({ name: 'berth_cluster_connected', help: '1 while the cluster store (etcd) answers; 0: degraded, serving from owned blocks only, no claims', registers });
    new Gauge({
      name: 'berth_cluster_blocks', help: 'Blocks of each cluster pool held by this node, by state: owned (served), lost (reclaimed in the cluster while this node held leases in it; never allocated from)',
      labelNames: ['pool', 'state'], registers,
      collect() {
        this.reset();
        for (const pool of blocks()) {
          this.set({ pool: pool.pool, state: 'owned' }, pool.owned);
          this.set({ pool: pool.pool, state: 'lost' }, pool.lost);
        }
      },
    });
    new Gauge({
      name: 'berth_cluster_lease_conflicts', help: 'Leases in blocks this node no longer owns in the cluster (reported, kept until DEL)', labelNames: ['pool'], registers,
      collect() {
        this.reset();
        for (const pool of blocks()) this.set({ pool: pool.pool }, pool.conflicts);
      },
    });
    this.claims = new Counter({ name: 'berth_cluster_claims_total', help: 'Block claims by pool and result (claimed, no_free_block, unavailable, error)', labelNames: ['pool', 'result'], registers });
    this.claimDuration = new Histogram({
      name: 'berth_cluster_claim_duration_seconds', help: 'Latency of a successful block claim (cluster store write and local record)', labelNames: ['pool'], registers,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    });
    this.releases = new Counter({ name: 'berth_cluster_block_releases_total', help: 'Idle blocks given back, by pool and result (released, gone, not_owned, unavailable)', labelNames: ['pool', 'result'], registers });
    this.badRecords = new Gauge({ name: 'berth_cluster_bad_records', help: 'Keys under the cluster prefix that are not valid berth records, at the last reconcile (refused and reported)', registers });
  }
}
