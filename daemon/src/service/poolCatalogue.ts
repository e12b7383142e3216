// Every pool being served, of every kind, by name: where requests resolve pool names and where a
// reload swaps pools in (poolReload.ts plans it). A pool source whose ranges grow and shrink at run
// time (cluster pools: blocks claimed and released) reaches the served pools only through that
// same plan, so a shrink that would strand a lease is refused there like a config edit.
import type { BerthConfig } from '../config/types.ts';
import { AmbiguousPoolSelectorError, InvalidArgumentError, UnknownPoolError } from '../errors.ts';
import type { IpFamily } from '../ip/address.ts';
import type { CommitQueue } from '../store/commitQueue.ts';
import type { LeaseStore } from '../store/leaseStore.ts';
import { formatLabels, PoolState } from './poolState.ts';
import { PrefixPoolState } from './prefixPoolState.ts';

/** A pool at run time, of either kind. */
export type ServedPool = PoolState | PrefixPoolState;
export type PoolKind = ServedPool['kind'];
type PoolOfKind<K extends PoolKind> = Extract<ServedPool, { kind: K }>;

/** Labels a pool must all carry to be selected; empty: no selector. */
export type PoolSelector = Readonly<Record<string, string>>;

/** What the services report as pools change, for metrics (one type for both kinds). */
export interface PoolEvents {
  allocated?(kind: PoolKind, pool: string): void;
  allocationFailed?(kind: PoolKind, pool: string, reason: string): void;
  released?(kind: PoolKind, pool: string): void;
  /** A released address or prefix finished cooling down and is free again. */
  reclaimed?(kind: PoolKind, pool: string): void;
}

/** What every service works on: the lease store, its commit queue and the pools being served. */
export interface ServiceDeps {
  readonly store: LeaseStore;
  readonly commitQueue: CommitQueue;
  readonly pools: PoolCatalogue;
  readonly events?: PoolEvents;
  /** The clock (tests set it). */
  readonly now?: () => number;
}

/** Where a lease sits, whichever kind: its pool's name, its address space and its first address. */
export interface LeasePlace {
  readonly pool: string;
  readonly addressSpace: string;
  readonly family: IpFamily;
  readonly start: bigint;
}

const KIND_USE: Record<PoolKind, string> = {
  address: 'single addresses, through Allocate',
  prefix: 'whole subnets, through AllocatePrefix',
};

export class PoolCatalogue {
  private byName = new Map<string, ServedPool>();

  constructor(pools: Iterable<ServedPool>) {
    this.replace(pools);
  }

  /** The pools of a configuration, with what the database holds in them. */
  static load(config: BerthConfig, store: LeaseStore): PoolCatalogue {
    return new PoolCatalogue([...config.pools.map((pool) => PoolState.load(pool, store)), ...config.prefixPools.map((pool) => PrefixPoolState.load(pool, store))]);
  }

  replace(pools: Iterable<ServedPool>): void {
    this.byName = new Map([...pools].map((pool) => [pool.name, pool]));
  }

  /**
   * Adds or replaces one pool, inside the commit queue: a cluster pool whose blocks changed
   * (clusterBlockSupply.ts rebuilds it from the database in the same transaction).
   */
  put(pool: ServedPool): void {
    this.byName.set(pool.name, pool);
  }

  get(name: string): ServedPool | undefined {
    return this.byName.get(name);
  }

  all(): ServedPool[] {
    return [...this.byName.values()];
  }

  ofKind<K extends PoolKind>(kind: K): PoolOfKind<K>[] {
    return this.all().filter((pool): pool is PoolOfKind<K> => pool.kind === kind);
  }

  /** The pool of this kind named so, if there is one. */
  find<K extends PoolKind>(kind: K, name: string): PoolOfKind<K> | undefined {
    const pool = this.byName.get(name);
    return pool?.kind === kind ? pool as PoolOfKind<K> : undefined;
  }

  names(kind: PoolKind): string[] {
    return this.ofKind(kind).map((pool) => pool.name);
  }

  /** The named pool of this kind; naming a pool of the other kind says which kind it is. */
  resolve<K extends PoolKind>(kind: K, name: string): PoolOfKind<K> {
    const pool = this.byName.get(name);
    if (pool?.kind === kind) return pool as PoolOfKind<K>;
    if (pool) {
      throw new InvalidArgumentError(`pool "${name}" is ${pool.kind === 'prefix' ? 'a prefix' : 'an address'} pool (${KIND_USE[pool.kind]}); ${kind === 'address'
        ? `an attachment needs an address pool (configured: ${this.names('address').join(', ') || 'none'})`
        : 'AllocatePrefix needs a pool of kind: prefix'}`);
    }
    if (kind === 'address') throw new UnknownPoolError(name, this.names('address'));
    throw this.unknownPrefixPool(name);
  }

  unknownPrefixPool(name: string, fieldPrefix = ''): UnknownPoolError {
    const known = this.names('prefix');
    return new UnknownPoolError(name, known, `${fieldPrefix}unknown prefix pool "${name}" (configured prefix pools: ${known.join(', ') || 'none'})`);
  }

  /**
   * The address pools a request means: the named ones, or those a selector picks (at most one per
   * IP family, IPv4 first). Never both; never none.
   */
  select(names: readonly string[], selector: PoolSelector, field = 'pools'): PoolState[] {
    const selectorGiven = Object.keys(selector).length > 0;
    if (selectorGiven && names.length > 0) throw new InvalidArgumentError(`${field}: name pools or give a pool selector, not both`);
    if (!selectorGiven) {
      if (names.length === 0) throw new InvalidArgumentError(`${field}: name at least one pool, or give a pool selector`);
      return names.map((name) => this.resolve('address', name));
    }
    const pools = this.ofKind('address');
    const matching = pools.filter((pool) => Object.entries(selector).every(([key, value]) => pool.config.labels[key] === value));
    if (matching.length === 0) {
      const labelled = pools.filter((pool) => Object.keys(pool.config.labels).length > 0)
        .map((pool) => `"${pool.name}" ${formatLabels(pool.config.labels)}`);
      throw new UnknownPoolError(`selector ${formatLabels(selector)}`, this.names('address'),
        `no pool matches selector ${formatLabels(selector)} (labelled pools: ${labelled.length > 0 ? labelled.join(', ') : 'none'})`);
    }
    for (const family of [4, 6] as const) {
      const same = matching.filter((pool) => pool.config.family === family);
      if (same.length > 1) {
        throw new AmbiguousPoolSelectorError(`selector ${formatLabels(selector)} matches ${same.length} IPv${family} pools (${same.map((pool) => `"${pool.name}"`).join(', ')}); it must pick at most one pool per IP family: add a label that tells them apart`);
      }
    }
    return matching.sort((a, b) => a.config.family - b.config.family);
  }

  /**
   * The pool of this kind whose held addresses include a lease: its own pool, or, after a rename,
   * the pool of the same address space whose subnet contains it (it loaded the lease at start).
   */
  holderOf<K extends PoolKind>(kind: K, lease: LeasePlace): PoolOfKind<K> | undefined {
    const own = this.find(kind, lease.pool);
    if (own && own.addressSpace === lease.addressSpace) return own;
    return this.ofKind(kind).find((pool) => pool.addressSpace === lease.addressSpace && pool.contains(lease.start, lease.family));
  }
}
