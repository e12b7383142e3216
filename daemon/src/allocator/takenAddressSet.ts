// The addresses of one pool that are held, as sorted, merged runs [start, end]. Finding the
// first free address at or after x is one search plus one jump over the run holding x, whatever
// the number of leases.
//
// Runs live in a list of leaves of at most LEAF_CAPACITY runs each (a two-level B+-tree): a
// change moves at most one leaf's worth of words, and a split or merge one pointer per leaf,
// so a fully fragmented pool (one run per lease, a million runs) changes in microseconds. Each
// run is stored as offsets from the pool's first address in 32-bit words (AddressWords): 8 bytes
// per run in an IPv4 pool, 16 in an IPv6 /64, instead of two bigint objects.
import { lastIndexWhere } from '../config/addressIntervals.ts';
import type { AddressInterval } from '../config/types.ts';
import { AddressWords } from './addressWords.ts';

/** Runs per leaf: large enough that a million runs make ~2000 leaves, small enough to move fast. */
export const LEAF_CAPACITY = 512;
/** A leaf this short is merged into a neighbour when both fit in one leaf. */
const LEAF_MERGE_BELOW = LEAF_CAPACITY / 4;
/** Runs a leaf created for a handful of runs (a small pool) has room for at first. */
const LEAF_INITIAL_ROOM = 8;

const WHOLE_ADDRESS_SPACE: AddressInterval = { start: 0n, end: (1n << 128n) - 1n };

interface Leaf {
  /** Run r is words[r * stride ..]: its start, then its end, `width` words each. */
  words: Uint32Array;
  runs: number;
  /** Addresses held by this leaf's runs. */
  held: number;
}

/** A run's place: runs[run] of leaves[leaf]; run -1 is "before the first run". */
interface RunPosition {
  readonly leaf: number;
  readonly run: number;
}

export class TakenAddressSet {
  private readonly codec: AddressWords;
  private readonly width: number;
  private readonly stride: number;
  private readonly leaves: Leaf[] = [];
  private heldCount = 0;
  private runTotal = 0;
  /** The address being looked up, encoded once per operation. */
  private readonly key: Uint32Array;

  /** `span`: every address this set may ever hold (a pool's subnet); the smaller, the less memory per run. */
  constructor(span: AddressInterval = WHOLE_ADDRESS_SPACE) {
    this.codec = new AddressWords(span);
    this.width = this.codec.width;
    this.stride = 2 * this.width;
    this.key = new Uint32Array(this.width);
  }

  /** Builds from addresses in ascending order (as the store returns them), in O(n); duplicates count once. */
  static fromSorted(addresses: Iterable<bigint>, span?: AddressInterval): TakenAddressSet {
    const set = new TakenAddressSet(span);
    let runStart: bigint | undefined;
    let runEnd = 0n;
    for (const address of addresses) {
      if (runStart !== undefined && address <= runEnd) {
        if (address === runEnd) continue;
        throw new Error('TakenAddressSet.fromSorted: addresses are not ascending');
      }
      set.requireInSpan(address);
      if (runStart !== undefined && address === runEnd + 1n) {
        runEnd = address;
      } else {
        if (runStart !== undefined) set.appendRun(runStart, runEnd);
        runStart = address;
        runEnd = address;
      }
      set.heldCount++;
    }
    if (runStart !== undefined) set.appendRun(runStart, runEnd);
    return set;
  }

  get size(): bigint {
    return BigInt(this.heldCount);
  }

  get runCount(): number {
    return this.runTotal;
  }

  /** Leaves in use (memory is about LEAF_CAPACITY runs' worth per leaf). */
  get leafCount(): number {
    return this.leaves.length;
  }

  has(address: bigint): boolean {
    return this.heldRunAt(address) !== undefined;
  }

  /** The end of the run holding `address`, or undefined when it is free. */
  runEndAt(address: bigint): bigint | undefined {
    const at = this.heldRunAt(address);
    return at === undefined ? undefined : this.endOf(at);
  }

  /** Number of held addresses inside [start, end]; whole leaves inside it count in O(1). */
  countWithin(interval: AddressInterval): bigint {
    const from = interval.start > this.codec.first ? interval.start : this.codec.first;
    const to = interval.end < this.codec.last ? interval.end : this.codec.last;
    if (from > to || this.leaves.length === 0) return 0n;
    const at = this.lastRunStartingAtOrBefore(from);
    let total = 0;
    for (let l = at.leaf, r = Math.max(0, at.run); l < this.leaves.length; l++, r = 0) {
      const leaf = this.leaves[l]!;
      if (r === 0 && this.startOf({ leaf: l, run: 0 }) >= from && this.endOf({ leaf: l, run: leaf.runs - 1 }) <= to) {
        total += leaf.held;
        continue;
      }
      for (; r < leaf.runs; r++) {
        const start = this.startOf({ leaf: l, run: r });
        if (start > to) return BigInt(total);
        const end = this.endOf({ leaf: l, run: r });
        const lo = start > from ? start : from;
        const hi = end < to ? end : to;
        if (hi >= lo) total += Number(hi - lo) + 1;
      }
    }
    return BigInt(total);
  }

  /** Adds an address; returns false when it was already held. Throws for an address outside the span. */
  add(address: bigint): boolean {
    this.requireInSpan(address);
    const at = this.lastRunStartingAtOrBefore(address);
    if (at.run >= 0 && this.compareEndWithKey(at) >= 0) return false;
    const next = this.positionAfter(at);
    const joinsLeft = at.run >= 0 && this.endOf(at) === address - 1n;
    const joinsRight = next !== undefined && this.startOf(next) === address + 1n;
    if (joinsLeft && joinsRight) {
      this.setRun(at, this.startOf(at), this.endOf(next));
      this.removeRun(next);
    } else if (joinsLeft) {
      this.setRun(at, this.startOf(at), address);
    } else if (joinsRight) {
      this.setRun(next, address, this.endOf(next));
    } else {
      this.insertRun(at.run >= 0 ? at.leaf : 0, at.run + 1, address, address);
    }
    this.heldCount++;
    return true;
  }

  /** Removes an address; returns false when it was not held. */
  delete(address: bigint): boolean {
    const at = this.heldRunAt(address);
    if (at === undefined) return false;
    const start = this.startOf(at);
    const end = this.endOf(at);
    if (start === end) {
      this.removeRun(at);
    } else if (address === start) {
      this.setRun(at, start + 1n, end);
    } else if (address === end) {
      this.setRun(at, start, end - 1n);
    } else {
      this.setRun(at, start, address - 1n);
      this.insertRun(at.leaf, at.run + 1, address + 1n, end);
    }
    this.heldCount--;
    return true;
  }

  /** Held runs in ascending order. */
  *runs(): Generator<AddressInterval> {
    for (let l = 0; l < this.leaves.length; l++) {
      for (let r = 0; r < this.leaves[l]!.runs; r++) {
        const position = { leaf: l, run: r };
        yield { start: this.startOf(position), end: this.endOf(position) };
      }
    }
  }

  /** Held addresses in ascending order. */
  *addresses(): Generator<bigint> {
    for (const run of this.runs()) {
      for (let a = run.start; a <= run.end; a++) yield a;
    }
  }

  private requireInSpan(address: bigint): void {
    if (!this.codec.contains(address)) {
      throw new RangeError(`TakenAddressSet: ${address} is outside the span [${this.codec.first}, ${this.codec.last}]`);
    }
  }

  /** The run holding `address`, or undefined when it is free. */
  private heldRunAt(address: bigint): RunPosition | undefined {
    if (!this.codec.contains(address)) return undefined;
    const at = this.lastRunStartingAtOrBefore(address);
    return at.run >= 0 && this.compareEndWithKey(at) >= 0 ? at : undefined;
  }

  /**
   * The last run whose start is <= address ({ leaf: 0, run: -1 } when there is none), found by
   * binary search over the leaves' first starts, then inside the leaf. Leaves `address` in `key`.
   */
  private lastRunStartingAtOrBefore(address: bigint): RunPosition {
    const { codec, key, stride } = this;
    codec.write(address, key, 0);
    const leafIndex = lastIndexWhere(0, this.leaves.length, (i) => codec.compare(this.leaves[i]!.words, 0, key, 0) <= 0);
    if (leafIndex < 0) return { leaf: 0, run: -1 };
    const leaf = this.leaves[leafIndex]!;
    const run = lastIndexWhere(1, leaf.runs, (i) => codec.compare(leaf.words, i * stride, key, 0) <= 0);
    return { leaf: leafIndex, run };
  }

  /** Sign of (end of the run at `at` - the address in `key`). */
  private compareEndWithKey(at: RunPosition): number {
    return this.codec.compare(this.leaves[at.leaf]!.words, at.run * this.stride + this.width, this.key, 0);
  }

  /** The run after `at` (at.run may be -1), or undefined at the end. */
  private positionAfter(at: RunPosition): RunPosition | undefined {
    const leaf = this.leaves[at.leaf];
    if (leaf === undefined) return undefined;
    if (at.run + 1 < leaf.runs) return { leaf: at.leaf, run: at.run + 1 };
    return at.leaf + 1 < this.leaves.length ? { leaf: at.leaf + 1, run: 0 } : undefined;
  }

  private startOf(at: RunPosition): bigint {
    return this.codec.read(this.leaves[at.leaf]!.words, at.run * this.stride);
  }

  private endOf(at: RunPosition): bigint {
    return this.codec.read(this.leaves[at.leaf]!.words, at.run * this.stride + this.width);
  }

  private setRun(at: RunPosition, start: bigint, end: bigint): void {
    const leaf = this.leaves[at.leaf]!;
    leaf.held += Number(end - start) - Number(this.endOf(at) - this.startOf(at));
    this.writeRun(leaf, at.run, start, end);
  }

  private writeRun(leaf: Leaf, run: number, start: bigint, end: bigint): void {
    this.codec.write(start, leaf.words, run * this.stride);
    this.codec.write(end, leaf.words, run * this.stride + this.width);
  }

  /** Appends a run after every other one (bulk load): leaves are filled to capacity. */
  private appendRun(start: bigint, end: bigint): void {
    let leaf = this.leaves[this.leaves.length - 1];
    if (leaf === undefined || leaf.runs === LEAF_CAPACITY) {
      leaf = this.newLeaf(LEAF_CAPACITY);
      this.leaves.push(leaf);
    }
    this.writeRun(leaf, leaf.runs, start, end);
    leaf.runs++;
    leaf.held += Number(end - start) + 1;
    this.runTotal++;
  }

  /** Inserts a run at leaves[leafIndex].runs[run] (run <= its run count), splitting a full leaf. */
  private insertRun(leafIndex: number, run: number, start: bigint, end: bigint): void {
    if (this.leaves.length === 0) this.leaves.push(this.newLeaf(LEAF_INITIAL_ROOM));
    let leaf = this.leaves[leafIndex]!;
    if (leaf.runs === LEAF_CAPACITY) {
      const half = LEAF_CAPACITY / 2;
      const right = this.newLeaf(LEAF_CAPACITY);
      right.words.set(leaf.words.subarray(half * this.stride, leaf.runs * this.stride));
      right.runs = leaf.runs - half;
      leaf.runs = half;
      right.held = this.heldInLeaf(right);
      leaf.held -= right.held;
      this.leaves.splice(leafIndex + 1, 0, right);
      if (run > half) {
        leaf = right;
        run -= half;
      }
    }
    if ((leaf.runs + 1) * this.stride > leaf.words.length) {
      const grown = new Uint32Array(Math.min(LEAF_CAPACITY, 2 * (leaf.words.length / this.stride)) * this.stride);
      grown.set(leaf.words.subarray(0, leaf.runs * this.stride));
      leaf.words = grown;
    }
    leaf.words.copyWithin((run + 1) * this.stride, run * this.stride, leaf.runs * this.stride);
    this.writeRun(leaf, run, start, end);
    leaf.runs++;
    leaf.held += Number(end - start) + 1;
    this.runTotal++;
  }

  /** Removes a run; an emptied leaf goes, a short one joins a neighbour when they fit in one. */
  private removeRun(at: RunPosition): void {
    const leaf = this.leaves[at.leaf]!;
    leaf.held -= Number(this.endOf(at) - this.startOf(at)) + 1;
    leaf.words.copyWithin(at.run * this.stride, (at.run + 1) * this.stride, leaf.runs * this.stride);
    leaf.runs--;
    this.runTotal--;
    if (leaf.runs === 0) {
      this.leaves.splice(at.leaf, 1);
      return;
    }
    if (leaf.runs >= LEAF_MERGE_BELOW) return;
    const leftIndex = at.leaf + 1 < this.leaves.length ? at.leaf : at.leaf - 1;
    const left = this.leaves[leftIndex];
    const right = this.leaves[leftIndex + 1];
    if (left === undefined || right === undefined || left.runs + right.runs > LEAF_CAPACITY) return;
    if (left.words.length < (left.runs + right.runs) * this.stride) {
      const grown = new Uint32Array(LEAF_CAPACITY * this.stride);
      grown.set(left.words.subarray(0, left.runs * this.stride));
      left.words = grown;
    }
    left.words.set(right.words.subarray(0, right.runs * this.stride), left.runs * this.stride);
    left.runs += right.runs;
    left.held += right.held;
    this.leaves.splice(leftIndex + 1, 1);
  }

  private newLeaf(room: number): Leaf {
    return { words: new Uint32Array(room * this.stride), runs: 0, held: 0 };
  }

  private heldInLeaf(leaf: Leaf): number {
    let held = 0;
    for (let r = 0; r < leaf.runs; r++) {
      held += Number(this.codec.read(leaf.words, r * this.stride + this.width) - this.codec.read(leaf.words, r * this.stride)) + 1;
    }
    return held;
  }
}
