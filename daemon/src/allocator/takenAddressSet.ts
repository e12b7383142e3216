// The addresses of one pool that are held, as sorted, merged runs [start, end]. Finding the
// first free address at or after x is one binary search plus one jump over the run holding x,
// whatever the number of leases: sequential allocation keeps the number of runs small, and even
// a fully fragmented set costs O(log n) to search.
import type { AddressInterval } from '../config/types.ts';

export class TakenAddressSet {
  private readonly starts: bigint[] = [];
  private readonly ends: bigint[] = [];
  private count = 0n;

  /** Builds from addresses in ascending order (as the store returns them), in O(n). */
  static fromSorted(addresses: Iterable<bigint>): TakenAddressSet {
    const set = new TakenAddressSet();
    let last: bigint | undefined;
    for (const address of addresses) {
      if (last !== undefined && address <= last) {
        if (address === last) continue;
        throw new Error('TakenAddressSet.fromSorted: addresses are not ascending');
      }
      const n = set.ends.length;
      if (n > 0 && set.ends[n - 1] === address - 1n) set.ends[n - 1] = address;
      else {
        set.starts.push(address);
        set.ends.push(address);
      }
      set.count += 1n;
      last = address;
    }
    return set;
  }

  get size(): bigint {
    return this.count;
  }

  get runCount(): number {
    return this.starts.length;
  }

  has(address: bigint): boolean {
    return this.runIndexOf(address) >= 0;
  }

  /** The end of the run holding `address`, or undefined when it is free. */
  runEndAt(address: bigint): bigint | undefined {
    const i = this.runIndexOf(address);
    return i >= 0 ? this.ends[i] : undefined;
  }

  /** Number of held addresses inside [start, end]. */
  countWithin(interval: AddressInterval): bigint {
    let total = 0n;
    for (let i = Math.max(0, this.lastRunStartingAtOrBefore(interval.start)); i < this.starts.length; i++) {
      const s = this.starts[i]!;
      const e = this.ends[i]!;
      if (s > interval.end) break;
      const lo = s > interval.start ? s : interval.start;
      const hi = e < interval.end ? e : interval.end;
      if (hi >= lo) total += hi - lo + 1n;
    }
    return total;
  }

  /** Adds an address; returns false when it was already held. */
  add(address: bigint): boolean {
    const i = this.lastRunStartingAtOrBefore(address);
    if (i >= 0 && this.ends[i]! >= address) return false;
    const joinsLeft = i >= 0 && this.ends[i] === address - 1n;
    const next = i + 1;
    const joinsRight = next < this.starts.length && this.starts[next] === address + 1n;
    if (joinsLeft && joinsRight) {
      this.ends[i] = this.ends[next]!;
      this.starts.splice(next, 1);
      this.ends.splice(next, 1);
    } else if (joinsLeft) {
      this.ends[i] = address;
    } else if (joinsRight) {
      this.starts[next] = address;
    } else {
      this.starts.splice(next, 0, address);
      this.ends.splice(next, 0, address);
    }
    this.count += 1n;
    return true;
  }

  /** Removes an address; returns false when it was not held. */
  delete(address: bigint): boolean {
    const i = this.runIndexOf(address);
    if (i < 0) return false;
    const s = this.starts[i]!;
    const e = this.ends[i]!;
    if (s === e) {
      this.starts.splice(i, 1);
      this.ends.splice(i, 1);
    } else if (address === s) {
      this.starts[i] = s + 1n;
    } else if (address === e) {
      this.ends[i] = e - 1n;
    } else {
      this.ends[i] = address - 1n;
      this.starts.splice(i + 1, 0, address + 1n);
      this.ends.splice(i + 1, 0, e);
    }
    this.count -= 1n;
    return true;
  }

  /** Held runs in ascending order. */
  *runs(): Generator<AddressInterval> {
    for (let i = 0; i < this.starts.length; i++) yield { start: this.starts[i]!, end: this.ends[i]! };
  }

  /** Held addresses in ascending order. */
  *addresses(): Generator<bigint> {
    for (let i = 0; i < this.starts.length; i++) {
      for (let a = this.starts[i]!; a <= this.ends[i]!; a++) yield a;
    }
  }

  private runIndexOf(address: bigint): number {
    const i = this.lastRunStartingAtOrBefore(address);
    return i >= 0 && this.ends[i]! >= address ? i : -1;
  }

  /** Index of the last run whose start is <= address, or -1. */
  private lastRunStartingAtOrBefore(address: bigint): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid]! <= address) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }
}
