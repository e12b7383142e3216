// HPACK Huffman decoding (RFC 7541 §5.2, Appendix B). Servers may Huffman-encode any header
// string; nghttp2 (behind node:http2, so grpc-js) does whenever that is shorter.
import { HUFFMAN_CODES } from './hpackTables.ts';

export class HuffmanError extends Error {
  override readonly name = 'HuffmanError';
}

const EOS = 256;

/** A binary trie over the code: node n's children are at 2n and 2n+1; leaves hold symbol + 1 as a negative number. */
let trie: Int32Array | undefined;

function buildTrie(): Int32Array {
  // 256 internal nodes suffice for 257 leaves; node 0 is the root.
  const nodes = new Int32Array(2 * 512);
  let next = 1;
  HUFFMAN_CODES.forEach(([code, bits], symbol) => {
    let node = 0;
    for (let bit = bits - 1; bit >= 0; bit--) {
      const slot = 2 * node + ((code >>> bit) & 1);
      if (bit === 0) {
        nodes[slot] = -(symbol + 1);
      } else {
        if (nodes[slot] === 0) nodes[slot] = next++;
        node = nodes[slot] ?? 0;
      }
    }
  });
  return nodes;
}

export function decodeHuffman(bytes: Uint8Array): string {
  trie ??= buildTrie();
  const out: number[] = [];
  let node = 0;
  // Bits read since the last symbol ended, and whether they were all ones (only EOS's prefix may pad).
  let pending = 0;
  let pendingAllOnes = true;
  // An index, not for-of: the plugin runs this in the interpreter, where an iterator costs a call per byte.
  for (let index = 0; index < bytes.length; index++) {
    const byte = bytes[index] ?? 0;
    for (let bit = 7; bit >= 0; bit--) {
      const one = (byte >>> bit) & 1;
      const entry = trie[2 * node + one] ?? 0;
      pending++;
      pendingAllOnes &&= one === 1;
      if (entry < 0) {
        const symbol = -entry - 1;
        if (symbol === EOS) throw new HuffmanError('EOS inside a Huffman-encoded string');
        out.push(symbol);
        node = 0;
        pending = 0;
        pendingAllOnes = true;
      } else if (entry === 0) {
        throw new HuffmanError('invalid Huffman code');
      } else {
        node = entry;
      }
    }
  }
  if (pending > 7 || !pendingAllOnes) throw new HuffmanError('invalid Huffman padding');
  return Buffer.from(out).toString('latin1');
}
