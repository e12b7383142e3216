// One address pool at run time: its configuration, the addresses it may hand out and those held
// (active or cooling down), and the rules that depend on the pool alone.
import { TakenAddressSet } from '../allocator/takenAddressSet.ts';
import { intervalsInclude } from '../config/addressIntervals.ts';
import { allocatableIntervals, assignableIntervals, countAddresses, reservedCount } from '../config/poolSize.ts';
import type { AddressInterval, PoolConfig, PreAllocation, PreAllocationOwner } from '../config/types.ts';
import { cidrBounds } from '../ip/address.ts';
import type { LeaseStore } from '../store/leaseStore.ts';
import { ServedPoolBase, type PoolUsage } from './servedPoolBase.ts';

export interface AddressPoolUsage extends PoolUsage {
  readonly preAllocated: bigint;
}

/** Who is asking, as far as pre-allocations and the reclaim delay care. */
export interface Requester {
  readonly containerId: string;
  readonly podNamespace: string;
  readonly podName: string;
  readonly podLabels: Readonly<Record<string, string>>;
}

/** Prefix length and gateway reported for one address: its range's, else the pool's. */
export interface AddressSettings {
  readonly prefixLength: number;
  readonly gateway?: bigint;
}

export class PoolState extends ServedPoolBase<PoolConfig> {
  readonly kind = 'address';
  /** Last address handed out (round-robin position). */
  cursor: bigint | undefined;
  /** Pre-allocated addresses by address. */
  private readonly preAllocationByAddress: ReadonlyMap<bigint, PreAllocation>;

  private constructor(
    config: PoolConfig,
    /** What free allocation picks from (pre-allocated addresses left out). */
    readonly allocatable: readonly AddressInterval[],
    /** Everything the pool may hand out to someone, pre-allocated addresses included. */
    readonly assignable: readonly AddressInterval[],
    readonly size: bigint,
    /** Replaced only by reloadHeld. */
    public taken: TakenAddressSet,
    cursor: bigint | undefined,
    coolingCount: number,
  ) {
    super(config, coolingCount);
    this.cursor = cursor;
    this.preAllocationByAddress = new Map(config.preAllocations.map((entry) => [entry.address, entry]));
  }

  static load(config: PoolConfig, store: LeaseStore): PoolState {
    const allocatable = allocatableIntervals(config);
    return new PoolState(config, allocatable, assignableIntervals(config), countAddresses(allocatable), loadTaken(config, store),
      store.cursor(config.name), store.coolingCount(config.name));
  }

  /**
   * Re-reads what is held from the database: after a restore of a million leases is rolled back,
   * cheaper than having remembered each address it held.
   */
  reloadHeld(store: LeaseStore): void {
    this.taken = loadTaken(this.config, store);
    this.coolingCount = store.coolingCount(this.config.name);
  }

  /** The span of an address lease is one address. */
  hold(span: AddressInterval): void {
    this.taken.add(span.start);
  }

  unhold(span: AddressInterval): boolean {
    return this.taken.delete(span.start);
  }

  /** True when the address can be handed out to someone (pre-allocated addresses included). */
  canAssign(address: bigint): boolean {
    return intervalsInclude(this.assignable, address);
  }

  /** The pre-allocation this requester owns in this pool, if any (first match in config order). */
  preAllocationFor(requester: Requester): PreAllocation | undefined {
    return this.config.preAllocations.find((entry) => ownerMatches(entry.owner, requester));
  }

  /** The pre-allocation of an address, if it is one. */
  preAllocationAt(address: bigint): PreAllocation | undefined {
    return this.preAllocationByAddress.get(address);
  }

  settingsFor(address: bigint): AddressSettings {
    const range = this.config.ranges.find((candidate) => candidate.start <= address && address <= candidate.end);
    const prefixLength = range?.prefixLength ?? this.config.subnet.prefixLength;
    const gateway = range?.gateway ?? (range?.prefixLength === undefined ? this.config.gateway : undefined);
    return gateway === undefined ? { prefixLength } : { prefixLength, gateway };
  }

  /**
   * Addresses free allocation can still pick. Apart from usage() because a cluster pool checks it
   * after every ADD (claim ahead?), and usage() also re-derives the reserved count from the config
   * by interval arithmetic: about a tenth of the ADD path's CPU at 16 calls in flight.
   */
  free(): bigint {
    return this.size - this.allocatable.reduce((sum, interval) => sum + this.taken.countWithin(interval), 0n);
  }

  usage(): AddressPoolUsage {
    const preAllocated = BigInt(this.config.preAllocations.length);
    return {
      size: this.size + preAllocated,
      allocated: this.taken.size,
      free: this.free(),
      reserved: reservedCount(this.config),
      preAllocated,
      cooling: BigInt(this.coolingCount),
    };
  }
}

function loadTaken(config: PoolConfig, store: LeaseStore): TakenAddressSet {
  const bounds = cidrBounds(config.subnet);
  return TakenAddressSet.fromSorted(store.addressesWithin(config.addressSpace, bounds.first, bounds.last), { start: bounds.first, end: bounds.last });
}

function ownerMatches(owner: PreAllocationOwner, requester: Requester): boolean {
  switch (owner.kind) {
    case 'pod':
      return owner.namespace === requester.podNamespace && owner.name === requester.podName;
    case 'containerId':
      return owner.containerId === requester.containerId;
    case 'labels':
      return Object.entries(owner.labels).every(([key, value]) => requester.podLabels[key] === value);
  }
}

export function describeOwner(owner: PreAllocationOwner): string {
  switch (owner.kind) {
    case 'pod':
      return `pod ${owner.namespace}/${owner.name}`;
    case 'containerId':
      return `container ${owner.containerId}`;
    case 'labels':
      return `pods labelled ${formatLabels(owner.labels)}`;
  }
}

export function formatLabels(labels: Readonly<Record<string, string>>): string {
  return `{${Object.entries(labels).map(([key, value]) => `${key}=${value}`).join(', ')}}`;
}
