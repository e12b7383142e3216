import { describe, expect, it } from 'vitest';
import type { AddressInterval } from '../config/types.ts';
import { alignedBlocks, countAlignedBlocks, freeIntervals, pickPrefix } from './pickPrefix.ts';

const iv = (start: bigint, end: bigint): AddressInterval => ({ start, end });
/** A block of 2^bits addresses starting at n * 2^bits. */
const block = (n: bigint, bits: bigint): AddressInterval => iv(n << bits, ((n + 1n) << bits) - 1n);
const V6 = 0xfd000000000000000000000000000000n;

describe('alignedBlocks', () => {
  it.each([
    ['an aligned block is itself', iv(0n, 255n), [[0n, 256n]]],
    ['an unaligned interval splits into the fewest CIDRs', iv(1n, 10n), [[1n, 1n], [2n, 2n], [4n, 4n], [8n, 2n], [10n, 1n]]],
    ['a single address', iv(7n, 7n), [[7n, 1n]]],
    ['the whole IPv6 space from 0', iv(0n, (1n << 128n) - 1n), [[0n, 1n << 128n]]],
    ['a /64 high in IPv6 space', iv(V6, V6 + (1n << 64n) - 1n), [[V6, 1n << 64n]]],
  ] as const)('%s', (_name, interval, want) => {
    expect([...alignedBlocks(interval)].map((b) => [b.start, b.size])).toEqual(want);
  });
});

describe('countAlignedBlocks', () => {
  it.each([
    ['a /16 holds 256 /24s', [iv(0n, 65535n)], 256n, 256n],
    ['partial blocks at either end do not count', [iv(100n, 1000n)], 256n, 2n],
    ['several intervals add up', [iv(0n, 255n), iv(512n, 1023n)], 256n, 3n],
    ['too small', [iv(0n, 254n)], 256n, 0n],
    ['a /48 holds 65536 /64s', [block(V6 >> 80n, 80n)], 1n << 64n, 65536n],
  ] as const)('%s', (_name, intervals, size, want) => {
    expect(countAlignedBlocks(intervals, size)).toBe(want);
  });
});

describe('freeIntervals', () => {
  it.each([
    ['nothing blocked', iv(0n, 99n), [[], []], [iv(0n, 99n)]],
    ['held and reserved interleave', iv(0n, 99n), [[iv(10n, 19n), iv(50n, 59n)], [iv(30n, 39n)]], [iv(0n, 9n), iv(20n, 29n), iv(40n, 49n), iv(60n, 99n)]],
    ['lists overlap and touch', iv(0n, 99n), [[iv(0n, 9n), iv(20n, 29n)], [iv(5n, 24n)]], [iv(30n, 99n)]],
    ['everything blocked', iv(0n, 99n), [[iv(0n, 99n)], []], []],
    ['blocked beyond the bounds is ignored', iv(100n, 199n), [[iv(0n, 109n), iv(300n, 400n)]], [iv(110n, 199n)]],
  ] as const)('%s', (_name, bounds, lists, want) => {
    expect(freeIntervals(bounds, ...lists)).toEqual(want);
  });
});

describe('pickPrefix', () => {
  // A /16 (0..65535) carved into /24s (size 256) and /26s (size 64).
  const cases: { name: string; free: AddressInterval[]; size: bigint; sequential: bigint | undefined; efficient: bigint | undefined }[] = [
    { name: 'empty pool: the first block', free: [iv(0n, 65535n)], size: 256n, sequential: 0n, efficient: 0n },
    {
      // Free: a lone /24 at 0x0100 and a /23 at 0x0400. Sequential takes the first; best fit too.
      name: 'best fit prefers the smallest free block that holds the request',
      free: [iv(0x0100n, 0x01ffn), iv(0x0400n, 0x05ffn)], size: 256n, sequential: 0x0100n, efficient: 0x0100n,
    },
    {
      // Free: a /23 at 0 and then a lone /24 at 0x0300: sequential splits the /23, efficient keeps it whole.
      name: 'efficient keeps the larger free block intact',
      free: [iv(0n, 0x01ffn), iv(0x0300n, 0x03ffn)], size: 256n, sequential: 0n, efficient: 0x0300n,
    },
    {
      name: 'a small request goes into the fragment, not a whole free /24',
      free: [iv(0n, 0x00ffn), iv(0x0140n, 0x017fn)], size: 64n, sequential: 0n, efficient: 0x0140n,
    },
    { name: 'unaligned free space cannot hold an aligned block', free: [iv(0x0080n, 0x017fn)], size: 256n, sequential: undefined, efficient: undefined },
    { name: 'exhausted', free: [], size: 256n, sequential: undefined, efficient: undefined },
    {
      name: 'IPv6: /64s out of a /48 with the first two held',
      free: [iv(V6 + (2n << 64n), V6 + (1n << 80n) - 1n)], size: 1n << 64n, sequential: V6 + (2n << 64n), efficient: V6 + (2n << 64n),
    },
    {
      name: 'IPv6: efficient fills a lone free /64 before splitting a /63',
      free: [iv(V6, V6 + (2n << 64n) - 1n), iv(V6 + (3n << 64n), V6 + (4n << 64n) - 1n)], size: 1n << 64n, sequential: V6, efficient: V6 + (3n << 64n),
    },
  ];
  it.each(cases)('$name', ({ free, size, sequential, efficient }) => {
    expect(pickPrefix('sequential', free, size)).toBe(sequential);
    expect(pickPrefix('efficient', free, size)).toBe(efficient);
  });

  it('each strategy hands out every block of a /16 once, then nothing', () => {
    for (const strategy of ['sequential', 'efficient'] as const) {
      const held: AddressInterval[] = [];
      const seen = new Set<bigint>();
      for (;;) {
        const first = pickPrefix(strategy, freeIntervals(iv(0n, 65535n), held), 256n);
        if (first === undefined) break;
        expect(first % 256n).toBe(0n);
        expect(seen.has(first)).toBe(false);
        seen.add(first);
        held.push(iv(first, first + 255n));
        held.sort((a, b) => (a.start < b.start ? -1 : 1));
      }
      expect(seen.size).toBe(256);
    }
  });
});
