// What the cluster block supply and its helpers (reconcile, idle release) work with: the cluster
// engine's parts (daemon/src/cluster/) and what they report. Apart from clusterBlockSupply.ts, so
// that the helpers need not import the supply that calls them.
import type { BlockClaimer, ClaimStore, ClusterPoolRegistry, NodePresence } from '../cluster/index.ts';

export interface ClusterEngine {
  readonly store: ClaimStore;
  readonly claimer: BlockClaimer;
  readonly definitions: ClusterPoolRegistry;
  readonly presence: NodePresence;
}

/** What the supply reports; metrics/clusterMetrics.ts is one (metrics/ sits above service/, never below). */
export interface ClusterSupplyMetrics {
  readonly connected: { set(value: number): void };
  readonly claims: { inc(labels: { pool: string; result: string }): void };
  readonly claimDuration: { observe(labels: { pool: string }, seconds: number): void };
  readonly releases: { inc(labels: { pool: string; result: string }): void };
  readonly badRecords: { set(value: number): void };
}
