// Huffman decoding against RFC 7541's examples, every octet value, and malformed padding.
import { describe, expect, it } from 'vitest';
import { HUFFMAN_CODES } from './hpackTables.ts';
import { decodeHuffman, HuffmanError } from './huffman.ts';

/** The encoder side, for the tests only: the client never Huffman-encodes. */
function encodeHuffman(octets: Uint8Array): Buffer {
  const bits: number[] = [];
  for (const octet of octets) {
    const [code, length] = HUFFMAN_CODES[octet] ?? [0, 0];
    for (let bit = length - 1; bit >= 0; bit--) bits.push((code >>> bit) & 1);
  }
  while (bits.length % 8 !== 0) bits.push(1);
  const out = Buffer.alloc(bits.length / 8);
  bits.forEach((bit, index) => { out[index >> 3] = (out[index >> 3] ?? 0) | (bit << (7 - (index % 8))); });
  return out;
}

describe('decodeHuffman', () => {
  it.each([
    ['www.example.com', 'f1e3c2e5f23a6ba0ab90f4ff'],
    ['no-cache', 'a8eb10649cbf'],
    ['custom-key', '25a849e95ba97d7f'],
    ['custom-value', '25a849e95bb8e8b4bf'],
    ['302', '6402'],
    ['Mon, 21 Oct 2013 20:13:21 GMT', 'd07abe941054d444a8200595040b8166e082a62d1bff'],
    ['', ''],
  ])('decodes "%s" (RFC 7541 Appendix C)', (text, hex) => {
    expect(decodeHuffman(Buffer.from(hex, 'hex'))).toBe(text);
    expect(encodeHuffman(Buffer.from(text, 'latin1')).toString('hex')).toBe(hex);
  });

  it('is a complete prefix code of 257 symbols', () => {
    expect(HUFFMAN_CODES).toHaveLength(257);
    expect(HUFFMAN_CODES.reduce((sum, [, bits]) => sum + 2 ** -bits, 0)).toBe(1);
  });

  it('decodes every octet value', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, index) => index));
    expect(Buffer.from(decodeHuffman(encodeHuffman(all)), 'latin1')).toEqual(all);
  });

  it.each([
    ['padding of 8 bits or more', 'f1e3c2e5f23a6ba0ab90f4ffff'],
    ['padding that is not all ones', 'f1e3c2e5f23a6ba0ab90f4fe'],
    ['an encoded EOS', 'ffffffff'],
  ])('refuses %s', (_name, hex) => {
    expect(() => decodeHuffman(Buffer.from(hex, 'hex'))).toThrow(HuffmanError);
  });
});
