import { describe, expect, it } from 'vitest';
import type { AddressInterval } from '../config/types.ts';
import { intervalsInclude } from '../config/addressIntervals.ts';
import { firstFreeFrom, pickNextFree } from './pickAddress.ts';
import { TakenAddressSet } from './takenAddressSet.ts';

const iv = (start: bigint, end: bigint): AddressInterval => ({ start, end });
const v4 = (text: string): bigint => text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(octet), 0n);
const V6_BASE = 0x20010db8000000000000000000000000n;

describe('TakenAddressSet', () => {
  it('merges and splits runs', () => {
    const set = new TakenAddressSet();
    for (const a of [5n, 7n, 6n, 1n]) expect(set.add(a)).toBe(true);
    expect(set.add(6n)).toBe(false);
    expect(set.runCount).toBe(2);
    expect(set.size).toBe(4n);
    expect([...set.addresses()]).toEqual([1n, 5n, 6n, 7n]);
    expect(set.delete(6n)).toBe(true);
    expect(set.delete(6n)).toBe(false);
    expect(set.runCount).toBe(3);
    expect(set.runEndAt(5n)).toBe(5n);
    expect(set.runEndAt(6n)).toBeUndefined();
    expect(set.delete(1n)).toBe(true);
    expect([...set.addresses()]).toEqual([5n, 7n]);
    expect(set.size).toBe(2n);
  });

  it('builds from sorted input and rejects unsorted input', () => {
    const set = TakenAddressSet.fromSorted([1n, 2n, 3n, 10n, 11n]);
    expect(set.runCount).toBe(2);
    expect(set.countWithin(iv(2n, 10n))).toBe(3n);
    expect(() => TakenAddressSet.fromSorted([3n, 2n])).toThrow(/not ascending/);
  });
});

describe('pickNextFree', () => {
  const cases: { name: string; allocatable: AddressInterval[]; taken: bigint[]; after?: bigint; want: bigint | undefined }[] = [
    { name: 'empty pool gives the first address', allocatable: [iv(v4('10.0.0.1'), v4('10.0.0.254'))], taken: [], want: v4('10.0.0.1') },
    { name: 'continues after the last handed out', allocatable: [iv(10n, 20n)], taken: [10n, 11n], after: 11n, want: 12n },
    { name: 'does not reuse a just-freed address', allocatable: [iv(10n, 20n)], taken: [11n, 12n], after: 12n, want: 13n },
    { name: 'skips a held run', allocatable: [iv(10n, 20n)], taken: [13n, 14n, 15n], after: 12n, want: 16n },
    { name: 'wraps around at the end', allocatable: [iv(10n, 20n)], taken: [12n, 20n], after: 20n, want: 10n },
    { name: 'wraps past held start', allocatable: [iv(10n, 12n)], taken: [10n, 12n], after: 12n, want: 11n },
    { name: 'jumps to the next range', allocatable: [iv(10n, 12n), iv(50n, 60n)], taken: [11n, 12n], after: 10n, want: 50n },
    { name: 'held run reaching the end of a range', allocatable: [iv(10n, 12n), iv(50n, 60n)], taken: [12n, 50n, 51n], after: 11n, want: 52n },
    { name: 'exhausted', allocatable: [iv(10n, 11n)], taken: [10n, 11n], after: 10n, want: undefined },
    { name: 'cursor outside every range', allocatable: [iv(10n, 12n)], taken: [], after: 99n, want: 10n },
    { name: '/32 single address', allocatable: [iv(v4('10.0.0.7'), v4('10.0.0.7'))], taken: [], want: v4('10.0.0.7') },
    { name: '/31 both addresses', allocatable: [iv(v4('10.0.0.6'), v4('10.0.0.7'))], taken: [v4('10.0.0.6')], after: v4('10.0.0.6'), want: v4('10.0.0.7') },
    { name: 'IPv6 range', allocatable: [iv(V6_BASE + 1n, V6_BASE + (1n << 64n) - 1n)], taken: [V6_BASE + 1n], after: V6_BASE + 1n, want: V6_BASE + 2n },
    { name: 'IPv6 ranges with a hole (exclude)', allocatable: [iv(V6_BASE + 1n, V6_BASE + 9n), iv(V6_BASE + 20n, V6_BASE + 30n)], taken: [V6_BASE + 8n, V6_BASE + 9n], after: V6_BASE + 7n, want: V6_BASE + 20n },
    { name: 'empty allocatable set', allocatable: [], taken: [], want: undefined },
  ];
  it.each(cases)('$name', ({ allocatable, taken, after, want }) => {
    expect(pickNextFree(allocatable, TakenAddressSet.fromSorted(taken), after)).toBe(want);
  });

  it('hands out every address of a range exactly once before exhaustion', () => {
    const allocatable = [iv(1n, 50n), iv(100n, 149n)];
    const taken = new TakenAddressSet();
    const seen = new Set<bigint>();
    let after: bigint | undefined;
    for (;;) {
      const next = pickNextFree(allocatable, taken, after);
      if (next === undefined) break;
      expect(seen.has(next)).toBe(false);
      expect(intervalsInclude(allocatable, next)).toBe(true);
      seen.add(next);
      taken.add(next);
      after = next;
    }
    expect(seen.size).toBe(100);
  });

  it('finds the one free address in an IPv4 /8 holding a million leases', () => {
    const first = v4('10.0.0.1');
    const hole = first + 777_777n;
    const addresses = Array.from({ length: 1_000_001 }, (_, i) => first + BigInt(i)).filter((a) => a !== hole);
    const taken = TakenAddressSet.fromSorted(addresses);
    const allocatable = [iv(first, v4('10.255.255.254'))];
    expect(pickNextFree(allocatable, taken, first + 10n)).toBe(hole);
    expect(firstFreeFrom(allocatable, taken, hole + 1n)).toBe(first + 1_000_001n);
  });

  it('handles a fully fragmented IPv6 /64 with a million leases', () => {
    // Every other address held: a million runs, the worst case for run merging.
    const addresses = Array.from({ length: 1_000_000 }, (_, i) => V6_BASE + 1n + BigInt(i) * 2n);
    const taken = TakenAddressSet.fromSorted(addresses);
    expect(taken.runCount).toBe(1_000_000);
    const allocatable = [iv(V6_BASE + 1n, V6_BASE + (1n << 64n) - 1n)];
    expect(pickNextFree(allocatable, taken, V6_BASE + 1n)).toBe(V6_BASE + 2n);
    taken.add(V6_BASE + 2n);
    expect(taken.runCount).toBe(999_999);
    expect(pickNextFree(allocatable, taken, V6_BASE + 2n)).toBe(V6_BASE + 4n);
  });
});

describe('firstFreeFrom over a many-leaf TakenAddressSet', () => {
  it.each([
    { name: 'IPv4 /8', span: iv(v4('10.0.0.0'), v4('10.255.255.255')) },
    { name: 'IPv6 /64', span: iv(V6_BASE, V6_BASE + (1n << 64n) - 1n) },
  ])('$name: never returns a held address, always the lowest free one', ({ span }) => {
    // Deterministic LCG so that a failure replays.
    let state = 12345;
    const random = (): number => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
    const WINDOW = 4000;
    const base = span.start + 1n;
    const allocatable = [iv(base, base + BigInt(WINDOW / 2) - 1n), iv(base + BigInt(WINDOW / 2) + 10n, base + BigInt(WINDOW) - 1n)];
    const held = new Set<bigint>();
    const taken = new TakenAddressSet(span);
    let mostLeaves = 0;
    for (let step = 0; step < 20_000; step++) {
      mostLeaves = Math.max(mostLeaves, taken.leafCount);
      const from = base + BigInt(Math.floor(random() * WINDOW));
      const picked = firstFreeFrom(allocatable, taken, from);
      let want: bigint | undefined;
      for (const interval of allocatable) {
        for (let a = interval.start > from ? interval.start : from; a <= interval.end && want === undefined; a++) if (!held.has(a)) want = a;
        if (want !== undefined) break;
      }
      expect(picked).toBe(want);
      if (picked !== undefined && random() < 0.7) {
        expect(taken.add(picked)).toBe(true);
        held.add(picked);
      }
      if (random() < 0.25 && held.size > 0) {
        const victim = [...held][Math.floor(random() * held.size)]!;
        expect(taken.delete(victim)).toBe(true);
        held.delete(victim);
      }
    }
    expect(taken.size).toBe(BigInt(held.size));
    expect(mostLeaves).toBeGreaterThanOrEqual(2);
  });
});

describe('intervalsInclude', () => {
  it.each([
    [5n, false], [10n, true], [12n, true], [13n, false], [55n, true], [61n, false],
  ])('%s -> %s', (address, want) => {
    expect(intervalsInclude([iv(10n, 12n), iv(50n, 60n)], address)).toBe(want);
  });
});
