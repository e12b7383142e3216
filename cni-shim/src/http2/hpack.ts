// HPACK (RFC 7541) for one HTTP/2 connection: a full decoder (the server may index headers in its
// dynamic table and Huffman-encode them) and the simplest valid encoder (every header a literal
// without indexing, no Huffman), which is all a client sending one request needs.
import { STATIC_TABLE } from './hpackTables.ts';
import { decodeHuffman } from './huffman.ts';

export class HpackError extends Error {
  override readonly name = 'HpackError';
}

export type HeaderList = [name: string, value: string][];

/** RFC 7541 §4.1: each entry costs its name and value octets plus 32. */
const ENTRY_OVERHEAD = 32;
/** SETTINGS_HEADER_TABLE_SIZE's default; the client never announces another. */
export const DEFAULT_TABLE_SIZE = 4096;

export class HpackDecoder {
  /** Newest first: dynamic index 62 is entries[0]. */
  private readonly entries: [string, string][] = [];
  private size = 0;
  private maxSize: number;

  /** `settingsMaxSize`: the SETTINGS_HEADER_TABLE_SIZE this side announced. */
  constructor(private readonly settingsMaxSize = DEFAULT_TABLE_SIZE) {
    this.maxSize = settingsMaxSize;
  }

  /** Decodes one complete header block; the table carries over to the next block. */
  decode(block: Uint8Array): HeaderList {
    const reader = new BlockReader(block);
    const headers: HeaderList = [];
    let headerSeen = false;
    while (!reader.done()) {
      const first = reader.peek();
      if ((first & 0x80) !== 0) {
        headers.push(this.lookup(reader.integer(7)));
      } else if ((first & 0xc0) === 0x40) {
        const header = this.literal(reader, 6);
        this.insert(header);
        headers.push(header);
      } else if ((first & 0xe0) === 0x20) {
        // §4.2: size updates come first in a block.
        if (headerSeen) throw new HpackError('dynamic table size update after a header');
        const size = reader.integer(5);
        if (size > this.settingsMaxSize) throw new HpackError(`dynamic table size ${size} above the ${this.settingsMaxSize} allowed`);
        this.maxSize = size;
        this.evict(0);
        continue;
      } else {
        // 0000xxxx without indexing, 0001xxxx never indexed: the same to a decoder.
        headers.push(this.literal(reader, 4));
      }
      headerSeen = true;
    }
    return headers;
  }

  private literal(reader: BlockReader, prefixBits: number): [string, string] {
    const index = reader.integer(prefixBits);
    const name = index === 0 ? reader.string() : this.lookup(index)[0];
    return [name, reader.string()];
  }

  private lookup(index: number): [string, string] {
    const entry = index <= STATIC_TABLE.length ? STATIC_TABLE[index - 1] : this.entries[index - STATIC_TABLE.length - 1];
    if (index === 0 || entry === undefined) throw new HpackError(`header index ${index} is not in the table`);
    return [entry[0], entry[1]];
  }

  private insert(header: [string, string]): void {
    const cost = header[0].length + header[1].length + ENTRY_OVERHEAD;
    // §4.4: an entry larger than the table empties it and is not added.
    this.evict(cost);
    if (cost > this.maxSize) return;
    this.entries.unshift(header);
    this.size += cost;
  }

  /** Drops the oldest entries until `room` more octets fit. */
  private evict(room: number): void {
    while (this.size + room > this.maxSize && this.entries.length > 0) {
      const [name, value] = this.entries.pop() ?? ['', ''];
      this.size -= name.length + value.length + ENTRY_OVERHEAD;
    }
  }
}

class BlockReader {
  private offset = 0;

  constructor(private readonly block: Uint8Array) {}

  done(): boolean { return this.offset >= this.block.length; }

  peek(): number { return this.block[this.offset] ?? 0; }

  /** §5.1: an integer in the low `prefixBits` of the current octet, continued in 7-bit groups. */
  integer(prefixBits: number): number {
    const limit = (1 << prefixBits) - 1;
    let value = this.byte() & limit;
    if (value < limit) return value;
    for (let shift = 0; ; shift += 7) {
      // Header integers here are lengths and indices; anything past 2^28 is an attack or a bug.
      if (shift > 21) throw new HpackError('HPACK integer too large');
      const byte = this.byte();
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
    }
  }

  /** §5.2: H bit, length, octets (Huffman-coded when H is set). Octets are read as Latin-1, as node:http2 does. */
  string(): string {
    const huffman = (this.peek() & 0x80) !== 0;
    const length = this.integer(7);
    if (length > this.block.length - this.offset) throw new HpackError('HPACK string runs past the header block');
    const octets = this.block.subarray(this.offset, this.offset + length);
    this.offset += length;
    return huffman ? decodeHuffman(octets) : Buffer.from(octets.buffer, octets.byteOffset, octets.byteLength).toString('latin1');
  }

  private byte(): number {
    if (this.done()) throw new HpackError('truncated header block');
    return this.block[this.offset++] ?? 0;
  }
}

/**
 * Every header as a literal without indexing (§6.2.2) with a literal name: no state on either
 * side. Written into one buffer: the plugin runs this once, in the interpreter, where each Buffer
 * call it saves is worth more than the arithmetic.
 */
export function encodeHeaderBlock(headers: readonly (readonly [string, string])[]): Buffer {
  let size = 0;
  for (const [name, value] of headers) size += 1 + integerLength(name.length, 7) + name.length + integerLength(value.length, 7) + value.length;
  const block = Buffer.allocUnsafe(size);
  let offset = 0;
  for (const [name, value] of headers) {
    block[offset++] = 0x00;
    offset = writeString(block, offset, name);
    offset = writeString(block, offset, value);
  }
  return block;
}

/** §5.2 without Huffman: the length, then the octets (Latin-1, one octet per character). */
function writeString(block: Buffer, start: number, text: string): number {
  let offset = writeInteger(block, start, text.length, 7, 0x00);
  for (let i = 0; i < text.length; i++) block[offset++] = text.charCodeAt(i) & 0xff;
  return offset;
}

function integerLength(value: number, prefixBits: number): number {
  const limit = (1 << prefixBits) - 1;
  if (value < limit) return 1;
  let length = 2;
  for (let rest = value - limit; rest >= 0x80; rest = Math.floor(rest / 0x80)) length++;
  return length;
}

function writeInteger(block: Buffer, start: number, value: number, prefixBits: number, firstBits: number): number {
  const limit = (1 << prefixBits) - 1;
  let offset = start;
  if (value < limit) {
    block[offset++] = firstBits | value;
    return offset;
  }
  block[offset++] = firstBits | limit;
  let rest = value - limit;
  while (rest >= 0x80) {
    block[offset++] = (rest % 0x80) | 0x80;
    rest = Math.floor(rest / 0x80);
  }
  block[offset++] = rest;
  return offset;
}

/** §5.1: `value` in the low `prefixBits` of a first octet that carries `firstBits`, continued in 7-bit groups. */
export function encodeInteger(value: number, prefixBits: number, firstBits: number): Buffer {
  const bytes = Buffer.allocUnsafe(integerLength(value, prefixBits));
  writeInteger(bytes, 0, value, prefixBits, firstBits);
  return bytes;
}
