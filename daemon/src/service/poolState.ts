// One pool at run time: its configuration, the addresses it may hand out and those held.
import { TakenAddressSet } from '../allocator/takenAddressSet.ts';
import { allocatableIntervals, countAddresses, reservedCount } from '../config/poolSize.ts';
import type { AddressInterval, PoolConfig } from '../config/types.ts';
import { cidrBounds } from '../ip/address.ts';
import type { LeaseStore } from '../store/leaseStore.ts';

export interface PoolUsage {
  readonly size: bigint;
  readonly allocated: bigint;
  readonly free: bigint;
  readonly reserved: bigint;
}

export class PoolState {
  /** Last address handed out (round-robin position). */
  cursor: bigint | undefined;

  private constructor(
    readonly config: PoolConfig,
    readonly allocatable: readonly AddressInterval[],
    readonly size: bigint,
    readonly taken: TakenAddressSet,
    cursor: bigint | undefined,
  ) {
    this.cursor = cursor;
  }

  static load(config: PoolConfig, store: LeaseStore): PoolState {
    const bounds = cidrBounds(config.subnet);
    const allocatable = allocatableIntervals(config);
    const taken = TakenAddressSet.fromSorted(store.addressesWithin(bounds.first, bounds.last));
    return new PoolState(config, allocatable, countAddresses(allocatable), taken, store.cursor(config.name));
  }

  get name(): string {
    return this.config.name;
  }

  contains(address: bigint, family: number): boolean {
    if (family !== this.config.family) return false;
    const bounds = cidrBounds(this.config.subnet);
    return address >= bounds.first && address <= bounds.last;
  }

  usage(): PoolUsage {
    const heldAllocatable = this.allocatable.reduce((sum, interval) => sum + this.taken.countWithin(interval), 0n);
    return { size: this.size, allocated: this.taken.size, free: this.size - heldAllocatable, reserved: reservedCount(this.config) };
  }
}
