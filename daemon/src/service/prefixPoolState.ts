// One prefix pool at run time: its configuration and the prefixes held (active or cooling), as
// sorted intervals, plus the rules that depend on the pool alone.
import { countAlignedBlocks, freeIntervals } from '../allocator/pickPrefix.ts';
import { intervalsOverlap, lastIndexWhere } from '../config/addressIntervals.ts';
import type { AddressInterval, PrefixPoolConfig } from '../config/types.ts';
import { cidrBounds, familyBits, formatAddress, formatCidr } from '../ip/address.ts';
import type { LeaseStore } from '../store/leaseStore.ts';
import { ServedPoolBase, type PoolUsage } from './servedPoolBase.ts';

export class PrefixPoolState extends ServedPoolBase<PrefixPoolConfig> {
  readonly kind = 'prefix';

  /** held: the held prefixes as intervals, sorted and disjoint. */
  private constructor(config: PrefixPoolConfig, private readonly held: AddressInterval[], coolingCount: number) {
    super(config, coolingCount);
  }

  /**
   * Loads what the database holds inside the subnet of the pool's address space, whichever pool wrote
   * it: a prefix left by a renamed pool still blocks its addresses.
   */
  static load(config: PrefixPoolConfig, store: LeaseStore): PrefixPoolState {
    const bounds = cidrBounds(config.subnet);
    const held = store.prefixes.within(config.addressSpace, bounds.first, bounds.last)
      .map((lease) => prefixInterval(lease.first, lease.prefixLength, config.family));
    return new PrefixPoolState(config, held, store.prefixes.coolingCount(config.name));
  }

  get heldCount(): number {
    return this.held.length;
  }

  /** The subnet minus the reserved subnets and the held prefixes. */
  freeSpace(): AddressInterval[] {
    return freeIntervals(this.bounds, this.config.reservedSubnets, this.held);
  }

  touchesReserved(interval: AddressInterval): boolean {
    return this.config.reservedSubnets.some((reserved) => intervalsOverlap(reserved, interval));
  }

  hold(interval: AddressInterval): void {
    this.held.splice(this.lastStartingAtOrBefore(interval.start) + 1, 0, interval);
  }

  unhold(interval: AddressInterval): boolean {
    const i = this.lastStartingAtOrBefore(interval.start);
    if (i < 0 || this.held[i]!.start !== interval.start || this.held[i]!.end !== interval.end) return false;
    this.held.splice(i, 1);
    return true;
  }

  heldIntervals(): readonly AddressInterval[] {
    return this.held;
  }

  usage(): PoolUsage {
    const size = prefixSize(this.config.prefixLength, this.config.family);
    const all = countAlignedBlocks([this.bounds], size);
    const usable = countAlignedBlocks(freeIntervals(this.bounds, this.config.reservedSubnets), size);
    return {
      size: usable,
      allocated: BigInt(this.held.length),
      free: countAlignedBlocks(this.freeSpace(), size),
      reserved: all - usable,
      cooling: BigInt(this.coolingCount),
    };
  }

  /** Index of the last held prefix starting at or before address, or -1. */
  private lastStartingAtOrBefore(address: bigint): number {
    return lastIndexWhere(0, this.held.length, (i) => this.held[i]!.start <= address);
  }
}

/** Number of addresses in a prefix of this length. */
export function prefixSize(prefixLength: number, family: 4 | 6): bigint {
  return 1n << BigInt(familyBits(family) - prefixLength);
}

export function prefixInterval(first: bigint, prefixLength: number, family: 4 | 6): AddressInterval {
  return { start: first, end: first + prefixSize(prefixLength, family) - 1n };
}

/** An interval as CIDR text when it is one aligned prefix, else as "first-last". */
export function describeInterval(interval: AddressInterval, family: 4 | 6): string {
  const size = interval.end - interval.start + 1n;
  if ((size & (size - 1n)) === 0n && interval.start % size === 0n) {
    return formatCidr(interval.start, familyBits(family) - size.toString(2).length + 1, family);
  }
  return `${formatAddress(interval.start, family)}-${formatAddress(interval.end, family)}`;
}
