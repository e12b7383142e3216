// One pool's blocks checked against the cluster store: what the store confirms keeps being served,
// what it gives to another node (or nobody) is marked lost and never allocated from again, and a
// block it names this node's that the database does not know is adopted. A block this node still
// holds conflicting leases in is never served again, whoever the store names: those leases must
// not silently turn valid (they stay reported until DEL or `berthctl release` frees them).
import type { Logger } from 'pino';
import type { ClusterBlock, OwnedBlock } from '../cluster/index.ts';
import type { ClusterPoolConfig } from '../config/types.ts';
import { formatAddress, formatCidr, parseCidr } from '../ip/address.ts';
import type { ClusterBlockRecord } from '../store/clusterBlockStore.ts';
import type { CommitQueue, UnitOfWork } from '../store/commitQueue.ts';
import type { LeaseRecord } from '../store/leaseRecord.ts';
import type { LeaseStore } from '../store/leaseStore.ts';
import type { ClusterEngine } from './clusterBlockSupply.ts';

export interface ReconcileContext {
  readonly engine: ClusterEngine;
  readonly store: LeaseStore;
  readonly commitQueue: CommitQueue;
  readonly log: Logger;
  /** Serves the pool as the database now holds it (inside the caller's transaction). */
  rebuild(pool: ClusterPoolConfig, unit: UnitOfWork): void;
  leasesIn(pool: ClusterPoolConfig, block: { first: bigint; prefixLength: number }): LeaseRecord[];
  /** Blocks already reported as held back ("pool/cidr"): each is logged once, not every round. */
  readonly heldBackReported: Set<string>;
}

/** Reconciles one pool; returns how many keys under its block prefix were not berth records. */
export async function reconcilePool(context: ReconcileContext, pool: ClusterPoolConfig): Promise<number> {
  const { engine, store, log } = context;
  const held = store.clusterBlocks.list(pool.name);
  const believed: OwnedBlock[] = held.filter((b) => b.state === 'owned')
    .map((b) => ({ pool: pool.name, cidr: formatCidr(b.first, b.prefixLength, b.family), token: b.token, revision: b.revision }));
  const report = await engine.claimer.reconcile(pool.name, believed);
  for (const problem of report.problems) log.warn({ event: 'cluster.bad_record', key: problem.key, problem: problem.message }, `ignoring a key under the cluster prefix: ${problem.message}`);
  const lost = report.lost.map(({ block, now }) => ({ block, now, cidr: parseCidr(block.cidr) }));
  const lostWithLeases = (block: ClusterBlock) => {
    const cidr = parseCidr(block.cidr);
    const row = held.find((b) => b.state === 'lost' && b.first === cidr.network && b.prefixLength === cidr.prefixLength);
    return row !== undefined && context.leasesIn(pool, row).length > 0;
  };
  const heldBack = report.unknown.filter(lostWithLeases);
  const adopted = report.unknown.filter((block) => !heldBack.includes(block)).map((block) => ({ block, cidr: parseCidr(block.cidr) }));
  const lostWithoutLeases = held.filter((b) => b.state === 'lost' && context.leasesIn(pool, b).length === 0);
  const moved = report.confirmed.filter((block) => held.find((b) => b.token === block.token)?.revision !== block.revision);
  // Nothing changed (the usual round): no transaction, no fsync.
  if (moved.length + lost.length + adopted.length + lostWithoutLeases.length > 0) {
    await context.commitQueue.submit((unit) => {
      for (const confirmed of moved) {
        const cidr = parseCidr(confirmed.cidr);
        store.clusterBlocks.setRevision(pool.addressSpace, cidr.network, confirmed.token, confirmed.revision);
      }
      for (const { cidr } of lost) store.clusterBlocks.markLost(pool.addressSpace, cidr.network, Date.now());
      // Removed before adopting: a block whose conflicts were all freed may be this node's again.
      for (const block of lostWithoutLeases) store.clusterBlocks.remove(pool.addressSpace, block.first);
      for (const { block, cidr } of adopted) {
        store.clusterBlocks.record({ pool: pool.name, addressSpace: pool.addressSpace, family: cidr.family, first: cidr.network, prefixLength: cidr.prefixLength,
          token: block.token, revision: block.revision, claimedAtMs: Date.parse(block.claimedAt) || Date.now() });
      }
      if (lost.length + adopted.length + lostWithoutLeases.length > 0) context.rebuild(pool, unit);
    });
  }
  for (const { block, now, cidr } of lost) {
    const leases = context.leasesIn(pool, { first: cidr.network, prefixLength: cidr.prefixLength });
    const holder = now ? `now held by node "${now.node}"` : 'released in the cluster store';
    log.error({ event: 'cluster.block_lost', pool: pool.name, block: block.cidr, holder: now?.node ?? '', conflicts: describe(leases) },
      `block ${block.cidr} of cluster pool "${pool.name}" is no longer this node's (${holder}); no address of it is handed out any more; ${leases.length} lease(s) in it conflict and are kept until DEL`);
  }
  for (const { block } of adopted) log.warn({ event: 'cluster.block_adopted', pool: pool.name, block: block.cidr }, `block ${block.cidr} is this node's in the cluster store but was not recorded here (a claim whose reply was lost); serving it`);
  for (const key of [...context.heldBackReported].filter((key) => key.startsWith(`${pool.name}/`))) {
    if (!heldBack.some((block) => `${pool.name}/${block.cidr}` === key)) context.heldBackReported.delete(key);
  }
  for (const block of heldBack) {
    if (context.heldBackReported.has(`${pool.name}/${block.cidr}`)) continue;
    context.heldBackReported.add(`${pool.name}/${block.cidr}`);
    log.error({ event: 'cluster.block_held_back', pool: pool.name, block: block.cidr },
      `block ${block.cidr} of cluster pool "${pool.name}" is this node's in the cluster store again, but this node still holds conflicting leases from when it was lost; not serving it until they are released`);
  }
  return report.problems.length;
}

/** The blocks a claim of this node must skip: lost ones it still holds leases in. */
export function blocksToAvoid(blocks: readonly ClusterBlockRecord[]): bigint[] {
  return blocks.filter((b) => b.state === 'lost').map((b) => b.first);
}

function describe(leases: readonly LeaseRecord[]): string[] {
  return leases.map((l) => `${formatAddress(l.address, l.family)} ${l.containerId}/${l.ifname}`);
}
