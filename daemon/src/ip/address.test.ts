import { describe, expect, it } from 'vitest';
import { addressFromKey, addressKey, cidrBounds, formatAddress, parseAddress, parseAddressWithOptionalPrefix, parseCidr } from './address.ts';

describe('parseAddress', () => {
  it.each([
    ['10.0.0.1', 4, 0x0a000001n],
    ['0.0.0.0', 4, 0n],
    ['255.255.255.255', 4, 0xffffffffn],
    ['2001:db8::1', 6, 0x20010db8000000000000000000000001n],
    ['::', 6, 0n],
    ['::ffff:1.2.3.4', 6, 0xffff01020304n],
  ])('%s', (text, family, value) => {
    expect(parseAddress(text)).toEqual({ family, value });
  });

  it.each(['', '10.0.0', '10.0.0.256', '010.0.0.1', '10.0.0.1/24', 'fe80::1%eth0', 'garbage', '1:2:3:4:5:6:7:8:9', ' 10.0.0.1'])(
    'rejects %j', (text) => {
      expect(() => parseAddress(text)).toThrow(/is not an IP address/);
    });
});

describe('parseCidr', () => {
  it.each([
    ['10.1.2.3/24', 4, 0x0a010200n, 24],
    ['10.0.0.0/8', 4, 0x0a000000n, 8],
    ['2001:db8:1::5/64', 6, 0x20010db8000100000000000000000000n, 64],
    ['10.0.0.7/32', 4, 0x0a000007n, 32],
  ])('%s', (text, family, network, prefixLength) => {
    const cidr = parseCidr(text);
    expect(cidr).toMatchObject({ family, network, prefixLength });
  });

  it.each(['10.0.0.0', '10.0.0.0/33', '10.0.0.0/-1', '10.0.0.0/', '2001:db8::/129', 'x/24', '10.0.0.0/2a'])('rejects %j', (text) => {
    expect(() => parseCidr(text)).toThrow(/is not a CIDR/);
  });

  it('gives subnet bounds', () => {
    expect(cidrBounds(parseCidr('10.0.0.0/30'))).toEqual({ first: 0x0a000000n, last: 0x0a000003n });
    const v6 = cidrBounds(parseCidr('2001:db8::/64'));
    expect(v6.last - v6.first).toBe((1n << 64n) - 1n);
  });
});

describe('formatting and keys', () => {
  it('round-trips text and keys', () => {
    for (const text of ['10.0.0.1', '2001:db8::1', '::', 'fd00:1:2:3:4:5:6:7']) {
      const a = parseAddress(text);
      expect(formatAddress(a.value, a.family)).toBe(text);
      expect(addressFromKey(addressKey(a.value))).toBe(a.value);
    }
  });

  it('keys sort like addresses', () => {
    const values = [5n, 0x0a000001n, 1n << 100n, (1n << 64n) + 3n];
    const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const byKey = values.map(addressKey).sort(Buffer.compare).map(addressFromKey);
    expect(byKey).toEqual(sorted);
  });

  it('accepts an optional prefix', () => {
    expect(parseAddressWithOptionalPrefix('10.0.0.5/24')).toEqual({ family: 4, value: 0x0a000005n, prefixLength: 24 });
    expect(parseAddressWithOptionalPrefix('2001:db8::5')).toEqual({ family: 6, value: 0x20010db8000000000000000000000005n });
  });
});

describe('formatAddress', () => {
  it.each([
    ['0.0.0.0', 0n, 4], ['255.255.255.255', 0xffffffffn, 4], ['10.88.0.2', 0x0a580002n, 4],
    ['::', 0n, 6], ['::1', 1n, 6], ['fd00:88::', 0xfd000088000000000000000000000000n, 6],
    ['2001:db8::1:0:0:1', 0x20010db8000000000001000000000001n, 6], // the first of two equal zero runs
    ['2001:db8:0:1:1:1:1:1', 0x20010db8000000010001000100010001n, 6], // a single zero group is not compressed
    ['2001:0:0:1::1', 0x20010000000000010000000000000001n, 6], // the longer run wins
    ['::ffff:a00:1', 0xffff0a000001n, 6],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', (1n << 128n) - 1n, 6],
  ] as const)('%s', (text, value, family) => {
    expect(formatAddress(value, family)).toBe(text);
  });

  it('agrees with ip-address on random values with zero runs', async () => {
    const { Address4, Address6 } = await import('ip-address');
    let seed = 12345;
    const random16 = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed & 0xffff; };
    for (let i = 0; i < 5000; i++) {
      let value = 0n;
      // Each group is zero half the time, so that every shape of zero run appears.
      for (let g = 0; g < 8; g++) value = (value << 16n) | BigInt(random16() % 2 === 0 ? 0 : random16());
      expect(formatAddress(value, 6)).toBe(Address6.fromBigInt(value).correctForm());
      const v4 = value & 0xffffffffn;
      expect(formatAddress(v4, 4)).toBe(Address4.fromBigInt(v4).correctForm());
    }
  });
});
