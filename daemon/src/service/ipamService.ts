// Allocate / Release / Check / GC / Status: the business rules, on top of the pools held in
// memory and the lease store. Every change runs through the commit queue, so it is durable
// before the promise resolves, and in-memory state is undone if its transaction rolls back.
import type { Logger } from 'pino';
import { randomBytes } from 'node:crypto';
import { pickAddress } from '../allocator/pickAddress.ts';
import {
  AddressInUseError, AddressOutsidePoolError, BerthError, ClusterUnavailableForPoolError, InvalidArgumentError, LeaseMismatchError, LeaseMissingError,
  PoolExhaustedError,
} from '../errors.ts';
import { formatAddress, formatCidr, IpParseError, parseAddressWithOptionalPrefix, type IpFamily } from '../ip/address.ts';
import type { CommitQueue, UnitOfWork } from '../store/commitQueue.ts';
import type { LeaseRecord, NewLease } from '../store/leaseRecord.ts';
import type { LeaseStore } from '../store/leaseStore.ts';
import type { AllocateCommand, CheckCommand, GarbageCollectCommand, ReleaseCommand } from './serviceCommands.ts';
import type { PoolCatalogue, PoolEvents, PoolSelector, ServiceDeps } from './poolCatalogue.ts';
import { describeOwner, type PoolState, type Requester } from './poolState.ts';
import { elapsedMs } from './elapsedMs.ts';
import { requireContainerId, requireDistinct, requireIfname, requireLabels, requireShortText } from './validateCommand.ts';

/** One address handed to an attachment, with the pool it came from. */
export interface Allocation {
  readonly pool: PoolState;
  readonly address: bigint;
  readonly family: IpFamily;
}

export interface IpamServiceOptions extends ServiceDeps {
  readonly bootId: string;
  /** Blocks of cluster pools: asked for one when a cluster pool has no free address. */
  readonly blockSupply?: BlockSupply;
}

/** What Allocate needs of cluster pools (service/clusterBlockSupply.ts). */
export interface BlockSupply {
  serves(pool: string): boolean;
  /** Resolves once the pool has a new block; throws the error to report otherwise. */
  needBlock(pool: string, deadlineMs: number): Promise<void>;
  /** Told after each allocation from a cluster pool, to claim ahead of need. */
  noteAllocated(pool: string): void;
  /** Pending (briefly) at start until the blocks in the database were checked against the cluster store. */
  startupChecked(): Promise<void> | undefined;
}

/** Claims a cluster pool may wait for within one Allocate (other nodes can race us to blocks). */
const MAX_BLOCK_WAITS = 3;

export class IpamService {
  private readonly store: LeaseStore;
  private readonly commitQueue: CommitQueue;
  private readonly pools: PoolCatalogue;
  private readonly bootId: string;
  private readonly now: () => number;
  private readonly events: PoolEvents;
  private readonly blockSupply: BlockSupply | undefined;

  constructor(options: IpamServiceOptions) {
    this.store = options.store;
    this.commitQueue = options.commitQueue;
    this.pools = options.pools;
    this.bootId = options.bootId;
    this.now = options.now ?? Date.now;
    this.events = options.events ?? {};
    this.blockSupply = options.blockSupply;
  }

  async allocate(command: AllocateCommand, log: Logger): Promise<Allocation[]> {
    const started = process.hrtime.bigint();
    requireContainerId(command.containerId);
    requireIfname(command.ifname);
    requireShortText(command.network, 'network');
    requireShortText(command.netns, 'netns');
    requireShortText(command.podNamespace, 'pod_namespace');
    requireShortText(command.podName, 'pod_name');
    requireShortText(command.podUid, 'pod_uid');
    requireLabels(command.podLabels, 'pod_labels');
    requireLabels(command.poolSelector, 'pool_selector.match_labels');
    requireDistinct(command.pools, 'pools');
    const requestedIps = command.requestedIps.map((text, i) => parseRequestedAddress(text, `requested_ips[${i}]`));
    const selected = this.pools.select(command.pools, command.poolSelector);
    const startupCheck = this.blockSupply?.startupChecked();
    if (startupCheck && selected.some((pool) => this.blockSupply?.serves(pool.name))) await startupCheck;

    try {
      // Pools are resolved when the work runs, not when it is queued: a config reload queued
      // in between must not leave this request working on replaced pools.
      const submit = () => this.commitQueue.submit((unit) => {
        const pools = this.pools.select(command.pools, command.poolSelector);
        return this.allocateInTransaction(command, pools, this.assignRequestedAddresses(command.requestedIps, requestedIps, pools, command), unit);
        // A caller that gave up while this waited is not given a lease nobody knows of; it retries.
      }, command.deadlineMs === undefined ? {} : { deadlineMs: command.deadlineMs });
      let allocations: Awaited<ReturnType<typeof submit>>;
      for (let waits = 0; ; waits++) {
        try {
          allocations = await submit();
          break;
        } catch (error) {
          // A cluster pool out of addresses in its blocks: get a block, then the same transaction again.
          if (!(error instanceof PoolExhaustedError) || !this.blockSupply?.serves(error.pool) || waits >= MAX_BLOCK_WAITS) throw error;
          await this.blockSupply.needBlock(error.pool, command.deadlineMs ?? Number.POSITIVE_INFINITY);
        }
      }
      for (const allocation of allocations.fresh) {
        log.info({ event: 'lease.allocated', pool: allocation.pool.name, address: formatAddress(allocation.address, allocation.family), latencyMs: elapsedMs(started),
          podNamespace: command.podNamespace, podName: command.podName, podUid: command.podUid, network: command.network }, 'lease allocated');
        this.events.allocated?.('address', allocation.pool.name);
        if (this.blockSupply?.serves(allocation.pool.name)) this.blockSupply.noteAllocated(allocation.pool.name);
      }
      for (const allocation of allocations.existing) {
        log.info({ event: 'lease.reused', pool: allocation.pool.name, address: formatAddress(allocation.address, allocation.family), latencyMs: elapsedMs(started) },
          'attachment already holds a lease; returned it');
      }
      return allocations.all;
    } catch (error) {
      const reason = error instanceof BerthError ? error.reason : 'INTERNAL';
      const failedPools = error instanceof PoolExhaustedError || error instanceof ClusterUnavailableForPoolError ? [error.pool] : command.pools.filter((name) => this.pools.find('address', name));
      for (const pool of failedPools) this.events.allocationFailed?.('address', pool, reason);
      throw error;
    }
  }

  async release(command: ReleaseCommand, log: Logger): Promise<LeaseRecord[]> {
    const started = process.hrtime.bigint();
    requireContainerId(command.containerId);
    requireIfname(command.ifname);
    requireDistinct(command.pools, 'pools');
    // Pool names are matched against the leases, not the config: a DEL after a pool was removed
    // must still free what it holds, and a DEL of nothing succeeds (CNI), whatever it names.
    const released = await this.commitQueue.submit((unit) => {
      const held = this.store.leasesOfAttachment(command.containerId, command.ifname);
      const wanted = command.pools.length === 0 ? held : held.filter((lease) => command.pools.includes(lease.pool));
      return wanted.map((lease) => this.releaseInTransaction(lease, unit));
    });
    for (const lease of released) this.logReleased(log, lease, 'lease.released', elapsedMs(started));
    return released;
  }

  check(command: CheckCommand): Allocation[] {
    requireContainerId(command.containerId);
    requireIfname(command.ifname);
    requireDistinct(command.pools, 'pools');
    requireLabels(command.poolSelector, 'pool_selector.match_labels');
    const expected = command.expectedAddresses.map((text, i) => parseRequestedAddress(text, `expected_addresses[${i}]`));
    const pools = this.pools.select(command.pools, command.poolSelector);
    const held = this.store.leasesOfAttachment(command.containerId, command.ifname);
    const allocations: Allocation[] = [];
    for (const pool of pools) {
      const lease = held.find((candidate) => candidate.pool === pool.name);
      if (!lease) {
        throw new LeaseMissingError(`container ${command.containerId} ifname ${command.ifname} holds no lease in pool "${pool.name}"`,
          { pool: pool.name });
      }
      allocations.push({ pool, address: lease.address, family: lease.family });
    }
    for (const address of expected) {
      if (!allocations.some((allocation) => allocation.address === address.value && allocation.family === address.family)) {
        const held = allocations.map((a) => formatAddress(a.address, a.family)).join(', ');
        throw new LeaseMismatchError(`container ${command.containerId} ifname ${command.ifname} does not hold ${formatAddress(address.value, address.family)} (it holds ${held || 'nothing'} in pools ${pools.map((pool) => pool.name).join(', ')})`);
      }
    }
    return allocations;
  }

  async garbageCollect(command: GarbageCollectCommand, log: Logger): Promise<LeaseRecord[]> {
    if (command.network.length === 0) throw new InvalidArgumentError('network is required: GC only ever touches one network');
    const valid = new Set(command.validAttachments.map((attachment) => attachmentKey(attachment.containerId, attachment.ifname)));
    const released = await this.commitQueue.submit((unit) =>
      this.store.listLeases({ network: command.network })
        .filter((lease) => !valid.has(attachmentKey(lease.containerId, lease.ifname)))
        .map((lease) => this.releaseInTransaction(lease, unit)));
    for (const lease of released) this.logReleased(log, lease, 'lease.gc_released');
    log.info({ event: 'gc.completed', network: command.network, validAttachments: valid.size, released: released.length }, 'garbage collection done');
    return released;
  }

  /**
   * Releases exactly these leases (cleaners): each only if the same attachment still holds the
   * same address in the same pool, so a lease re-created meanwhile is never touched.
   */
  async releaseExact(leases: readonly LeaseRecord[], log: Logger, event: string, reason: string): Promise<LeaseRecord[]> {
    if (leases.length === 0) return [];
    const released = await this.commitQueue.submit((unit) => leases.filter((lease) => {
      const current = this.store.leaseAt(lease.addressSpace, lease.address);
      return current !== undefined && current.state === 'active' && current.containerId === lease.containerId && current.ifname === lease.ifname && current.pool === lease.pool;
    }).map((lease) => this.releaseInTransaction(lease, unit)));
    for (const lease of released) {
      log.info({ event, reason, pool: lease.pool, address: formatAddress(lease.address, lease.family), containerId: lease.containerId,
        ifname: lease.ifname, podNamespace: lease.podNamespace, podName: lease.podName, netns: lease.netns, bootId: lease.bootId }, 'stale lease released');
      this.events.released?.('address', lease.pool);
    }
    return released;
  }

  /** The named pools, those a selector picks, or all. */
  poolStates(names: readonly string[] = [], selector: PoolSelector = {}): PoolState[] {
    requireLabels(selector, 'pool_selector.match_labels');
    return names.length === 0 && Object.keys(selector).length === 0 ? this.pools.ofKind('address') : this.pools.select(names, selector);
  }

  private allocateInTransaction(command: AllocateCommand, pools: readonly PoolState[], requested: Map<PoolState, bigint>, unit: UnitOfWork) {
    const held = this.store.leasesOfAttachment(command.containerId, command.ifname);
    const fresh: Allocation[] = [];
    const existing: Allocation[] = [];
    for (const pool of pools) {
      const lease = held.find((candidate) => candidate.pool === pool.name);
      const wanted = requested.get(pool);
      if (lease) {
        // An ADD retried by the runtime: return what the attachment holds, never a second address.
        if (wanted !== undefined && wanted !== lease.address) {
          // Not ADDRESS_IN_USE: nobody holds the wanted address; the attachment itself holds another.
          throw new InvalidArgumentError(`requested ${formatAddress(wanted, pool.config.family)} in pool "${pool.name}", but container ${command.containerId} ifname ${command.ifname} already holds ${formatAddress(lease.address, lease.family)} there; DEL the attachment before asking for another address`);
        }
        existing.push({ pool, address: lease.address, family: lease.family });
        continue;
      }
      const address = this.chooseAddress(command, pool, wanted, unit);
      this.store.insertLease(this.newLease(command, pool, address));
      fresh.push({ pool, address, family: pool.config.family });
    }
    const all = pools.map((pool) => [...fresh, ...existing].find((allocation) => allocation.pool === pool)!);
    return { all, fresh, existing };
  }

  /**
   * The address an attachment without a lease in the pool gets, in this order: its
   * pre-allocation; the address it released and that is still cooling down; the requested one;
   * the strategy's pick. The address is held in `taken` on return (undone on rollback).
   */
  private chooseAddress(command: AllocateCommand, pool: PoolState, wanted: bigint | undefined, unit: UnitOfWork): bigint {
    const family = pool.config.family;
    const preAllocation = pool.preAllocationFor(command);
    // No query on the plain path: an owner can only have a cooling address in a pool that has some.
    const cooling = pool.coolingCount > 0 ? this.store.coolingLeaseOf(pool.name, ownerKeyOf(command)) : undefined;
    let address: bigint;
    if (preAllocation !== undefined) {
      if (wanted !== undefined && wanted !== preAllocation.address) {
        throw new InvalidArgumentError(`requested ${formatAddress(wanted, family)} in pool "${pool.name}", but ${describeOwner(preAllocation.owner)} is pre-allocated ${formatAddress(preAllocation.address, family)}`);
      }
      address = preAllocation.address;
    } else if (cooling !== undefined && (wanted === undefined || wanted === cooling.address)) {
      address = cooling.address;
    } else if (wanted !== undefined) {
      address = wanted;
    } else {
      const picked = pickAddress(pool.config.strategy, {
        allocatable: pool.allocatable, taken: pool.taken, size: pool.size, cursor: pool.cursor, randomBelow,
      });
      if (picked === undefined) throw new PoolExhaustedError(pool.name, pool.size);
      if (pool.config.strategy === 'roundRobin') {
        const previous = pool.cursor;
        pool.cursor = picked;
        unit.onRollback(() => { pool.cursor = previous; });
        // Written once per transaction, whatever number of requests moved it.
        unit.beforeCommit(`cursor:${pool.name}`, () => { if (pool.cursor !== undefined) this.store.setCursor(pool.name, pool.cursor); });
      }
      pool.holdIn(unit, { start: picked, end: picked });
      return picked;
    }
    if (pool.taken.has(address)) {
      const holder = this.store.leaseAt(pool.addressSpace, address);
      if (holder?.state === 'cooling' && holder.pool === pool.name && (holder.address === cooling?.address || preAllocation !== undefined)) {
        // Taking back its own cooling address (or its pre-allocation): the address stays held.
        this.store.deleteLeaseAt(pool.addressSpace, address);
        pool.countCooling(unit, -1);
        return address;
      }
      if (holder?.state === 'cooling') {
        throw new AddressInUseError(formatAddress(address, family), pool.name, holder, Math.max(0, Math.ceil((holder.reusableAtMs - this.now()) / 1000)));
      }
      throw new AddressInUseError(formatAddress(address, family), pool.name, holder ?? { containerId: 'unknown', ifname: 'unknown' });
    }
    pool.holdIn(unit, { start: address, end: address });
    return address;
  }

  private newLease(command: AllocateCommand, pool: PoolState, address: bigint): NewLease {
    return {
      pool: pool.name, addressSpace: pool.addressSpace, family: pool.config.family, address,
      containerId: command.containerId, ifname: command.ifname, network: command.network,
      podNamespace: command.podNamespace, podName: command.podName, podUid: command.podUid,
      netns: command.netns, bootId: this.bootId, createdAtMs: this.now(),
    };
  }

  /**
   * Ends a lease: in a pool with a reclaim delay the address cools down, kept for the same owner;
   * otherwise (or for a pre-allocated address, which nobody else can get anyway) it is freed.
   */
  private releaseInTransaction(lease: LeaseRecord, unit: UnitOfWork): LeaseRecord {
    const pool = this.pools.holderOf('address', { ...lease, start: lease.address });
    const samePool = pool !== undefined && pool.name === lease.pool;
    const delaySeconds = samePool ? pool.config.reclaimDelaySeconds : 0;
    if (samePool && delaySeconds > 0 && pool.preAllocationAt(lease.address) === undefined) {
      this.store.coolLease(lease.pool, lease.containerId, lease.ifname, ownerKeyOf(lease), this.now() + delaySeconds * 1000);
      pool.countCooling(unit, 1);
      return lease;
    }
    this.store.deleteLease(lease.pool, lease.containerId, lease.ifname);
    pool?.unholdIn(unit, { start: lease.address, end: lease.address });
    return lease;
  }

  private assignRequestedAddresses(texts: readonly string[], addresses: readonly ParsedAddress[], pools: readonly PoolState[], requester: Requester): Map<PoolState, bigint> {
    const assigned = new Map<PoolState, bigint>();
    for (const [i, address] of addresses.entries()) {
      const field = `requested_ips[${i}]`;
      const text = texts[i] ?? '';
      const pool = pools.find((candidate) => candidate.contains(address.value, address.family));
      const shown = formatAddress(address.value, address.family);
      if (!pool) throw new AddressOutsidePoolError(`${field}: ${shown} is in none of the pools ${pools.map((p) => `"${p.name}" (${formatCidr(p.config.subnet.network, p.config.subnet.prefixLength, p.config.family)})`).join(', ')}`);
      const { prefixLength } = pool.settingsFor(address.value);
      if (address.prefixLength !== undefined && address.prefixLength !== prefixLength) {
        const where = prefixLength === pool.config.subnet.prefixLength ? `pool "${pool.name}"` : `its range in pool "${pool.name}"`;
        throw new InvalidArgumentError(`${field}: ${text} has prefix length /${address.prefixLength} but ${where} is a /${prefixLength}`);
      }
      if (!pool.canAssign(address.value)) {
        throw new AddressOutsidePoolError(`${field}: ${shown} is reserved in pool "${pool.name}" (gateway, excluded, network/broadcast or outside its ranges)`, { pool: pool.name });
      }
      const preAllocation = pool.preAllocationAt(address.value);
      if (preAllocation !== undefined && pool.preAllocationFor(requester) !== preAllocation) {
        throw new AddressOutsidePoolError(`${field}: ${shown} in pool "${pool.name}" is pre-allocated to ${describeOwner(preAllocation.owner)}`, { pool: pool.name });
      }
      if (assigned.has(pool)) throw new InvalidArgumentError(`${field}: pool "${pool.name}" already has a requested address; ask for at most one per pool`);
      assigned.set(pool, address.value);
    }
    return assigned;
  }

  private logReleased(log: Logger, lease: LeaseRecord, event: string, latencyMs?: number): void {
    log.info({ event, pool: lease.pool, address: formatAddress(lease.address, lease.family), containerId: lease.containerId,
      ifname: lease.ifname, podNamespace: lease.podNamespace, podName: lease.podName, network: lease.network, latencyMs }, 'lease released');
    this.events.released?.('address', lease.pool);
  }
}

type ParsedAddress = ReturnType<typeof parseAddressWithOptionalPrefix>;

export function parseRequestedAddress(text: string, field: string): ParsedAddress {
  try {
    return parseAddressWithOptionalPrefix(text);
  } catch (error) {
    if (error instanceof IpParseError) throw new InvalidArgumentError(`${field}: ${error.message}`);
    throw error;
  }
}

/**
 * Who gets a cooling address back: the same pod (namespace/name, so a StatefulSet pod restarted
 * under a new container id) on the same interface, or, without pod name, the same container.
 */
export function ownerKeyOf(who: { podNamespace: string; podName: string; containerId: string; ifname: string }): string {
  return who.podName !== '' ? `pod:${who.podNamespace}/${who.podName}/${who.ifname}` : `container:${who.containerId}/${who.ifname}`;
}

const randomBelow = (bound: bigint): bigint => {
  // 64 extra random bits make the modulo bias negligible (< 2^-64) for any pool size.
  const bytes = randomBytes(24);
  return ((bytes.readBigUInt64BE(0) << 128n) | (bytes.readBigUInt64BE(8) << 64n) | bytes.readBigUInt64BE(16)) % bound;
};

function attachmentKey(containerId: string, ifname: string): string {
  return `${containerId}\u0000${ifname}`;
}
