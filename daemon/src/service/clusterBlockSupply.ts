// Keeps each cluster pool this node serves supplied with blocks. Allocation never waits on the
// cluster store while an owned block has a free address: blocks are claimed in the background
// when free addresses run low, recorded in the lease database before any address of them is
// handed out, and served as the ranges of an ordinary address pool (same allocator, same
// transaction). While the store is unreachable nothing is claimed or released, and an ADD that
// needs a new block fails at once with CLUSTER_UNAVAILABLE (CNI 11). On reconnect every owned
// block is checked against the store: one reclaimed meanwhile stops being served at once and its
// leases are reported as conflicts, never dropped.
import type { Logger } from 'pino';
import {
  ClusterUnavailableError, NoFreeBlockError, type BlockClaimer, type CarvedPool, type ClaimStore, type ClusterBlock,
  type ClusterPoolRegistry, type NodePresence, type OwnedBlock,
} from '../cluster/index.ts';
import { clusterPoolAsAddressPool } from '../config/clusterPoolRanges.ts';
import type { ClusterPoolConfig } from '../config/types.ts';
import { ClusterUnavailableForPoolError } from '../errors.ts';
import { cidrBounds, familyBits, formatAddress, formatCidr, parseCidr } from '../ip/address.ts';
import type { ClusterMetrics } from '../metrics/clusterMetrics.ts';
import type { ClusterBlockRecord } from '../store/clusterBlockStore.ts';
import type { CommitQueue, UnitOfWork } from '../store/commitQueue.ts';
import type { LeaseStore } from '../store/leaseStore.ts';
import type { PoolCatalogue } from './poolCatalogue.ts';
import { blockBounds, blockFree, lowWater } from './clusterBlockUsage.ts';
import { definitionOf } from './clusterPoolDefinition.ts';
import { PoolState } from './poolState.ts';

export interface ClusterEngine {
  readonly store: ClaimStore;
  readonly claimer: BlockClaimer;
  readonly definitions: ClusterPoolRegistry;
  readonly presence: NodePresence;
}

export interface ClusterBlockSupplyOptions {
  /** The cluster pools whose nodeSelector this node matches. */
  readonly pools: readonly ClusterPoolConfig[];
  readonly engine: ClusterEngine;
  readonly store: LeaseStore;
  readonly commitQueue: CommitQueue;
  readonly registry: PoolCatalogue;
  readonly log: Logger;
  readonly metrics?: ClusterMetrics;
  /** A block empty this long is given back (0: never). */
  readonly blockIdleSeconds: number;
  /** How often the store is probed and blocks topped up and released (default 1000 ms). */
  readonly tickMs?: number;
  /** Full reconcile at least this often while connected (default 10 000 ms). */
  readonly reconcileMs?: number;
}

export interface ClusterPoolStatus {
  readonly pool: string;
  readonly blocks: readonly string[];
  readonly lostBlocks: readonly string[];
  readonly conflicts: number;
  /** Why this node does not claim for the pool (definition differs), or empty. */
  readonly refused: string;
}

export interface ClusterStatus {
  readonly connected: boolean;
  /** The last cluster store failure while degraded, or empty. */
  readonly outage: string;
  readonly pools: readonly ClusterPoolStatus[];
}

/** A request without a deadline still gets a bounded wait for a block. */
const DEFAULT_WAIT_MS = 10_000;

export class ClusterBlockSupply {
  private connected = false;
  private outage = 'not yet connected to the cluster store';
  private readonly pools: Map<string, ClusterPoolConfig>;
  private readonly carved = new Map<string, CarvedPool>();
  private readonly refused = new Map<string, string>();
  private readonly claiming = new Map<string, Promise<void>>();
  private readonly emptySince = new Map<string, number>();
  private syncing: Promise<void> | undefined;
  private lastReconcile = 0;
  private presenceStarted = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: ClusterBlockSupplyOptions) {
    this.pools = new Map(options.pools.map((pool) => [pool.name, pool]));
  }

  /** The pools as served from the blocks in the lease database: no cluster store needed. */
  loadPoolStates(): PoolState[] {
    return [...this.pools.values()].map((pool) => PoolState.load(this.servedConfig(pool), this.options.store));
  }

  get engineStore() {
    return this.options.engine.store;
  }

  serves(pool: string): boolean {
    return this.pools.has(pool);
  }

  /** Starts the background loop (first contact at once); never waits for the store. */
  start(): void {
    void this.sync();
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await Promise.allSettled([this.syncing, ...this.claiming.values()]);
    await this.options.engine.presence.stop().catch(() => undefined);
  }

  status(): ClusterStatus {
    return {
      connected: this.connected,
      outage: this.connected ? '' : this.outage,
      pools: [...this.pools.keys()].map((name) => {
        const blocks = this.options.store.clusterBlocks.list(name);
        const text = (block: ClusterBlockRecord) => formatCidr(block.first, block.prefixLength, block.family);
        return {
          pool: name, blocks: blocks.filter((b) => b.state === 'owned').map(text), lostBlocks: blocks.filter((b) => b.state === 'lost').map(text),
          conflicts: this.conflictsIn(name, blocks), refused: this.refused.get(name) ?? '',
        };
      }),
    };
  }

  blockCounts() {
    return this.status().pools.map((pool) => ({ pool: pool.pool, owned: pool.blocks.length, lost: pool.lostBlocks.length, conflicts: pool.conflicts }));
  }

  /**
   * Called by Allocate when a cluster pool had no free address: claims a block, waiting at most
   * until the request's deadline. Fails fast with CLUSTER_UNAVAILABLE while degraded, with
   * POOL_EXHAUSTED (naming the pool) when the cluster has no free block.
   */
  async needBlock(pool: string, deadlineMs: number): Promise<void> {
    const refusal = this.refused.get(pool);
    if (refusal) throw new ClusterUnavailableForPoolError(pool, refusal);
    const limit = Number.isFinite(deadlineMs) ? deadlineMs : Date.now() + DEFAULT_WAIT_MS;
    if (!this.connected) {
      // One round against the store (shared by every waiting ADD, at most one call's deadline):
      // a blip does not fail ADDs, an outage fails them as soon as that round does.
      await withDeadline(this.sync(), limit).catch(() => undefined);
      if (!this.connected) throw new ClusterUnavailableForPoolError(pool, `the cluster store is unreachable (${this.outage})`);
    }
    try {
      await withDeadline(this.claim(pool), limit);
    } catch (error) {
      if (error instanceof NoFreeBlockError) throw error;
      if (error instanceof DeadlineReached) throw new ClusterUnavailableForPoolError(pool, 'claiming a new block did not finish before the request deadline');
      if (error instanceof ClusterUnavailableError) throw new ClusterUnavailableForPoolError(pool, error.message);
      throw error;
    }
  }

  /** After an allocation from a cluster pool: claim ahead when its free addresses ran low. */
  noteAllocated(pool: string): void {
    const state = this.options.registry.find('address', pool);
    const config = this.pools.get(pool);
    if (!state || !config || !this.connected || this.claiming.has(pool) || this.refused.has(pool)) return;
    if (state.free() < lowWater(config)) void this.claim(pool).catch(() => undefined);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.sync().finally(() => this.schedule());
    }, this.options.tickMs ?? 1000);
    this.timer.unref();
  }

  /** One round: definitions, reconcile (on reconnect or every reconcileMs), top-up, idle release, usage. */
  private sync(): Promise<void> {
    this.syncing ??= this.syncOnce().finally(() => { this.syncing = undefined; });
    return this.syncing;
  }

  private async syncOnce(): Promise<void> {
    const { engine, log } = this.options;
    try {
      for (const pool of this.pools.values()) {
        if (this.carved.has(pool.name) || this.refused.has(pool.name)) continue;
        try {
          this.carved.set(pool.name, await engine.definitions.ensure(definitionOf(pool)));
        } catch (error) {
          if (error instanceof ClusterUnavailableError || !(error instanceof Error)) throw error;
          this.refused.set(pool.name, error.message);
          log.error({ event: 'cluster.pool_refused', pool: pool.name, err: error }, error.message);
        }
      }
      if (!this.presenceStarted) {
        await engine.presence.start();
        this.presenceStarted = true;
      }
      const reconnecting = !this.connected;
      if (reconnecting || Date.now() - this.lastReconcile >= (this.options.reconcileMs ?? 10_000)) {
        await this.reconcileAll();
        this.lastReconcile = Date.now();
      } else {
        await engine.store.get(engine.presence.keys.node(engine.claimer.node));
      }
      this.setConnected(true);
      for (const pool of this.pools.values()) this.noteAllocated(pool.name);
      await this.releaseIdleBlocks();
      engine.presence.reportUsage(this.usage());
    } catch (error) {
      if (error instanceof ClusterUnavailableError) this.setConnected(false, error.message);
      else log.error({ event: 'cluster.sync_failed', err: error }, `cluster sync failed: ${String(error)}`);
    }
  }

  private setConnected(connected: boolean, outage = ''): void {
    this.options.metrics?.connected.set(connected ? 1 : 0);
    if (connected === this.connected) return;
    this.connected = connected;
    if (!connected) this.outage = outage;
    if (connected) this.options.log.info({ event: 'cluster.connected' }, 'cluster store reachable: claiming and releasing blocks again');
    else this.options.log.warn({ event: 'cluster.degraded', outage }, `cluster store unreachable, serving from owned blocks only: ${outage}`);
  }

  /** Claims one block for the pool (one claim per pool at a time; callers share it). */
  private claim(pool: string): Promise<void> {
    let running = this.claiming.get(pool);
    if (!running) {
      running = this.claimOnce(pool).finally(() => this.claiming.delete(pool));
      this.claiming.set(pool, running);
    }
    return running;
  }

  private async claimOnce(name: string): Promise<void> {
    const { engine, metrics, log } = this.options;
    const pool = this.pools.get(name)!;
    const carved = this.carved.get(name);
    if (!carved) throw new ClusterUnavailableError('claim', `the definition of pool "${name}" is not yet recorded in the cluster store`);
    const started = process.hrtime.bigint();
    let block: ClusterBlock;
    try {
      block = await engine.claimer.claimBlock(carved);
    } catch (error) {
      metrics?.claims.inc({ pool: name, result: error instanceof NoFreeBlockError ? 'no_free_block' : error instanceof ClusterUnavailableError ? 'unavailable' : 'error' });
      if (error instanceof ClusterUnavailableError) this.setConnected(false, error.message);
      throw error;
    }
    const cidr = parseCidr(block.cidr);
    // Durable before any address of it is handed out: a restart serves it without the store.
    await this.options.commitQueue.submit((unit) => {
      this.options.store.clusterBlocks.record({ pool: name, addressSpace: pool.addressSpace, family: cidr.family, first: cidr.network, prefixLength: cidr.prefixLength,
        token: block.token, revision: block.revision, claimedAtMs: Date.now() });
      this.rebuild(pool, unit);
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    metrics?.claims.inc({ pool: name, result: 'claimed' });
    metrics?.claimDuration.observe({ pool: name }, seconds);
    log.info({ event: 'cluster.block_claimed', pool: name, block: block.cidr, latencyMs: Math.round(seconds * 1000) }, `claimed block ${block.cidr} of cluster pool "${name}"`);
  }

  /** The pool as served now, rebuilt from the database inside the caller's transaction. */
  private rebuild(pool: ClusterPoolConfig, unit: UnitOfWork): void {
    const previous = this.options.registry.find('address', pool.name);
    const next = PoolState.load(this.servedConfig(pool), this.options.store);
    if (previous?.cursor !== undefined) next.cursor = previous.cursor;
    this.options.registry.put(next);
    unit.onRollback(() => { if (previous) this.options.registry.put(previous); });
  }

  private servedConfig(pool: ClusterPoolConfig) {
    return clusterPoolAsAddressPool(pool, this.options.store.clusterBlocks.list(pool.name).filter((block) => block.state === 'owned'));
  }

  private async reconcileAll(): Promise<void> {
    const { engine, store, log, metrics } = this.options;
    let badRecords = 0;
    for (const pool of this.pools.values()) {
      const held = store.clusterBlocks.list(pool.name);
      const believed: OwnedBlock[] = held.filter((b) => b.state === 'owned')
        .map((b) => ({ pool: pool.name, cidr: formatCidr(b.first, b.prefixLength, b.family), token: b.token, revision: b.revision }));
      const report = await engine.claimer.reconcile(pool.name, believed);
      badRecords += report.problems.length;
      for (const problem of report.problems) log.warn({ event: 'cluster.bad_record', key: problem.key, problem: problem.message }, `ignoring a key under the cluster prefix: ${problem.message}`);
      const lost = report.lost.map(({ block, now }) => ({ block, now, cidr: parseCidr(block.cidr) }));
      const adopted = report.unknown.map((block) => ({ block, cidr: parseCidr(block.cidr) }));
      const lostWithoutLeases = held.filter((b) => b.state === 'lost' && this.leasesIn(pool, b).length === 0);
      const moved = report.confirmed.filter((block) => held.find((b) => b.token === block.token)?.revision !== block.revision);
      // Nothing changed (the usual round): no transaction, no fsync.
      if (moved.length + lost.length + adopted.length + lostWithoutLeases.length === 0) continue;
      await this.options.commitQueue.submit((unit) => {
        for (const confirmed of moved) {
          const cidr = parseCidr(confirmed.cidr);
          store.clusterBlocks.setRevision(pool.addressSpace, cidr.network, confirmed.token, confirmed.revision);
        }
        for (const { cidr } of lost) store.clusterBlocks.markLost(pool.addressSpace, cidr.network, Date.now());
        for (const { block, cidr } of adopted) {
          store.clusterBlocks.record({ pool: pool.name, addressSpace: pool.addressSpace, family: cidr.family, first: cidr.network, prefixLength: cidr.prefixLength,
            token: block.token, revision: block.revision, claimedAtMs: Date.parse(block.claimedAt) || Date.now() });
        }
        for (const block of lostWithoutLeases) store.clusterBlocks.remove(pool.addressSpace, block.first);
        if (lost.length + adopted.length + lostWithoutLeases.length > 0) this.rebuild(pool, unit);
      });
      for (const { block, now, cidr } of lost) {
        const leases = this.leasesIn(pool, { first: cidr.network, prefixLength: cidr.prefixLength });
        const holder = now ? `now held by node "${now.node}"` : 'released in the cluster store';
        log.error({ event: 'cluster.block_lost', pool: pool.name, block: block.cidr, holder: now?.node ?? '', conflicts: leases.map((l) => `${formatAddress(l.address, l.family)} ${l.containerId}/${l.ifname}`) },
          `block ${block.cidr} of cluster pool "${pool.name}" is no longer this node's (${holder}); no address of it is handed out any more; ${leases.length} lease(s) in it conflict and are kept until DEL`);
      }
      for (const { block } of adopted) log.warn({ event: 'cluster.block_adopted', pool: pool.name, block: block.cidr }, `block ${block.cidr} is this node's in the cluster store but was not recorded here (a claim whose reply was lost); serving it`);
    }
    metrics?.badRecords.set(badRecords);
  }

  /** Gives back blocks empty for blockIdleSeconds; a pool keeps at least one block, and enough free addresses. */
  private async releaseIdleBlocks(): Promise<void> {
    const { engine, store, log, metrics, blockIdleSeconds } = this.options;
    if (blockIdleSeconds <= 0) return;
    const now = Date.now();
    for (const pool of this.pools.values()) {
      const state = this.options.registry.find('address', pool.name);
      const owned = store.clusterBlocks.list(pool.name).filter((b) => b.state === 'owned');
      if (!state) continue;
      for (const block of owned) {
        const key = `${pool.name}/${block.first}`;
        const interval = blockBounds(block);
        if (state.taken.countWithin(interval) > 0n) {
          this.emptySince.delete(key);
          continue;
        }
        const since = this.emptySince.get(key) ?? now;
        this.emptySince.set(key, since);
        if (now - since < blockIdleSeconds * 1000) continue;
        const released = await this.options.commitQueue.submit((unit) => {
          // Checked again where allocations run: an ADD may have taken an address meanwhile.
          const current = this.options.registry.find('address', pool.name);
          const remaining = store.clusterBlocks.list(pool.name).filter((b) => b.state === 'owned');
          if (!current || remaining.length <= 1 || current.taken.countWithin(interval) > 0n) return false;
          if (current.usage().free - blockFree(current, interval) < lowWater(pool)) return false;
          store.clusterBlocks.remove(pool.addressSpace, block.first);
          this.rebuild(pool, unit);
          return true;
        });
        this.emptySince.delete(key);
        if (!released) continue;
        const cidr = formatCidr(block.first, block.prefixLength, block.family);
        // Not served any more before the store hears of it; if the release fails, the next
        // reconcile finds the block still ours and serves it again.
        try {
          const outcome = await engine.claimer.releaseBlock({ pool: pool.name, cidr, token: block.token, revision: block.revision });
          metrics?.releases.inc({ pool: pool.name, result: outcome === 'notOwned' ? 'not_owned' : outcome });
          log.info({ event: 'cluster.block_released', pool: pool.name, block: cidr, outcome }, `released idle block ${cidr} of cluster pool "${pool.name}" (${outcome})`);
        } catch (error) {
          metrics?.releases.inc({ pool: pool.name, result: 'unavailable' });
          throw error;
        }
      }
    }
  }

  private usage() {
    return [...this.pools.values()].flatMap((pool) => {
      const state = this.options.registry.find('address', pool.name);
      if (!state) return [];
      return this.options.store.clusterBlocks.list(pool.name).filter((b) => b.state === 'owned').map((block) => {
        const interval = blockBounds(block);
        const used = Number(state.taken.countWithin(interval));
        return { pool: pool.name, cidr: formatCidr(block.first, block.prefixLength, block.family), used, free: Number(blockFree(state, interval)) };
      });
    });
  }

  private conflictsIn(pool: string, blocks: readonly ClusterBlockRecord[]): number {
    const config = this.pools.get(pool)!;
    return blocks.filter((b) => b.state === 'lost').reduce((sum, block) => sum + this.leasesIn(config, block).length, 0);
  }

  private leasesIn(pool: ClusterPoolConfig, block: { first: bigint; prefixLength: number }) {
    const { first, last } = cidrBounds({ family: pool.family, network: block.first, prefixLength: block.prefixLength });
    return this.options.store.listLeases({ addressSpace: pool.addressSpace }).filter((lease) => lease.address >= first && lease.address <= last);
  }
}

class DeadlineReached extends Error {}

function withDeadline<T>(work: Promise<T>, deadlineMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new DeadlineReached('deadline')), Math.max(0, deadlineMs - Date.now()));
    work.then((value) => { clearTimeout(timer); resolve(value); }, (error: unknown) => { clearTimeout(timer); reject(error); });
  });
}
