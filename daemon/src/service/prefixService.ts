// AllocatePrefix / ReleasePrefix / ListPrefixes: whole subnets handed to owners (a node, a slice,
// a delegated prefix) from prefix pools. Same rules as addresses: every change runs through the
// commit queue (durable before the promise resolves, in-memory state undone on rollback), one
// prefix per owner per pool, and a reclaim delay during which only the previous owner may have
// a released prefix back.
import type { Logger } from 'pino';
import { pickPrefix } from '../allocator/pickPrefix.ts';
import type { PrefixPoolConfig } from '../config/types.ts';
import { AddressOutsidePoolError, InvalidArgumentError, PoolExhaustedError, PrefixInUseError, BerthError } from '../errors.ts';
import { cidrBounds, familyBits, formatCidr, IpParseError, parseCidr } from '../ip/address.ts';
import type { CommitQueue, UnitOfWork } from '../store/commitQueue.ts';
import type { LeaseStore } from '../store/leaseStore.ts';
import type { PrefixLeaseFilter, PrefixLeaseRecord } from '../store/prefixLeaseRecord.ts';
import type { PoolCatalogue, PoolEvents, ServiceDeps } from './poolCatalogue.ts';
import type { AllocatePrefixCommand, ReleasePrefixCommand } from './serviceCommands.ts';
import { describeInterval, prefixInterval, prefixSize, type PrefixPoolState } from './prefixPoolState.ts';
import { elapsedMs } from './elapsedMs.ts';
import { requireShortText } from './validateCommand.ts';

const OWNER = /^[\x21-\x7e]+$/;
const MAX_OWNER_LENGTH = 253;

export class PrefixService {
  private readonly store: LeaseStore;
  private readonly commitQueue: CommitQueue;
  private readonly pools: PoolCatalogue;
  private readonly now: () => number;
  private readonly events: PoolEvents;

  constructor(options: ServiceDeps) {
    this.store = options.store;
    this.commitQueue = options.commitQueue;
    this.pools = options.pools;
    this.now = options.now ?? Date.now;
    this.events = options.events ?? {};
  }

  /** The prefix pools being served. */
  prefixPools(): PrefixPoolState[] {
    return this.pools.ofKind('prefix');
  }

  async allocatePrefix(command: AllocatePrefixCommand, log: Logger): Promise<PrefixLeaseRecord> {
    const started = process.hrtime.bigint();
    requireOwner(command.owner);
    parseWantedPrefix(command, this.resolve(command.pool));
    try {
      // Checked again when the work runs: a config reload queued in between may have changed the pool.
      const { lease, fresh } = await this.commitQueue.submit((unit) => {
        const pool = this.resolve(command.pool);
        return this.allocateInTransaction(command, pool, parseWantedPrefix(command, pool), unit);
      }, command.deadlineMs === undefined ? {} : { deadlineMs: command.deadlineMs });
      const prefix = formatCidr(lease.first, lease.prefixLength, lease.family);
      if (fresh) {
        log.info({ event: 'prefix.allocated', pool: lease.pool, prefix, owner: lease.owner, latencyMs: elapsedMs(started) }, 'prefix allocated');
        this.events.allocated?.('prefix', lease.pool);
      } else {
        log.info({ event: 'prefix.reused', pool: lease.pool, prefix, owner: lease.owner, latencyMs: elapsedMs(started) }, 'owner already holds a prefix; returned it');
      }
      return lease;
    } catch (error) {
      if (this.pools.find('prefix', command.pool)) this.events.allocationFailed?.('prefix', command.pool, error instanceof BerthError ? error.reason : 'INTERNAL');
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
      this.events.released?.('prefix', lease.pool);
    }
    return released;
  }

  listPrefixes(filter: PrefixLeaseFilter): PrefixLeaseRecord[] {
    if (filter.pool) this.resolve(filter.pool);
    return this.store.prefixes.list(filter);
  }

  private resolve(name: string): PrefixPoolState {
    if (name.length === 0) throw new InvalidArgumentError('pool is required: name a prefix pool');
    return this.pools.resolve('prefix', name);
  }

  /**
   * In this order: the prefix the owner holds (asking again is idempotent); its released prefix
   * still cooling down; the requested prefix; the strategy's pick.
   */
  private allocateInTransaction(command: AllocatePrefixCommand, pool: PrefixPoolState, wanted: WantedPrefix, unit: UnitOfWork) {
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
    if (cooling && cooling.addressSpace === pool.addressSpace) {
      this.store.prefixes.reactivate(cooling.id);
      pool.countCooling(unit, -1);
      return { lease: { ...cooling, state: 'active' as const, reusableAtMs: 0 }, fresh: false };
    }
    const first = wanted.first !== undefined ? this.checkRequested(pool, wanted.first, wanted.length) : this.pickFree(pool, wanted.length);
    const lease = this.store.prefixes.insert({
      pool: pool.name, addressSpace: pool.addressSpace, family: config.family, first, prefixLength: wanted.length, owner: command.owner, createdAtMs: this.now(),
    });
    pool.holdIn(unit, prefixInterval(first, wanted.length, config.family));
    return { lease, fresh: true };
  }

  private checkRequested(pool: PrefixPoolState, first: bigint, length: number): bigint {
    const interval = prefixInterval(first, length, pool.config.family);
    const text = formatCidr(first, length, pool.config.family);
    if (pool.touchesReserved(interval)) {
      throw new AddressOutsidePoolError(`requested_prefix: ${text} overlaps a reserved subnet of pool "${pool.name}" (${pool.config.reservedSubnets.map((r) => describeInterval(r, pool.config.family)).join(', ')})`, { pool: pool.name });
    }
    const holder = this.store.prefixes.overlapping(pool.addressSpace, interval.start, interval.end);
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
    const pool = this.pools.holderOf('prefix', { ...lease, start: lease.first });
    const samePool = pool !== undefined && pool.name === lease.pool;
    const delaySeconds = samePool ? pool.config.reclaimDelaySeconds : 0;
    if (samePool && delaySeconds > 0) {
      const reusableAtMs = this.now() + delaySeconds * 1000;
      this.store.prefixes.cool(lease.id, reusableAtMs);
      pool.countCooling(unit, 1);
      return { ...lease, state: 'cooling', reusableAtMs };
    }
    this.store.prefixes.delete(lease.id);
    pool?.unholdIn(unit, interval);
    return lease;
  }

}

export function requireOwner(owner: string, field = 'owner'): void {
  if (owner.length === 0) throw new InvalidArgumentError(`${field} is required: who holds the prefix, e.g. "node/worker-3"`);
  if (owner.length > MAX_OWNER_LENGTH) throw new InvalidArgumentError(`${field} is longer than ${MAX_OWNER_LENGTH} characters`);
  if (!OWNER.test(owner)) throw new InvalidArgumentError(`${field} ${JSON.stringify(owner)} may hold only printable ASCII without spaces`);
}

function describeWanted(wanted: WantedPrefix, config: PrefixPoolConfig): string {
  return wanted.first === undefined ? `a /${wanted.length}` : formatCidr(wanted.first, wanted.length, config.family);
}

/** The length asked for and the specific prefix, if one was named. */
interface WantedPrefix {
  readonly length: number;
  readonly first?: bigint;
}

/** The prefix a request asks for, validated against the pool. */
export function parseWantedPrefix(command: Pick<AllocatePrefixCommand, 'prefixLength' | 'requestedPrefix'>, pool: PrefixPoolState, field = 'requested_prefix'): WantedPrefix {
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
