// What the cluster block supply and its helpers (reconcile, idle release) work with: the cluster
// engine's parts (daemon/src/cluster/) and what they report. Apart from clusterBlockSupply.ts, so
// that the helpers need not import the supply that calls them.
import type { Logger } from 'pino';
import type { BlockClaimer, ClaimStore, ClusterPoolRegistry, NodePresence } from '../cluster/index.ts';
import type { CommitQueue } from '../store/commitQueue.ts';
import type { LeaseStore } from '../store/leaseStore.ts';
import type { PoolCatalogue } from './poolCatalogue.ts';

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

/** What the supply and its helpers share: the engine, the node's database and its pools. */
export interface ClusterSupplyParts {
  readonly engine: ClusterEngine;
  readonly store: LeaseStore;
  readonly commitQueue: CommitQueue;
  readonly catalogue: PoolCatalogue;
  readonly log: Logger;
  readonly metrics?: ClusterSupplyMetrics;
  /** A block empty this long is given back (0: never). */
  readonly blockIdleSeconds: number;
}
