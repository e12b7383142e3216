// Keeps each cluster pool this node serves supplied with blocks. Allocation never waits on the
// cluster store while an owned block has a free address: blocks are claimed in the background
// when free addresses run low, recorded in the lease database before any address of them is
// handed out, and served as the ranges of an ordinary address pool (same allocator, same
// transaction). While the store is unreachable nothing is claimed or released, and an ADD that
// needs a new block fails at once with CLUSTER_UNAVAILABLE (CNI 11). On reconnect every owned
// block is checked against the store: one reclaimed meanwhile stops being served at once and its
// leases are reported as conflicts, never dropped. At start, allocations from blocks read from the
// database wait (a bounded moment) for that check, so a restarted node never hands out an address
// of a block reclaimed while it was down; with the store unreachable they are served as they are.
import {
  ClusterUnavailableError, NoFreeBlockError, type CarvedPool, type ClusterBlock,
} from '../cluster/index.ts';
import { clusterPoolAsAddressPool } from '../config/clusterPoolRanges.ts';
import type { ClusterPoolConfig } from '../config/types.ts';
import { OwnedBlockWatch } from '../cluster/ownedBlockWatch.ts';
import { ClusterUnavailableForPoolError } from '../errors.ts';
import { cidrBounds, formatCidr, parseCidr } from '../ip/address.ts';
import type { ClusterBlockRecord } from '../store/clusterBlockStore.ts';
import type { UnitOfWork } from '../store/commitQueue.ts';
import { blockBounds, blockFree, lowWater } from './clusterBlockUsage.ts';
import type { ClusterSupplyParts } from './clusterEngine.ts';
import { definitionOf } from './clusterPoolDefinition.ts';
import { releaseIdleBlocks } from './clusterIdleRelease.ts';
import { blocksToAvoid, reconcilePool } from './clusterReconcile.ts';
import { PoolState } from './poolState.ts';

export interface ClusterBlockSupplyOptions extends ClusterSupplyParts {
  /** The cluster pools whose nodeSelector this node matches. */
  readonly pools: readonly ClusterPoolConfig[];
  /** How often the store is probed and blocks topped up and released (default 1000 ms). */
  readonly tickMs?: number;
  /** Full reconcile at least this often while connected (default 10 000 ms). */
  readonly reconcileMs?: number;
  /** At start, how long allocations from blocks in the database wait for their check (default 3000 ms). */
  readonly startupCheckMs?: number;
}

export interface ClusterPoolStatus {
  readonly pool: string;
  readonly blocks: readonly string[];
  readonly lostBlocks: readonly string[];
  readonly conflicts: number;
  /** Why this node does not claim for the pool (definition differs), or empty. */
  readonly refused: string;
  /** Why the last claim failed (no free block in the cluster), or empty. */
  readonly claimError: string;
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
  /** The last claim that found no free block, per pool: shown in status, and background claims back off. */
  private readonly claimErrors = new Map<string, { message: string; atMs: number }>();
  /** Pending while blocks read from the database at start have not been checked against the store. */
  private startupCheck: Promise<void> | undefined;
  private readonly heldBackReported = new Set<string>();
  /** An owned block's key changed in the store (an operator released or re-assigned it): reconcile now. */
  private readonly watch: OwnedBlockWatch;
  private syncing: Promise<void> | undefined;
  private lastReconcile = 0;
  private presenceStarted = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: ClusterBlockSupplyOptions) {
    this.pools = new Map(options.pools.map((pool) => [pool.name, pool]));
    this.watch = new OwnedBlockWatch(options.engine.store, (key) => {
      if (this.stopped) return;
      options.log.info({ event: 'cluster.block_changed', key }, `the cluster store changed owned block ${key}: checking blocks now`);
      this.lastReconcile = 0;
      void this.sync();
    }, options.engine.claimer.keys.prefix);
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
    const first = this.sync();
    const heldBlocks = this.options.store.clusterBlocks.list().some((block) => this.pools.has(block.pool) && block.state === 'owned');
    if (heldBlocks) {
      this.startupCheck = withDeadline(first, Date.now() + (this.options.startupCheckMs ?? 3000))
        .catch(() => undefined)
        .finally(() => { this.startupCheck = undefined; });
    }
    this.schedule();
  }

  /**
   * Pending (at most startupCheckMs) until the blocks read from the database at start have been
   * checked against the store, or the store was found unreachable: an allocation from a cluster
   * pool awaits it, so none comes from a block reclaimed while this node was down.
   */
  startupChecked(): Promise<void> | undefined {
    return this.startupCheck;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await Promise.allSettled([this.syncing, ...this.claiming.values()]);
    await this.watch.close().catch(() => undefined);
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
          conflicts: this.conflictsIn(name, blocks), refused: this.refused.get(name) ?? '', claimError: this.claimErrors.get(name)?.message ?? '',
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
    const state = this.options.catalogue.find('address', pool);
    const config = this.pools.get(pool);
    if (!state || !config || !this.connected || this.claiming.has(pool) || this.refused.has(pool)) return;
    // The cluster had no free block a moment ago: ask again at the reconcile pace, not every tick
    // (an ADD that needs a block still asks at once, in needBlock).
    const noFreeBlock = this.claimErrors.get(pool);
    if (noFreeBlock && Date.now() - noFreeBlock.atMs < (this.options.reconcileMs ?? 10_000)) return;
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
      this.watch.update(this.options.store.clusterBlocks.list().filter((b) => b.state === 'owned' && this.pools.has(b.pool))
        .map((b) => ({ pool: b.pool, cidr: { family: b.family, network: b.first, prefixLength: b.prefixLength }, token: b.token })));
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
    if (connected) {
      if (this.connected) return;
      this.connected = true;
      this.options.log.info({ event: 'cluster.connected' }, 'cluster store reachable: claiming and releasing blocks again');
      return;
    }
    // Down: each new reason is kept and logged once, also while still down (the first round at
    // start would otherwise fail behind "not yet connected", hiding why).
    if (!this.connected && outage === this.outage) return;
    this.connected = false;
    this.outage = outage;
    this.options.log.warn({ event: 'cluster.degraded', outage }, `cluster store unreachable, serving from owned blocks only: ${outage}`);
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
      block = await engine.claimer.claimBlock(carved, { avoid: blocksToAvoid(this.options.store.clusterBlocks.list(name)) });
    } catch (error) {
      metrics?.claims.inc({ pool: name, result: error instanceof NoFreeBlockError ? 'no_free_block' : error instanceof ClusterUnavailableError ? 'unavailable' : 'error' });
      if (error instanceof ClusterUnavailableError) this.setConnected(false, error.message);
      if (error instanceof NoFreeBlockError) {
        if (!this.claimErrors.has(name)) log.warn({ event: 'cluster.no_free_block', pool: name }, error.message);
        this.claimErrors.set(name, { message: error.message, atMs: Date.now() });
      }
      throw error;
    }
    this.claimErrors.delete(name);
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
    const previous = this.options.catalogue.find('address', pool.name);
    const next = PoolState.load(this.servedConfig(pool), this.options.store);
    if (previous?.cursor !== undefined) next.cursor = previous.cursor;
    this.options.catalogue.put(next);
    unit.onRollback(() => { if (previous) this.options.catalogue.put(previous); });
  }

  private servedConfig(pool: ClusterPoolConfig) {
    return clusterPoolAsAddressPool(pool, this.options.store.clusterBlocks.list(pool.name).filter((block) => block.state === 'owned'));
  }

  private async reconcileAll(): Promise<void> {
    const context = {
      engine: this.options.engine, store: this.options.store, commitQueue: this.options.commitQueue, log: this.options.log,
      rebuild: (pool: ClusterPoolConfig, unit: UnitOfWork) => this.rebuild(pool, unit),
      leasesIn: (pool: ClusterPoolConfig, block: { first: bigint; prefixLength: number }) => this.leasesIn(pool, block),
      heldBackReported: this.heldBackReported,
    };
    let badRecords = 0;
    for (const pool of this.pools.values()) badRecords += await reconcilePool(context, pool);
    this.options.metrics?.badRecords.set(badRecords);
  }

  /** Gives back blocks empty for blockIdleSeconds (clusterIdleRelease.ts). */
  private async releaseIdleBlocks(): Promise<void> {
    if (this.options.blockIdleSeconds <= 0) return;
    const context = { ...this.options, emptySince: this.emptySince, rebuild: (pool: ClusterPoolConfig, unit: UnitOfWork) => this.rebuild(pool, unit) };
    for (const pool of this.pools.values()) await releaseIdleBlocks(context, pool);
  }

  private usage() {
    return [...this.pools.values()].flatMap((pool) => {
      const state = this.options.catalogue.find('address', pool.name);
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
