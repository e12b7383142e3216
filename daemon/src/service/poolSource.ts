import type { PoolConfig } from '../config/types.ts';

/**
 * Where a node's pools come from. Today: the config file (reloaded on SIGHUP or change). Later:
 * also per-node blocks claimed from a cluster-wide CIDR, served locally while that source is away.
 */
export interface PoolSource {
  /** The pools currently configured. */
  current(): readonly PoolConfig[];
}
