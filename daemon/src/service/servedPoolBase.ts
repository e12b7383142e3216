// What a pool being served has whichever its kind: its configuration, the span of its subnet, the
// spans its leases hold (active or cooling) and how many of them cool down. Changes made inside a
// transaction are undone if it rolls back, so memory never disagrees with the database.
import type { AddressInterval, PoolConfig, PrefixPoolConfig } from '../config/types.ts';
import { cidrBounds } from '../ip/address.ts';
import type { UnitOfWork } from '../store/commitQueue.ts';

/**
 * In addresses, or in prefixes of a prefix pool's prefixLength: size (outside what is reserved),
 * allocated (held, cooling included; prefix leases of any length), free (wholly free), reserved.
 */
export interface PoolUsage {
  readonly size: bigint;
  readonly allocated: bigint;
  readonly free: bigint;
  readonly reserved: bigint;
  readonly cooling: bigint;
}

export abstract class ServedPoolBase<C extends PoolConfig | PrefixPoolConfig> {
  /** Leases of this pool cooling down (their spans stay held). */
  coolingCount: number;

  protected constructor(readonly config: C, coolingCount: number) {
    this.coolingCount = coolingCount;
  }

  get name(): string {
    return this.config.name;
  }

  get addressSpace(): string {
    return this.config.addressSpace;
  }

  get bounds(): AddressInterval {
    const { first, last } = cidrBounds(this.config.subnet);
    return { start: first, end: last };
  }

  contains(address: bigint, family: number): boolean {
    const { start, end } = this.bounds;
    return family === this.config.family && address >= start && address <= end;
  }

  abstract usage(): PoolUsage;

  /** Marks a lease's span held. */
  abstract hold(span: AddressInterval): void;
  /** Drops a held span; returns false when it was not held. */
  abstract unhold(span: AddressInterval): boolean;

  /** hold, undone if the transaction rolls back. */
  holdIn(unit: UnitOfWork, span: AddressInterval): void {
    this.hold(span);
    unit.onRollback(() => this.unhold(span));
  }

  /** unhold, undone if the transaction rolls back; false when the span was not held. */
  unholdIn(unit: UnitOfWork, span: AddressInterval): boolean {
    if (!this.unhold(span)) return false;
    unit.onRollback(() => this.hold(span));
    return true;
  }

  /** One more (+1) or one fewer (-1) lease cooling down, undone if the transaction rolls back. */
  countCooling(unit: UnitOfWork, change: 1 | -1): void {
    this.coolingCount += change;
    unit.onRollback(() => { this.coolingCount -= change; });
  }
}
