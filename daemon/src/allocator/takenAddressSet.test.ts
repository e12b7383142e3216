import { describe, expect, it } from 'vitest';
import type { AddressInterval } from '../config/types.ts';
import { LEAF_CAPACITY, TakenAddressSet } from './takenAddressSet.ts';

const TOP = (1n << 128n) - 1n;
const V4_8: AddressInterval = { start: 0x0a00_0000n, end: 0x0aff_ffffn };
const V6_64_BASE = 0xfd00_000b_0000_0000_0000_0000_0000_0000n;
const V6_64: AddressInterval = { start: V6_64_BASE, end: V6_64_BASE + (1n << 64n) - 1n };
const WHOLE: AddressInterval = { start: 0n, end: TOP };

type Step = ['add' | 'delete', bigint, boolean];

/** Runs as [start, end] pairs, for compact expectations. */
const runsOf = (set: TakenAddressSet): [bigint, bigint][] => [...set.runs()].map((run) => [run.start, run.end]);

describe('TakenAddressSet: merging and splitting runs at boundaries', () => {
  const b = V4_8.start;
  const cases: { name: string; span: AddressInterval; initial: bigint[]; steps: Step[]; runs: [bigint, bigint][] }[] = [
    { name: 'add into empty set', span: V4_8, initial: [], steps: [['add', b + 5n, true]], runs: [[b + 5n, b + 5n]] },
    { name: 'add joins the run on its left', span: V4_8, initial: [b + 5n], steps: [['add', b + 6n, true]], runs: [[b + 5n, b + 6n]] },
    { name: 'add joins the run on its right', span: V4_8, initial: [b + 5n], steps: [['add', b + 4n, true]], runs: [[b + 4n, b + 5n]] },
    { name: 'add fills a one-address gap', span: V4_8, initial: [b + 4n, b + 6n], steps: [['add', b + 5n, true]], runs: [[b + 4n, b + 6n]] },
    { name: 'add before the first run', span: V4_8, initial: [b + 9n], steps: [['add', b + 1n, true]], runs: [[b + 1n, b + 1n], [b + 9n, b + 9n]] },
    { name: 'add a held address is refused', span: V4_8, initial: [b + 4n, b + 5n], steps: [['add', b + 4n, false], ['add', b + 5n, false]], runs: [[b + 4n, b + 5n]] },
    { name: 'delete the only address', span: V4_8, initial: [b + 4n], steps: [['delete', b + 4n, true]], runs: [] },
    { name: 'delete the start of a run', span: V4_8, initial: [b + 4n, b + 5n, b + 6n], steps: [['delete', b + 4n, true]], runs: [[b + 5n, b + 6n]] },
    { name: 'delete the end of a run', span: V4_8, initial: [b + 4n, b + 5n, b + 6n], steps: [['delete', b + 6n, true]], runs: [[b + 4n, b + 5n]] },
    { name: 'delete splits a run', span: V4_8, initial: [b + 4n, b + 5n, b + 6n], steps: [['delete', b + 5n, true]], runs: [[b + 4n, b + 4n], [b + 6n, b + 6n]] },
    { name: 'delete a free address is refused', span: V4_8, initial: [b + 4n, b + 6n], steps: [['delete', b + 5n, false], ['delete', b + 7n, false]], runs: [[b + 4n, b + 4n], [b + 6n, b + 6n]] },
    { name: 'first and last address of the span', span: V4_8, initial: [], steps: [['add', V4_8.end, true], ['add', V4_8.start, true], ['add', V4_8.end - 1n, true]], runs: [[V4_8.start, V4_8.start], [V4_8.end - 1n, V4_8.end]] },
    { name: 'IPv6 /64 across the 32-bit word boundary', span: V6_64, initial: [V6_64_BASE + 0xffff_fffen, V6_64_BASE + 0x1_0000_0000n], steps: [['add', V6_64_BASE + 0xffff_ffffn, true]], runs: [[V6_64_BASE + 0xffff_fffen, V6_64_BASE + 0x1_0000_0000n]] },
    { name: 'IPv6 /64 split across the word boundary', span: V6_64, initial: [V6_64_BASE + 0xffff_fffen, V6_64_BASE + 0xffff_ffffn, V6_64_BASE + 0x1_0000_0000n], steps: [['delete', V6_64_BASE + 0xffff_ffffn, true]], runs: [[V6_64_BASE + 0xffff_fffen, V6_64_BASE + 0xffff_fffen], [V6_64_BASE + 0x1_0000_0000n, V6_64_BASE + 0x1_0000_0000n]] },
    { name: 'top of the 128-bit space', span: WHOLE, initial: [TOP - 2n, TOP], steps: [['add', TOP - 1n, true], ['delete', TOP, true]], runs: [[TOP - 2n, TOP - 1n]] },
    { name: 'bottom of the 128-bit space', span: WHOLE, initial: [0n, 2n], steps: [['add', 1n, true], ['delete', 0n, true]], runs: [[1n, 2n]] },
  ];
  it.each(cases)('$name', ({ span, initial, steps, runs }) => {
    const set = TakenAddressSet.fromSorted(initial, span);
    let size = BigInt(initial.length);
    for (const [operation, address, changed] of steps) {
      expect(set[operation](address)).toBe(changed);
      if (changed) size += operation === 'add' ? 1n : -1n;
    }
    expect(runsOf(set)).toEqual(runs);
    expect(set.runCount).toBe(runs.length);
    expect(set.size).toBe(size);
  });
});

describe('TakenAddressSet: the span', () => {
  it('refuses to add an address outside it', () => {
    const set = new TakenAddressSet(V4_8);
    expect(() => set.add(V4_8.start - 1n)).toThrow(RangeError);
    expect(() => set.add(V4_8.end + 1n)).toThrow(RangeError);
    expect(() => TakenAddressSet.fromSorted([V4_8.end + 1n], V4_8)).toThrow(RangeError);
    expect(set.size).toBe(0n);
  });

  it('holds nothing outside it', () => {
    const set = TakenAddressSet.fromSorted([V4_8.start, V4_8.end], V4_8);
    expect(set.has(V4_8.start - 1n)).toBe(false);
    expect(set.runEndAt(V4_8.end + 1n)).toBeUndefined();
    expect(set.delete(V4_8.end + 1n)).toBe(false);
    expect(set.countWithin({ start: 0n, end: TOP })).toBe(2n);
    expect(set.countWithin({ start: 0n, end: V4_8.start - 1n })).toBe(0n);
  });

  it('builds from sorted input, counts duplicates once and rejects unsorted input', () => {
    const set = TakenAddressSet.fromSorted([1n, 2n, 2n, 3n, 10n, 11n]);
    expect(set.size).toBe(5n);
    expect(runsOf(set)).toEqual([[1n, 3n], [10n, 11n]]);
    expect(() => TakenAddressSet.fromSorted([3n, 2n])).toThrow(/not ascending/);
  });
});

describe('TakenAddressSet: inserting a run into a full leaf', () => {
  const half = LEAF_CAPACITY / 2;
  it.each([0, 1, half - 1, half, half + 1, half + 2, LEAF_CAPACITY - 1, LEAF_CAPACITY])('before run %i', (position) => {
    const base = V4_8.start + 4n;
    const full = Array.from({ length: LEAF_CAPACITY }, (_, i) => base + 4n * BigInt(i));
    const set = TakenAddressSet.fromSorted(full, V4_8);
    expect(set.leafCount).toBe(1);
    const added = base + 4n * BigInt(position) - 2n;
    expect(set.add(added)).toBe(true);
    expect(set.leafCount).toBe(2);
    const want = [...full, added].sort((a, b) => (a < b ? -1 : 1));
    expect([...set.addresses()]).toEqual(want);
    expect(set.countWithin(V4_8)).toBe(BigInt(want.length));
    for (const address of want) expect(set.runEndAt(address)).toBe(address);
  });
});

describe('TakenAddressSet: many runs (several leaves)', () => {
  it.each([
    { name: 'IPv4 /8', span: V4_8 },
    { name: 'IPv6 /64', span: V6_64 },
    { name: 'top of the 128-bit space', span: { start: TOP - (1n << 20n), end: TOP } },
  ])('$name: fragmenting, merging and draining 20 leaves', ({ span }) => {
    const runs = LEAF_CAPACITY * 20;
    const every = Array.from({ length: runs }, (_, i) => span.start + 2n * BigInt(i));
    const set = TakenAddressSet.fromSorted(every, span);
    expect(set.runCount).toBe(runs);
    // Filling every gap from the end merges everything into one run.
    for (let i = runs - 2; i >= 0; i--) expect(set.add(span.start + 2n * BigInt(i) + 1n)).toBe(true);
    expect(runsOf(set)).toEqual([[span.start, span.start + 2n * BigInt(runs - 1)]]);
    // Punching holes again splits it back into as many runs, across leaf splits.
    for (let i = 0; i < runs - 1; i++) expect(set.delete(span.start + 2n * BigInt(i) + 1n)).toBe(true);
    expect(set.runCount).toBe(runs);
    expect(set.countWithin(span)).toBe(BigInt(runs));
    expect(set.countWithin({ start: span.start + 1n, end: span.start + 2n * BigInt(LEAF_CAPACITY * 7) })).toBe(BigInt(LEAF_CAPACITY * 7));
    const leavesWhenFragmented = set.leafCount;
    expect(leavesWhenFragmented).toBeGreaterThanOrEqual(20);
    // Draining three runs of every four leaves short leaves that merge; then drain the rest.
    for (let i = 0; i < runs; i++) if (i % 4 !== 3) expect(set.delete(every[i]!)).toBe(true);
    const kept = every.filter((_, i) => i % 4 === 3);
    expect(set.runCount).toBe(kept.length);
    // Short leaves were merged: on average a leaf is at least a quarter full.
    expect(set.leafCount).toBeLessThanOrEqual(Math.ceil(kept.length / (LEAF_CAPACITY / 4)));
    expect([...set.addresses()]).toEqual(kept);
    expect(set.countWithin(span)).toBe(BigInt(kept.length));
    expect(set.countWithin({ start: kept[100]!, end: kept[kept.length - 100]! })).toBe(BigInt(kept.length - 199));
    for (let i = 0; i < kept.length; i++) expect(set.runEndAt(kept[i]!)).toBe(kept[i]);
    for (const address of kept) expect(set.delete(address)).toBe(true);
    expect(set.runCount).toBe(0);
    expect(set.size).toBe(0n);
    expect(set.add(span.end)).toBe(true);
    expect(runsOf(set)).toEqual([[span.end, span.end]]);
  });
});

/** Deterministic PRNG (mulberry32), so that a failure replays. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The trivially correct model: a Set of bigints. */
class ModelSet {
  readonly held = new Set<bigint>();
  runEndAt(address: bigint): bigint | undefined {
    if (!this.held.has(address)) return undefined;
    let end = address;
    while (this.held.has(end + 1n)) end++;
    return end;
  }
  countWithin(start: bigint, end: bigint): bigint {
    let n = 0n;
    for (const address of this.held) if (address >= start && address <= end) n++;
    return n;
  }
  runs(): [bigint, bigint][] {
    const sorted = [...this.held].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const runs: [bigint, bigint][] = [];
    for (const address of sorted) {
      const last = runs[runs.length - 1];
      if (last && last[1] === address - 1n) last[1] = address;
      else runs.push([address, address]);
    }
    return runs;
  }
}

describe('TakenAddressSet: randomized differential test against a Set of bigints', () => {
  // A window of addresses small enough that random operations collide, merge and split runs,
  // large enough for several leaves; placed at the start, the middle and the top of each span.
  const WINDOW = 6000;
  const spans: { name: string; span: AddressInterval; windowStart: bigint }[] = [
    { name: 'IPv4 /8, start', span: V4_8, windowStart: V4_8.start },
    { name: 'IPv4 /8, end', span: V4_8, windowStart: V4_8.end - BigInt(WINDOW) + 1n },
    { name: 'IPv6 /64, across a word boundary', span: V6_64, windowStart: V6_64_BASE + 0xffff_ffffn - BigInt(WINDOW / 2) },
    { name: 'IPv6 /64, end', span: V6_64, windowStart: V6_64.end - BigInt(WINDOW) + 1n },
    { name: 'whole space, near 2^128', span: WHOLE, windowStart: TOP - BigInt(WINDOW) + 1n },
    { name: 'whole space, near 2^64', span: WHOLE, windowStart: (1n << 64n) - BigInt(WINDOW / 2) },
  ];
  it.each(spans.flatMap((entry, i) => [1, 2].map((round) => ({ ...entry, seed: 1000 * i + round }))))('$name (seed $seed)', ({ span, windowStart, seed }) => {
    const random = seededRandom(seed);
    const pick = (): bigint => windowStart + BigInt(Math.floor(random() * WINDOW));
    const initial = Array.from({ length: WINDOW }, (_, i) => windowStart + BigInt(i)).filter(() => random() < 0.3);
    const set = TakenAddressSet.fromSorted(initial, span);
    const model = new ModelSet();
    for (const address of initial) model.held.add(address);
    const OPERATIONS = 60_000;
    let mostLeaves = set.leafCount;
    let fewestLeavesAfterMost = Infinity;
    for (let step = 0; step < OPERATIONS; step++) {
      // Fill, drain, then refill, so that leaves split, shrink and merge, and split again.
      const phase = Math.floor((3 * step) / OPERATIONS);
      const addBias = phase === 0 ? 0.8 : phase === 1 ? 0.02 : 0.5;
      const address = pick();
      const roll = random();
      if (roll < 0.6) {
        if (random() < addBias) {
          expect(set.add(address)).toBe(!model.held.has(address));
          model.held.add(address);
        } else {
          expect(set.delete(address)).toBe(model.held.has(address));
          model.held.delete(address);
        }
      } else if (roll < 0.8) {
        expect(set.has(address)).toBe(model.held.has(address));
      } else if (roll < 0.98) {
        expect(set.runEndAt(address)).toBe(model.runEndAt(address));
      } else {
        const other = pick();
        const [start, end] = address <= other ? [address, other] : [other, address];
        expect(set.countWithin({ start, end })).toBe(model.countWithin(start, end));
      }
      if (phase === 0) mostLeaves = Math.max(mostLeaves, set.leafCount);
      else fewestLeavesAfterMost = Math.min(fewestLeavesAfterMost, set.leafCount);
      if (step % 1000 === 0) expect(set.countWithin(span)).toBe(BigInt(model.held.size));
      if (step % 5000 === 0) {
        const runs = model.runs();
        expect(runsOf(set)).toEqual(runs);
        expect(set.runCount).toBe(runs.length);
        expect(set.size).toBe(BigInt(model.held.size));
      }
    }
    const runs = model.runs();
    expect(runsOf(set)).toEqual(runs);
    expect(set.size).toBe(BigInt(model.held.size));
    expect(set.countWithin(span)).toBe(BigInt(model.held.size));
    // The walk really went through splits and merges.
    expect(mostLeaves).toBeGreaterThanOrEqual(4);
    expect(fewestLeavesAfterMost).toBeLessThan(mostLeaves);
  });
});
