import { describe, expect, it } from 'vitest';
import { formatAddress } from '../ip/address.ts';
import { parsePoolConfig } from './parsePoolConfig.ts';
import { allocatableIntervals, countAddresses, reservedCount } from './poolSize.ts';

const poolOf = (yaml: string) => parsePoolConfig(`pools:\n  - name: p\n${yaml}`, 'test').pools[0]!;

describe('allocatableIntervals, countAddresses, reservedCount', () => {
  const cases: { name: string; yaml: string; allocatable: string[]; count: bigint; reserved: bigint }[] = [
    { name: '/24: network, broadcast and gateway removed', yaml: '    subnet: 10.0.0.0/24\n    gateway: 10.0.0.1\n', allocatable: ['10.0.0.2-10.0.0.254'], count: 253n, reserved: 3n },
    { name: '/24 without a gateway', yaml: '    subnet: 10.0.0.0/24\n', allocatable: ['10.0.0.1-10.0.0.254'], count: 254n, reserved: 2n },
    {
      name: '/24 with ranges, overlapping excludes and a gateway inside a range',
      yaml: '    subnet: 10.0.0.0/24\n    gateway: 10.0.0.20\n    ranges: [{ start: 10.0.0.0, end: 10.0.0.99 }, { start: 10.0.0.200, end: 10.0.0.255 }]\n    exclude: [10.0.0.50, 10.0.0.48/29, 10.0.0.52, 10.0.0.240/28]\n',
      allocatable: ['10.0.0.1-10.0.0.19', '10.0.0.21-10.0.0.47', '10.0.0.56-10.0.0.99', '10.0.0.200-10.0.0.239'],
      count: 19n + 27n + 44n + 40n, reserved: 256n - 130n,
    },
    { name: '/31: both addresses usable (RFC 3021)', yaml: '    subnet: 10.0.0.0/31\n', allocatable: ['10.0.0.0-10.0.0.1'], count: 2n, reserved: 0n },
    { name: '/31 with a gateway', yaml: '    subnet: 10.0.0.0/31\n    gateway: 10.0.0.0\n', allocatable: ['10.0.0.1'], count: 1n, reserved: 1n },
    { name: '/32: the one address', yaml: '    subnet: 10.0.0.7/32\n', allocatable: ['10.0.0.7'], count: 1n, reserved: 0n },
    { name: '/32 excluded: nothing left', yaml: '    subnet: 10.0.0.7/32\n    exclude: [10.0.0.7]\n', allocatable: [], count: 0n, reserved: 1n },
    {
      name: '/64: 2^64 addresses less the anycast address, the gateway and a /120, without walking them',
      yaml: '    subnet: "fd00::/64"\n    gateway: "fd00::1"\n    exclude: ["fd00::100/120"]\n',
      allocatable: ['fd00::2-fd00::ff', 'fd00::200-fd00::ffff:ffff:ffff:ffff'], count: 2n ** 64n - 2n - 256n, reserved: 258n,
    },
    { name: '/64 range at the top end', yaml: '    subnet: "fd00::/64"\n    ranges: [{ start: "fd00::ffff:ffff:ffff:fff0", end: "fd00::ffff:ffff:ffff:ffff" }]\n', allocatable: ['fd00::ffff:ffff:ffff:fff0-fd00::ffff:ffff:ffff:ffff'], count: 16n, reserved: 2n ** 64n - 16n },
    { name: '/127: both addresses (RFC 6164)', yaml: '    subnet: "fd00::/127"\n', allocatable: ['fd00::-fd00::1'], count: 2n, reserved: 0n },
    { name: '/128: the one address', yaml: '    subnet: "fd00::5/128"\n', allocatable: ['fd00::5'], count: 1n, reserved: 0n },
  ];
  it.each(cases)('$name', ({ yaml, allocatable, count, reserved }) => {
    const pool = poolOf(yaml);
    const intervals = allocatableIntervals(pool);
    expect(intervals.map(({ start, end }) => (start === end ? formatAddress(start, pool.family) : `${formatAddress(start, pool.family)}-${formatAddress(end, pool.family)}`))).toEqual(allocatable);
    expect(countAddresses(intervals)).toBe(count);
    expect(reservedCount(pool)).toBe(reserved);
  });

  it('handles a /8 of IPv6 (2^120 addresses) with many excludes at once', () => {
    const excludes = Array.from({ length: 1000 }, (_, i) => `"fd00::${(i * 2).toString(16)}"`).join(', ');
    const pool = poolOf(`    subnet: "fd00::/8"\n    exclude: [${excludes}]\n`);
    // fd00:: itself is both excluded and the anycast address.
    expect(countAddresses(allocatableIntervals(pool))).toBe(2n ** 120n - 1000n);
    expect(allocatableIntervals(pool)).toHaveLength(1000);
  });
});
