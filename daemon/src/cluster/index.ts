// The cluster engine's public surface, for the daemon's wiring (berthd, berthctl). Pure of the
// pool machinery: nothing here imports service/, grpc/ or store/. Only etcdClaimStore.ts imports etcd3.
//
// How a node uses it (sketch):
//
//   const store = new EtcdClaimStore({ endpoints, deadlineMs: 3000, tls: { ca, cert, key }, auth });
//   const registry = new ClusterPoolRegistry(store, nodeName, prefix);
//   const pool = await registry.ensure(definition);     // DefinitionMismatchError / PoolOverlapError: refuse the pool
//   const claimer = new BlockClaimer({ store, node: nodeName, prefix });
//   const presence = new NodePresence({ store, node: nodeName, labels, prefix });
//   await presence.start();                              // leased liveness key; re-granted by itself after an outage
//
//   // Background, when free addresses in owned blocks fall below a threshold:
//   const block = await claimer.claimBlock(pool);         // NoFreeBlockError (CNI 100) / ClusterUnavailableError (CNI 11)
//   // -> record { pool, cidr, token, revision } in SQLite BEFORE handing out addresses from it.
//
//   presence.reportUsage(perBlockUsage);                 // call freely; written at most once per interval
//
//   // On (re)connect and periodically: compare the SQLite view with etcd.
//   const report = await claimer.reconcile(pool.name, ownedBlocksFromSqlite);
//   //   report.lost:    stop using these at once, report their leases as conflicts
//   //   report.unknown: etcd says they are ours but SQLite does not know them (a claim whose reply
//   //                   was lost before it was recorded): adopt (record) or releaseBlock() them
//   //   report.confirmed: carry the current revision back to SQLite
//
//   // A block empty for --block-idle-seconds (keep one per pool):
//   await claimer.releaseBlock(owned);                   // 'released' | 'gone' | 'notOwned'
//
//   // Operators (berthctl cluster ...):
//   registry.list(); claimer.listBlocks(); listNodes(store); listUsage(store); auditCluster(store);
//   claimer.releaseNode(name, { force });                // NodeAliveError while its liveness key exists
//
// Errors: every failure to reach etcd is ClusterUnavailableError (kind 'unavailable'); cluster data
// that is not berth's is ClusterDataError, always reported in a `problems` list, never thrown
// from listings. All ClusterError subclasses carry `kind` for the error table at the edge.
export type { ClaimStore, StoredEntry, WriteOutcome, DeleteOutcome, WatchEvent, WatchListener, WatchHandle, LivenessHandle } from './claimStore.ts';
export { EtcdClaimStore, parseEtcdEndpoints, type EtcdClaimStoreOptions } from './etcdClaimStore.ts';
export { BlockClaimer, type BlockClaimerOptions, type ClusterBlock, type OwnedBlock, type ReconcileReport, type ReleaseOutcome } from './blockClaimer.ts';
export { ClusterPoolRegistry, findOverlap, type RecordedPool } from './poolRegistry.ts';
export { NodePresence, listNodes, listUsage, type NodePresenceOptions } from './nodePresence.ts';
export { carvePool, DEFAULT_BLOCK_SIZE, type CarvedPool, type ClusterPoolDefinition, type JsonValue } from './poolDefinition.ts';
export { BlockCandidates } from './blockCarving.ts';
export { ClusterKeys, DEFAULT_PREFIX, normalisePrefix, type BlockRecord, type BlockUsage, type NodeRecord, type UsageRecord, type PoolRecord } from './clusterRecords.ts';
export { auditCluster, type ClusterAudit } from './clusterAudit.ts';
export * from './clusterErrors.ts';
