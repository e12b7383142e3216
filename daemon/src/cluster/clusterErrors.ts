// Failures of the cluster engine. NoFreeBlockError is a berth domain error (CNI 100, naming the
// pool); the others are for the integration layer to translate (an outage is CNI 11, a
// definition mismatch refuses the pool at start-up), so they carry a `kind` and no status.
import { BerthError } from '../errors.ts';

export type ClusterErrorKind = 'unavailable' | 'definitionMismatch' | 'poolOverlap' | 'blockSizeChange' | 'nodeAlive' | 'badData';

export abstract class ClusterError extends Error {
  abstract readonly kind: ClusterErrorKind;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * The cluster store did not answer within the deadline, or refused because it has no quorum.
 * `ambiguous`: a write had been sent, so it may have committed.
 */
export class ClusterUnavailableError extends ClusterError {
  readonly kind = 'unavailable' as const;
  constructor(readonly operation: string, readonly detail: string, readonly ambiguous = false) {
    super(`cluster store unavailable during ${operation}: ${detail}`);
  }
}

/** The pool's subnet has no block left that no node owns. Travels as POOL_EXHAUSTED (CNI 100). */
export class NoFreeBlockError extends BerthError {
  readonly reason = 'POOL_EXHAUSTED' as const;
  constructor(readonly pool: string, readonly totalBlocks: bigint, readonly avoided = 0) {
    super(`cluster pool "${pool}" has no free block: all ${totalBlocks} blocks are owned by nodes or excluded`
      + (avoided > 0 ? ` (or, ${avoided} of them, lost by this node that still holds conflicting leases in them: release those to use them again)` : ''), { pool });
  }
}

/** The pool is recorded in the cluster with another definition. Both are shown, canonical JSON. */
export class DefinitionMismatchError extends ClusterError {
  readonly kind = 'definitionMismatch' as const;
  constructor(readonly pool: string, readonly recorded: string, readonly local: string, readonly recordedBy: string) {
    super(`cluster pool "${pool}" is defined differently in the cluster (recorded by node "${recordedBy}"); refusing it. cluster: ${recorded} this node: ${local}`);
  }
}

export class PoolOverlapError extends ClusterError {
  readonly kind = 'poolOverlap' as const;
  constructor(readonly pool: string, readonly subnet: string, readonly otherPool: string, readonly otherSubnet: string) {
    super(`cluster pool "${pool}" (${subnet}) overlaps cluster pool "${otherPool}" (${otherSubnet})`);
  }
}

export class BlockSizeChangeError extends ClusterError {
  readonly kind = 'blockSizeChange' as const;
  constructor(readonly pool: string, readonly recorded: number, readonly wanted: number, readonly blocks: number) {
    super(`cluster pool "${pool}": blockSize cannot change from /${recorded} to /${wanted} while ${blocks} block(s) are claimed`);
  }
}

export class NodeAliveError extends ClusterError {
  readonly kind = 'nodeAlive' as const;
  constructor(readonly node: string) {
    super(`node "${node}" is alive (its liveness key exists); stop it first or use force`);
  }
}

/** A value or key under the prefix that does not follow berth's layout. Reported, never trusted. */
export class ClusterDataError extends ClusterError {
  readonly kind = 'badData' as const;
  constructor(readonly key: string, readonly problem: string) {
    super(`${key}: ${problem}`);
  }
}
