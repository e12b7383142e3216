// The wire format itself, on a small schema: numbers at their edges, unknown fields, bad input.
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, ProtobufCodecError, type MessageSchemas } from './protobufCodec.ts';

const SCHEMAS: MessageSchemas = {
  messages: {
    Numbers: [
      { name: 'i32', number: 1, kind: 'int32' },
      { name: 'u32', number: 2, kind: 'uint32' },
      { name: 'i64', number: 3, kind: 'int64' },
      { name: 'u64', number: 4, kind: 'uint64' },
      { name: 'flag', number: 5, kind: 'bool' },
      { name: 'color', number: 6, kind: 'enum', enum: 'Color' },
    ],
    Text: [
      { name: 'name', number: 1, kind: 'string' },
      { name: 'tags', number: 2, kind: 'string', repeated: true },
      { name: 'labels', number: 3, kind: 'map' },
      { name: 'inner', number: 4, kind: 'message', message: 'Text' },
      { name: 'items', number: 2000, kind: 'message', message: 'Numbers', repeated: true },
    ],
  },
  enums: { Color: { COLOR_UNSPECIFIED: 0, RED: 1, BLUE: 7 } },
};

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('protobufCodec', () => {
  it.each([
    ['int32 -1 as ten bytes', { i32: -1 }, '08ffffffffffffffffff01'],
    ['uint32 max', { u32: 4294967295 }, '10ffffffff0f'],
    ['int64 2^53-1', { i64: 2n ** 53n - 1n }, '18ffffffffffffff0f'],
    ['int64 min', { i64: -(2n ** 63n) }, '18808080808080808080' + '01'],
    ['int64 -2', { i64: -2n }, '18feffffffffffffffff01'],
    ['uint64 2^32', { u64: 2n ** 32n }, '208080808010'],
    ['uint64 max', { u64: 2n ** 64n - 1n }, '20ffffffffffffffffff01'],
    ['bool true', { flag: true }, '2801'],
    ['enum', { color: 7 }, '3007'],
    ['defaults are not sent', { i32: 0, u32: 0, i64: 0n, u64: 0n, flag: false, color: 0 }, ''],
  ])('encodes %s and decodes it back', (_name, value, wire) => {
    const bytes = encodeMessage(SCHEMAS, 'Numbers', value);
    expect(hex(bytes)).toBe(wire);
    expect(decodeMessage(SCHEMAS, 'Numbers', bytes)).toMatchObject(value);
  });

  it('fills in defaults (an unset message stays absent), and keeps an enum value it does not know as its number', () => {
    expect(decodeMessage(SCHEMAS, 'Numbers', Buffer.from('3009', 'hex'))).toEqual({ i32: 0, u32: 0, i64: 0n, u64: 0n, flag: false, color: 9 });
    expect(decodeMessage(SCHEMAS, 'Text', new Uint8Array())).toStrictEqual({ name: '', tags: [], labels: {}, items: [] });
  });

  it('round-trips strings, repeated fields, maps, nested messages and large field numbers', () => {
    const value = { name: 'grüße', tags: ['a', '', 'c'], labels: { k: 'v', e: '' }, inner: { name: 'in', tags: [], labels: {}, items: [] },
      items: [{ i32: 5, u32: 0, i64: 0n, u64: 0n, flag: false, color: 1 }] };
    expect(decodeMessage(SCHEMAS, 'Text', encodeMessage(SCHEMAS, 'Text', value))).toEqual(value);
  });

  it('grows its buffer for long messages', () => {
    const tags = Array.from({ length: 5000 }, (_, index) => `tag-${index}`);
    expect(decodeMessage(SCHEMAS, 'Text', encodeMessage(SCHEMAS, 'Text', { tags })).tags).toEqual(tags);
  });

  it('skips fields it does not know, of every wire type', () => {
    // field 9 varint, field 10 fixed64, field 11 bytes, field 12 fixed32, then name = "x".
    const wire = '489601' + '510102030405060708' + '5a03616263' + '6501020304' + '0a0178';
    expect(decodeMessage(SCHEMAS, 'Text', Buffer.from(wire, 'hex')).name).toBe('x');
  });

  it.each([
    ['a truncated varint', '08ff'],
    ['a string longer than the message', '0a05616263'],
    ['a group (wire type 3)', '4b'],
    ['a known field with the wrong wire type', '0d00000000'],
  ])('refuses %s', (_name, wire) => {
    expect(() => decodeMessage(SCHEMAS, 'Text', Buffer.from(wire, 'hex'))).toThrow(ProtobufCodecError);
  });

  it.each([
    ['a number for a string', 'Text', { name: 5 }, 'Text.name: expected a string'],
    ['a string in a map that is not', 'Text', { labels: { k: 1 } }, 'Text.labels.k: expected a string'],
    ['an enum by name', 'Numbers', { color: 'BLUE' }, 'Numbers.color: BLUE is not a Color number'],
    ['a fraction for an integer', 'Numbers', { u32: 1.5 }, 'Numbers.u32: expected an integer'],
    ['a negative uint32', 'Numbers', { u32: -1 }, 'Numbers.u32: -1 is out of range for uint32'],
    ['a scalar for a repeated field', 'Text', { tags: 'a' }, 'Text.tags: expected an array'],
  ])('refuses to encode %s', (_name, type, value, message) => {
    expect(() => encodeMessage(SCHEMAS, type, value)).toThrow(message);
  });
});
