import { describe, expect, it } from 'vitest';
import { AddressWords } from './addressWords.ts';

const TOP = (1n << 128n) - 1n;
const V6_64 = 0xfd00_000b_0000_0000_0000_0000_0000_0000n;

describe('AddressWords', () => {
  it.each([
    { name: 'one address', start: 5n, end: 5n, width: 1 },
    { name: 'IPv4 /8', start: 0x0a00_0000n, end: 0x0aff_ffffn, width: 1 },
    { name: 'whole IPv4 space', start: 0n, end: 0xffff_ffffn, width: 1 },
    { name: 'one more than 32 bits', start: 0n, end: 1n << 32n, width: 2 },
    { name: 'IPv6 /64', start: V6_64, end: V6_64 + (1n << 64n) - 1n, width: 2 },
    { name: 'IPv6 /63', start: V6_64, end: V6_64 + (1n << 65n) - 1n, width: 3 },
    { name: 'whole 128-bit space', start: 0n, end: TOP, width: 4 },
  ])('$name needs $width word(s)', ({ start, end, width }) => {
    expect(new AddressWords({ start, end }).width).toBe(width);
  });

  it.each([
    { name: 'end before start', start: 5n, end: 4n },
    { name: 'negative', start: -1n, end: 4n },
    { name: 'beyond 128 bits', start: 0n, end: 1n << 128n },
  ])('refuses a span that is $name', ({ start, end }) => {
    expect(() => new AddressWords({ start, end })).toThrow(RangeError);
  });

  it.each([
    { name: 'IPv4', start: 0x0a00_0000n, end: 0x0aff_ffffn, samples: [0x0a00_0000n, 0x0a00_0001n, 0x0a12_3456n, 0x0aff_fffen, 0x0aff_ffffn] },
    { name: 'IPv6 /64', start: V6_64, end: V6_64 + (1n << 64n) - 1n, samples: [V6_64, V6_64 + 1n, V6_64 + 0xffff_ffffn, V6_64 + (1n << 32n), V6_64 + (1n << 64n) - 1n] },
    { name: 'whole space', start: 0n, end: TOP, samples: [0n, 1n, 0xffff_ffffn, 1n << 32n, 1n << 64n, 1n << 96n, TOP - 1n, TOP] },
  ])('round-trips and orders $name addresses', ({ start, end, samples }) => {
    const codec = new AddressWords({ start, end });
    const words = new Uint32Array(samples.length * codec.width);
    samples.forEach((address, i) => codec.write(address, words, i * codec.width));
    samples.forEach((address, i) => expect(codec.read(words, i * codec.width)).toBe(address));
    for (let i = 0; i < samples.length; i++) {
      for (let j = 0; j < samples.length; j++) {
        const want = Math.sign(Number(samples[i]! - samples[j]!));
        expect(codec.compare(words, i * codec.width, words, j * codec.width)).toBe(want);
      }
    }
  });
});
