// HPACK against the examples of RFC 7541 Appendix C, which exercise the dynamic table,
// eviction and Huffman strings across consecutive header blocks.
import { describe, expect, it } from 'vitest';
import { encodeHeaderBlock, encodeInteger, HpackDecoder, HpackError } from './hpack.ts';

const block = (hex: string): Buffer => Buffer.from(hex.replace(/\s/g, ''), 'hex');

describe('HpackDecoder', () => {
  it.each([
    ['C.2.1 literal with indexing', '400a637573746f6d2d6b65790d637573746f6d2d686561646572', [['custom-key', 'custom-header']]],
    ['C.2.2 literal without indexing', '040c2f73616d706c652f70617468', [[':path', '/sample/path']]],
    ['C.2.3 literal never indexed', '100870617373776f726406736563726574', [['password', 'secret']]],
    ['C.2.4 indexed', '82', [[':method', 'GET']]],
  ])('decodes %s', (_name, hex, headers) => {
    expect(new HpackDecoder().decode(block(hex))).toEqual(headers);
  });

  it('decodes the C.4 requests (Huffman, dynamic table) in sequence', () => {
    const decoder = new HpackDecoder();
    const first = [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']];
    expect(decoder.decode(block('828684418cf1e3c2e5f23a6ba0ab90f4ff'))).toEqual(first);
    expect(decoder.decode(block('828684be5886a8eb10649cbf'))).toEqual([...first, ['cache-control', 'no-cache']]);
    expect(decoder.decode(block('828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf'))).toEqual(
      [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']]);
  });

  it('decodes the C.6 responses in a 256-octet table, evicting as it goes', () => {
    const decoder = new HpackDecoder(256);
    const location = ['location', 'https://www.example.com'];
    expect(decoder.decode(block(`488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3`)))
      .toEqual([[':status', '302'], ['cache-control', 'private'], ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'], location]);
    expect(decoder.decode(block('4883640effc1c0bf')))
      .toEqual([[':status', '307'], ['cache-control', 'private'], ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'], location]);
    expect(decoder.decode(block(`88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007`)))
      .toEqual([[':status', '200'], ['cache-control', 'private'], ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'], location, ['content-encoding', 'gzip'],
        ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1']]);
  });

  it('applies a dynamic table size update: 0 empties the table', () => {
    const decoder = new HpackDecoder();
    decoder.decode(block('400a637573746f6d2d6b65790d637573746f6d2d686561646572'));
    expect(decoder.decode(block('be'))).toEqual([['custom-key', 'custom-header']]);
    expect(() => decoder.decode(block('20be'))).toThrow(HpackError);
  });

  it.each([
    ['index 0', '80'],
    ['an index past the tables', 'ff00'],
    ['a size update after a header', '8220'],
    ['a size update above the setting', '3fe21f'],
    ['a truncated integer', 'ff'],
    ['a string past the block', '040c2f73616d'],
    ['an oversized integer', 'ffffffffff7f'],
  ])('refuses %s', (_name, hex) => {
    expect(() => new HpackDecoder().decode(block(hex))).toThrow(HpackError);
  });
});

describe('encodeHeaderBlock', () => {
  it('writes literals without indexing that any decoder reads back', () => {
    const headers: [string, string][] = [[':method', 'POST'], [':path', '/berth.ipam.v1.Ipam/Allocate'], ['grpc-timeout', '5000m'], ['x-long', 'v'.repeat(300)]];
    const encoded = encodeHeaderBlock(headers);
    expect(encoded[0]).toBe(0x00);
    const decoder = new HpackDecoder();
    expect(decoder.decode(encoded)).toEqual(headers);
    // Nothing was indexed: the table is still empty.
    expect(() => decoder.decode(block('be'))).toThrow(HpackError);
  });

  it.each([
    [10, 5, '0a'],
    [1337, 5, '1f9a0a'],
    [42, 8, '2a'],
    [127, 7, '7f00'],
  ])('encodes the integer %i with a %i-bit prefix (C.1)', (value, prefix, hex) => {
    expect(encodeInteger(value, prefix, 0).toString('hex')).toBe(hex);
  });
});
