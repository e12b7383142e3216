// AllocatePrefix / ReleasePrefix / ListPrefixes: whole subnets handed to owners (a node, a slice,
// a delegated prefix) from prefix pools. Same rules as addresses: every change runs through the
// commit queue (durable before the promise resolves, in-memory state undone on rollback), one
// prefix per owner per pool, and a reclaim delay during which only the previous owner may have
// a released prefix back.
import type { Logger } from 'pino';
import { pickPrefix } from '../allocator/pickPrefix.ts';
import type { PrefixPoolConfig } from '../config/types.ts';
import { AddressOutsidePoolError, InvalidArgumentError, PoolExhaustedError, PrefixInUseError, UnknownPoolError, BerthError } from '../errors.ts';
import { cidrBounds, familyBits, formatCidr, IpParseError, parseCidr } from '../ip/address.ts';
import type { CommitQueue, UnitOfWork } from '../store/commitQueue.ts';
import type { LeaseStore } from '../store/leaseStore.ts';
import type { PrefixLeaseFilter, PrefixLeaseRecord } from '../store/prefixLeaseRecord.ts';
import { describeInterval, prefixInterval, prefixSize, PrefixPoolState } from './prefixPoolState.ts';
import { elapsedMs } from './elapsedMs.ts';
import { requireShortText } from './validateCommand.ts';

export interface AllocatePrefixCommand {
  readonly pool: string;
  readonly owner: string;
  /** 0: the pool's prefixLength. */
  readonly prefixLength: number;
  /** Empty: the pool's strategy picks. */
  readonly requestedPrefix: string;
}

export interface ReleasePrefixCommand {
  readonly pool: string;
  readonly owner: string;
}

export interface PrefixServiceOptions {
  readonly store: LeaseStore;
  readonly commitQueue: CommitQueue;
  readonly pools: Iterable<PrefixPoolState>;
  /** Names of the address pools, to tell a caller who named one that it is the wrong kind. */
  readonly addressPoolNames: () => readonly string[];
  readonly now?: () => number;
}

export interface PrefixEvents {
  allocated?(pool: string): void;
  allocationFailed?(pool: string, reason: string): void;
  released?(pool: string): void;
  reclaimed?(pool: string): void;
}

const OWNER = /^[\x21-\x7e]+$/;
const MAX_OWNER_LENGTH = 253;

export class PrefixService {
  private readonly store: LeaseStore;
  private readonly commitQueue: CommitQueue;
  private readonly addressPoolNames: () => readonly string[];
  private readonly now: () => number;
  private byName = new Map<string, PrefixPoolState>();
  events: PrefixEvents = {};

  constructor(options: PrefixServiceOptions) {
    this.store = options.store;
    this.commitQueue = options.commitQueue;
    this.addressPoolNames = options.addressPoolNames;
    this.now = options.now ?? Date.now;
    this.replacePools(options.pools);
  }

  pools(): PrefixPoolState[] {
    return [...this.byName.values()];
  }

  pool(name: string): PrefixPoolState | undefined {
    return this.byName.get(name);
  }

  replacePools(pools: Iterable<PrefixPoolState>): void {
    this.byName = new Map([...pools].map((pool) => [pool.name, pool]));
  }

  async allocatePrefix(command: AllocatePrefixCommand, log: Logger): Promise<PrefixLeaseRecord> {
    const started = process.hrtime.bigint();
    requireOwner(command.owner);
    this.parseWanted(command, this.resolve(command.pool));
    try {
      // Checked again when the work runs: a config reload queued in between may have changed the pool.
      const { lease, fresh } = await this.commitQueue.submit((unit) => {
        const pool = this.resolve(command.pool);
        return this.allocateInTransaction(command, pool, this.parseWanted(command, pool), unit);
      });
      const prefix = formatCidr(lease.first, lease.prefixLength, lease.family);
      if (fresh) {
        log.info({ event: 'prefix.allocated', pool: lease.pool, prefix, owner: lease.owner, latencyMs: elapsedMs(started) }, 'prefix allocated');
        this.events.allocated?.(lease.pool);
      } else {
        log.info({ event: 'prefix.reused', pool: lease.pool, prefix, owner: lease.owner, latencyMs: elapsedMs(started) }, 'owner already holds a prefix; returned it');
      }
      return lease;
    } catch (error) {
      if (this.byName.has(command.pool)) this.events.allocationFailed?.(command.pool, error instanceof BerthError ? error.reason : 'INTERNAL');
      throw error;
    }
  }

  /** Idempotent: releasing nothing succeeds, and so does naming a pool that is gone. */
  async releasePrefix(command: ReleasePrefixCommand, log: Logger): Promise<PrefixLeaseRecord[]> {
    const started = process.hrtime.bigint();
    requireOwner(command.owner);
    if (command.pool.length === 0) throw new InvalidArgumentError('pool is required');
    requireShortText(command.pool, 'pool');
    const released = await this.commitQueue.submit((unit) => {
      const lease = this.store.prefixes.activeOf(command.pool, command.owner);
      if (!lease) return [];
      return [this.releaseInTransaction(lease, unit)];
    });
    for (const lease of released) {
      log.info({ event: 'prefix.released', pool: lease.pool, prefix: formatCidr(lease.first, lease.prefixLength, lease.family), owner: lease.owner,
        state: lease.state, latencyMs: elapsedMs(started) }, 'prefix released');
      this.events.released?.(lease.pool);
    }
    return released;
  }

  /** Checks exported prefix leases against the pools (no database access); throws on malformed ones. */
  prepareImport(prefixes: readonly ImportedPrefix[], firstIndex = 0): PreparedPrefixImport[] {
    return prefixes.map((entry, i) => {
      const field = `prefixes[${firstIndex + i}]`;
      requireOwner(entry.owner, `${field}.owner`);
      const pool = this.byName.get(entry.pool);
      if (!pool) throw this.unknownPool(entry.pool, `${field}.pool: `);
      if (entry.networkInstance !== '' && entry.networkInstance !== pool.network) {
        throw new InvalidArgumentError(`${field}.network_instance: "${entry.networkInstance}" is not the network of pool "${pool.name}" ("${pool.network}")`);
      }
      if (entry.prefix === '') throw new InvalidArgumentError(`${field}.prefix is required`);
      const wanted = this.parseWanted({ pool: pool.name, owner: entry.owner, prefixLength: 0, requestedPrefix: entry.prefix }, pool, `${field}.prefix`);
      const first = wanted.first ?? pool.bounds.start;
      if (pool.touchesReserved(prefixInterval(first, wanted.length, pool.config.family))) {
        throw new AddressOutsidePoolError(`${field}.prefix: ${entry.prefix} overlaps a reserved subnet of pool "${pool.name}"`, { pool: pool.name });
      }
      const cooling = entry.state === 'COOLING' ? { reusableAtMs: Number(entry.reusableAtUnixMs ?? 0) } : undefined;
      return { field, pool, owner: entry.owner, first, prefixLength: wanted.length, createdAtMs: entry.createdAtUnixMs || this.now(), ...(cooling ? { cooling } : {}) };
    });
  }

  /** Inside an import's transaction: inserts the prefixes not yet present; returns counts and conflicts. */
  importInTransaction(prepared: readonly PreparedPrefixImport[], unit: UnitOfWork): { imported: number; alreadyPresent: number; conflicts: string[] } {
    let imported = 0;
    let alreadyPresent = 0;
    const conflicts: string[] = [];
    for (const entry of prepared) {
      const { pool, field } = entry;
      const interval = prefixInterval(entry.first, entry.prefixLength, pool.config.family);
      const text = formatCidr(entry.first, entry.prefixLength, pool.config.family);
      const holder = this.store.prefixes.overlapping(pool.network, interval.start, interval.end);
      if (holder && holder.pool === pool.name && holder.owner === entry.owner && holder.first === entry.first && holder.prefixLength === entry.prefixLength && holder.state === (entry.cooling ? 'cooling' : 'active')) {
        alreadyPresent++;
        continue;
      }
      if (holder) {
        conflicts.push(`${field}: ${text} overlaps ${formatCidr(holder.first, holder.prefixLength, holder.family)} ${holder.state === 'cooling' ? 'cooling down after' : 'held by'} owner "${holder.owner}"`);
        continue;
      }
      // One active prefix per owner and pool; cooling ones may sit beside it.
      const other = entry.cooling ? undefined : this.store.prefixes.activeOf(pool.name, entry.owner);
      if (other) {
        conflicts.push(`${field}: owner "${entry.owner}" already holds ${formatCidr(other.first, other.prefixLength, other.family)} in pool "${pool.name}"`);
        continue;
      }
      const inserted = this.store.prefixes.insert({ pool: pool.name, networkInstance: pool.network, family: pool.config.family, first: entry.first, prefixLength: entry.prefixLength, owner: entry.owner, createdAtMs: entry.createdAtMs });
      pool.hold(interval);
      unit.onRollback(() => pool.unhold(interval));
      if (entry.cooling) {
        this.store.prefixes.cool(inserted.id, entry.cooling.reusableAtMs);
        pool.coolingCount++;
        unit.onRollback(() => { pool.coolingCount--; });
      }
      imported++;
    }
    return { imported, alreadyPresent, conflicts };
  }

  listPrefixes(filter: PrefixLeaseFilter): PrefixLeaseRecord[] {
    if (filter.pool) this.resolve(filter.pool);
    return this.store.prefixes.list(filter);
  }

  /** Frees the prefixes whose reclaim delay is over; returns how many. No query when nothing cools. */
  async reclaimCooled(log: Logger): Promise<number> {
    if (!this.pools().some((pool) => pool.coolingCount > 0)) return 0;
    const reclaimed = await this.commitQueue.submit((unit) => this.store.prefixes.deleteCooled(this.now()).map((lease) => {
      const interval = prefixInterval(lease.first, lease.prefixLength, lease.family);
      const pool = this.poolHolding(lease, interval);
      if (pool && pool.unhold(interval)) {
        pool.coolingCount--;
        unit.onRollback(() => { pool.hold(interval); pool.coolingCount++; });
      }
      return lease;
    }));
    for (const lease of reclaimed) {
      log.info({ event: 'prefix.reclaimed', pool: lease.pool, prefix: formatCidr(lease.first, lease.prefixLength, lease.family) }, 'cooled-down prefix is free again');
      this.events.reclaimed?.(lease.pool);
    }
    return reclaimed.length;
  }

  private resolve(name: string): PrefixPoolState {
    if (name.length === 0) throw new InvalidArgumentError('pool is required: name a prefix pool');
    const pool = this.byName.get(name);
    if (pool) return pool;
    if (this.addressPoolNames().includes(name)) {
      throw new InvalidArgumentError(`pool "${name}" is an address pool (single addresses, through Allocate); AllocatePrefix needs a pool of kind: prefix`);
    }
    throw this.unknownPool(name);
  }

  private unknownPool(name: string, fieldPrefix = ''): UnknownPoolError {
    const known = [...this.byName.keys()];
    return new UnknownPoolError(name, known, `${fieldPrefix}unknown prefix pool "${name}" (configured prefix pools: ${known.join(', ') || 'none'})`);
  }

  /** The length asked for and the specific prefix, if one was named; validated against the pool. */
  private parseWanted(command: AllocatePrefixCommand, pool: PrefixPoolState, field = 'requested_prefix'): { length: number; first?: bigint } {
    const config = pool.config;
    const bits = familyBits(config.family);
    const subnetText = formatCidr(config.subnet.network, config.subnet.prefixLength, config.family);
    if (command.prefixLength !== 0 && (command.prefixLength < config.subnet.prefixLength || command.prefixLength > bits)) {
      throw new InvalidArgumentError(`prefix_length: /${command.prefixLength} does not fit pool "${pool.name}" (${subnetText}): ask for /${config.subnet.prefixLength} to /${bits}, or 0 for the pool's /${config.prefixLength}`);
    }
    if (command.requestedPrefix === '') return { length: command.prefixLength || config.prefixLength };
    let cidr;
    try {
      cidr = parseCidr(command.requestedPrefix);
    } catch (error) {
      if (error instanceof IpParseError) throw new InvalidArgumentError(`${field}: ${error.message}`);
      throw error;
    }
    const text = formatCidr(cidr.network, cidr.prefixLength, cidr.family);
    if (cidr.address !== cidr.network) throw new InvalidArgumentError(`${field}: ${command.requestedPrefix} has host bits set; did you mean ${text}?`);
    if (command.prefixLength !== 0 && command.prefixLength !== cidr.prefixLength) {
      throw new InvalidArgumentError(`${field}: ${text} is a /${cidr.prefixLength} but prefix_length asks for /${command.prefixLength}`);
    }
    const bounds = cidrBounds(config.subnet);
    const { last } = cidrBounds(cidr);
    if (cidr.family !== config.family || cidr.prefixLength < config.subnet.prefixLength || cidr.network < bounds.first || last > bounds.last) {
      throw new AddressOutsidePoolError(`${field}: ${text} is not inside pool "${pool.name}" (${subnetText})`, { pool: pool.name });
    }
    return { length: cidr.prefixLength, first: cidr.network };
  }

  /**
   * In this order: the prefix the owner holds (asking again is idempotent); its released prefix
   * still cooling down; the requested prefix; the strategy's pick.
   */
  private allocateInTransaction(command: AllocatePrefixCommand, pool: PrefixPoolState, wanted: { length: number; first?: bigint }, unit: UnitOfWork) {
    const config = pool.config;
    const matches = (lease: PrefixLeaseRecord) => lease.prefixLength === wanted.length && (wanted.first === undefined || wanted.first === lease.first);
    const held = this.store.prefixes.activeOf(pool.name, command.owner);
    if (held) {
      if (!matches(held)) {
        const heldText = formatCidr(held.first, held.prefixLength, held.family);
        throw new PrefixInUseError(heldText, pool.name, { owner: command.owner, prefix: heldText },
          undefined, `owner "${command.owner}" already holds ${heldText} in pool "${pool.name}" (one prefix per owner per pool); release it before asking for ${describeWanted(wanted, config)}`);
      }
      return { lease: held, fresh: false };
    }
    const cooling = this.store.prefixes.coolingOf(pool.name, command.owner).find(matches);
    if (cooling && cooling.networkInstance === pool.network) {
      this.store.prefixes.reactivate(cooling.id);
      pool.coolingCount--;
      unit.onRollback(() => { pool.coolingCount++; });
      return { lease: { ...cooling, state: 'active' as const, reusableAtMs: 0 }, fresh: false };
    }
    const first = wanted.first !== undefined ? this.checkRequested(pool, wanted.first, wanted.length) : this.pickFree(pool, wanted.length);
    const lease = this.store.prefixes.insert({
      pool: pool.name, networkInstance: pool.network, family: config.family, first, prefixLength: wanted.length, owner: command.owner, createdAtMs: this.now(),
    });
    const interval = prefixInterval(first, wanted.length, config.family);
    pool.hold(interval);
    unit.onRollback(() => pool.unhold(interval));
    return { lease, fresh: true };
  }

  private checkRequested(pool: PrefixPoolState, first: bigint, length: number): bigint {
    const interval = prefixInterval(first, length, pool.config.family);
    const text = formatCidr(first, length, pool.config.family);
    if (pool.touchesReserved(interval)) {
      throw new AddressOutsidePoolError(`requested_prefix: ${text} overlaps a reserved subnet of pool "${pool.name}" (${pool.config.reservedSubnets.map((r) => describeInterval(r, pool.config.family)).join(', ')})`, { pool: pool.name });
    }
    const holder = this.store.prefixes.overlapping(pool.network, interval.start, interval.end);
    if (holder) {
      const holderText = formatCidr(holder.first, holder.prefixLength, holder.family);
      const secondsLeft = holder.state === 'cooling' ? Math.max(1, Math.ceil((holder.reusableAtMs - this.now()) / 1000)) : undefined;
      throw new PrefixInUseError(text, holder.pool, { owner: holder.owner, prefix: holderText }, secondsLeft);
    }
    return first;
  }

  private pickFree(pool: PrefixPoolState, length: number): bigint {
    const config = pool.config;
    const first = pickPrefix(config.strategy, pool.freeSpace(), prefixSize(length, config.family));
    if (first === undefined) {
      const { size: total } = pool.usage();
      throw new PoolExhaustedError(pool.name, total, `/${config.prefixLength} prefixes are held, cooling down or reserved${length === config.prefixLength ? '' : `, and no aligned /${length} is free`}`);
    }
    return first;
  }

  /** Ends a prefix lease: it cools down in a pool with a reclaim delay, else it is freed at once. */
  private releaseInTransaction(lease: PrefixLeaseRecord, unit: UnitOfWork): PrefixLeaseRecord {
    const interval = prefixInterval(lease.first, lease.prefixLength, lease.family);
    const pool = this.poolHolding(lease, interval);
    const samePool = pool !== undefined && pool.name === lease.pool;
    const delaySeconds = samePool ? pool.config.reclaimDelaySeconds : 0;
    if (samePool && delaySeconds > 0) {
      const reusableAtMs = this.now() + delaySeconds * 1000;
      this.store.prefixes.cool(lease.id, reusableAtMs);
      pool.coolingCount++;
      unit.onRollback(() => { pool.coolingCount--; });
      return { ...lease, state: 'cooling', reusableAtMs };
    }
    this.store.prefixes.delete(lease.id);
    if (pool?.unhold(interval)) unit.onRollback(() => pool.hold(interval));
    return lease;
  }

  /**
   * The pool whose held prefixes include this lease: its own pool, or (after a rename) the pool
   * of the same network whose subnet contains it, which loaded it at start.
   */
  private poolHolding(lease: PrefixLeaseRecord, interval: { start: bigint; end: bigint }): PrefixPoolState | undefined {
    const own = this.byName.get(lease.pool);
    if (own && own.network === lease.networkInstance) return own;
    return this.pools().find((pool) => pool.network === lease.networkInstance && pool.bounds.start <= interval.start && interval.start <= pool.bounds.end);
  }
}

function requireOwner(owner: string, field = 'owner'): void {
  if (owner.length === 0) throw new InvalidArgumentError(`${field} is required: who holds the prefix, e.g. "node/worker-3"`);
  if (owner.length > MAX_OWNER_LENGTH) throw new InvalidArgumentError(`${field} is longer than ${MAX_OWNER_LENGTH} characters`);
  if (!OWNER.test(owner)) throw new InvalidArgumentError(`${field} ${JSON.stringify(owner)} may hold only printable ASCII without spaces`);
}

/** A prefix lease as exported by berthctl (text prefix). */
export interface ImportedPrefix {
  readonly pool: string;
  readonly prefix: string;
  readonly owner: string;
  readonly networkInstance: string;
  readonly createdAtUnixMs: number;
  /** 'COOLING' restores the prefix cooling until reusableAtUnixMs; anything else, active. */
  readonly state?: string;
  readonly reusableAtUnixMs?: number;
}

export interface PreparedPrefixImport {
  readonly field: string;
  readonly pool: PrefixPoolState;
  readonly owner: string;
  readonly first: bigint;
  readonly prefixLength: number;
  readonly createdAtMs: number;
  readonly cooling?: { readonly reusableAtMs: number };
}

function describeWanted(wanted: { length: number; first?: bigint }, config: PrefixPoolConfig): string {
  return wanted.first === undefined ? `a /${wanted.length}` : formatCidr(wanted.first, wanted.length, config.family);
}

