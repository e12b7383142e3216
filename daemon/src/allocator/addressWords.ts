// Addresses of a known span stored as fixed-width offsets from its first address, in big-endian
// 32-bit words: an IPv4 pool needs one word per address, an IPv6 /64 two, the whole 128-bit space
// four. Sorted runs then live in typed arrays (no bigint object per address) and compare
// word by word without allocating.
import type { AddressInterval } from '../config/types.ts';

const WORD_BITS = 32n;
const WORD_MASK = 0xffff_ffffn;
const MAX_WORDS = 4;

export class AddressWords {
  readonly first: bigint;
  readonly last: bigint;
  /** 32-bit words per address. */
  readonly width: number;

  constructor(span: AddressInterval) {
    if (span.start < 0n || span.end < span.start || span.end >> 128n !== 0n) {
      throw new RangeError(`AddressWords: [${span.start}, ${span.end}] is not a span of 128-bit addresses`);
    }
    this.first = span.start;
    this.last = span.end;
    const offsetLimit = span.end - span.start;
    let width = 1;
    while (width < MAX_WORDS && offsetLimit >> (WORD_BITS * BigInt(width)) !== 0n) width++;
    this.width = width;
  }

  contains(address: bigint): boolean {
    return address >= this.first && address <= this.last;
  }

  /** Writes `address` (which must be inside the span) as `width` words at words[at..]. */
  write(address: bigint, words: Uint32Array, at: number): void {
    let offset = address - this.first;
    if (this.width === 1) {
      words[at] = Number(offset);
      return;
    }
    for (let i = this.width - 1; i >= 0; i--) {
      words[at + i] = Number(offset & WORD_MASK);
      offset >>= WORD_BITS;
    }
  }

  read(words: Uint32Array, at: number): bigint {
    if (this.width === 1) return this.first + BigInt(words[at]!);
    let offset = 0n;
    for (let i = 0; i < this.width; i++) offset = (offset << WORD_BITS) | BigInt(words[at + i]!);
    return this.first + offset;
  }

  /** Sign of (a[ai..] - b[bi..]) as addresses. */
  compare(a: Uint32Array, ai: number, b: Uint32Array, bi: number): number {
    for (let i = 0; i < this.width; i++) {
      const x = a[ai + i]!;
      const y = b[bi + i]!;
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  }
}
