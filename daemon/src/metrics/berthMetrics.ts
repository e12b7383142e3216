// berth's Prometheus metrics, in a registry of their own (no global state between tests).
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PoolCatalogue, PoolEvents } from '../service/poolCatalogue.ts';
import type { PoolUsage } from '../service/servedPoolBase.ts';

export class BerthMetrics {
  readonly registry = new Registry();
  readonly allocations: Counter<'pool' | 'result'>;
  readonly releases: Counter<'pool'>;
  readonly poolExhausted: Counter<'pool'>;
  readonly rpcDuration: Histogram<'method' | 'code'>;
  readonly commitDuration: Histogram;
  readonly commitBatchSize: Histogram;
  readonly configReloads: Counter<'result'>;
  readonly configReloadFailing: Gauge;
  readonly storeFileLost: Gauge;
  readonly cleanerReleases: Counter<'reason'>;
  readonly reclaimed: Counter<'pool'>;
  readonly prefixAllocations: Counter<'pool' | 'result'>;
  readonly prefixReleases: Counter<'pool'>;

  /** Pool usage gauges read the served pools at each scrape. */
  constructor(pools: Pick<PoolCatalogue, 'ofKind'>) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    usageGauge(registers, 'berth_pool_addresses',
      'Addresses per pool by state: total (can be handed out), allocated (held, cooling included), free, reserved (never handed out), cooling (released, in reclaim delay), preallocated (kept for pre-allocation owners)',
      () => pools.ofKind('address').map((pool) => { const usage = pool.usage(); return { name: pool.name, usage: { ...usage, preallocated: usage.preAllocated } }; }), ['preallocated']);
    usageGauge(registers, 'berth_prefix_pool_prefixes',
      'Prefix pools, counted in prefixes of the pool prefixLength: total (outside reserved subnets), allocated (prefix leases held, cooling included), free (wholly free prefixes), reserved (touching a reserved subnet), cooling',
      () => pools.ofKind('prefix').map((pool) => ({ name: pool.name, usage: pool.usage() })), []);
    this.prefixAllocations = new Counter({ name: 'berth_prefix_allocations_total', help: 'Prefix allocations by pool and result (ok, or the error reason)', labelNames: ['pool', 'result'], registers });
    this.prefixReleases = new Counter({ name: 'berth_prefix_releases_total', help: 'Prefix leases released, by pool', labelNames: ['pool'], registers });
    this.allocations = new Counter({ name: 'berth_allocations_total', help: 'Address allocations by pool and result (ok, or the error reason)', labelNames: ['pool', 'result'], registers });
    this.releases = new Counter({ name: 'berth_releases_total', help: 'Leases released, by pool', labelNames: ['pool'], registers });
    this.poolExhausted = new Counter({ name: 'berth_pool_exhausted_total', help: 'Allocations refused because the pool had no free address', labelNames: ['pool'], registers });
    this.rpcDuration = new Histogram({
      name: 'berth_rpc_duration_seconds', help: 'gRPC call latency by method and result code', labelNames: ['method', 'code'], registers,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    });
    this.commitDuration = new Histogram({
      name: 'berth_store_commit_duration_seconds', help: 'Lease-store transaction latency (one transaction commits a batch of requests)', registers,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    });
    this.commitBatchSize = new Histogram({ name: 'berth_store_commit_batch_size', help: 'Requests committed per lease-store transaction', registers, buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512] });
    this.configReloads = new Counter({ name: 'berth_config_reloads_total', help: 'Pool configuration reloads by result (applied, unchanged, refused, invalid)', labelNames: ['result'], registers });
    this.storeFileLost = new Gauge({ name: 'berth_store_file_lost', help: '1 once the lease database file at --db was deleted or replaced while open (writes are refused until restart)', registers });
    this.configReloadFailing = new Gauge({ name: 'berth_config_reload_failing', help: '1 while the last configuration reload was refused (the old pools are still served)', registers });
    this.reclaimed = new Counter({ name: 'berth_addresses_reclaimed_total', help: 'Released addresses that finished their reclaim delay and became free, by pool', labelNames: ['pool'], registers });
    this.cleanerReleases = new Counter({ name: 'berth_stale_leases_released_total', help: 'Leases released by the stale-lease cleaner, by reason', labelNames: ['reason'], registers });
  }

  /** What the services report as pools change, counted per pool kind. */
  poolEvents(): PoolEvents {
    const allocations = { address: this.allocations, prefix: this.prefixAllocations };
    const releases = { address: this.releases, prefix: this.prefixReleases };
    return {
      allocated: (kind, pool) => allocations[kind].inc({ pool, result: 'ok' }),
      allocationFailed: (kind, pool, reason) => {
        allocations[kind].inc({ pool, result: reason });
        if (reason === 'POOL_EXHAUSTED') this.poolExhausted.inc({ pool });
      },
      released: (kind, pool) => releases[kind].inc({ pool }),
      reclaimed: (_kind, pool) => this.reclaimed.inc({ pool }),
    };
  }
}

type ExtraState = 'preallocated';

/** A gauge of pool usage by state, read from the pools at each scrape. */
function usageGauge<U extends PoolUsage>(registers: Registry[], name: string, help: string, read: () => Iterable<{ name: string; usage: U }>,
  extra: readonly (ExtraState & keyof U)[]): void {
  new Gauge({
    name, help, labelNames: ['pool', 'state'], registers,
    collect() {
      this.reset();
      for (const { name: pool, usage } of read()) {
        this.set({ pool, state: 'total' }, Number(usage.size));
        for (const state of ['allocated', 'free', 'reserved', 'cooling'] as const) this.set({ pool, state }, Number(usage[state]));
        for (const state of extra) this.set({ pool, state }, Number(usage[state]));
      }
    },
  });
}
