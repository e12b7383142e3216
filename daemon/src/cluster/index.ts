// The cluster engine's public surface, for the daemon's wiring. Only etcdClaimStore.ts imports etcd3.
export type { ClaimStore, StoredEntry, WriteOutcome, DeleteOutcome, WatchEvent, WatchListener, WatchHandle, LivenessHandle } from './claimStore.ts';
export { EtcdClaimStore, type EtcdClaimStoreOptions } from './etcdClaimStore.ts';
export { BlockClaimer, type BlockClaimerOptions, type ClusterBlock, type OwnedBlock, type ReconcileReport, type ReleaseOutcome } from './blockClaimer.ts';
export { ClusterPoolRegistry, findOverlap, type RecordedPool } from './poolRegistry.ts';
export { NodePresence, listNodes, listUsage, type NodePresenceOptions } from './nodePresence.ts';
export { carvePool, DEFAULT_BLOCK_SIZE, type CarvedPool, type ClusterPoolDefinition, type JsonValue } from './poolDefinition.ts';
export { BlockCandidates } from './blockCarving.ts';
export { ClusterKeys, DEFAULT_PREFIX, type BlockRecord, type BlockUsage, type NodeRecord, type UsageRecord, type PoolRecord } from './clusterRecords.ts';
export * from './clusterErrors.ts';
export { auditCluster, type ClusterAudit } from './clusterAudit.ts';
