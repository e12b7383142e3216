// Protocol Buffers (proto3) wire format for the few message shapes the shim uses, driven by the
// table that scripts/generateIpamSchema.mjs generates from the proto. Loading protobufjs and
// parsing a descriptor cost a short-lived shim ~12 ms, and @bufbuild/protobuf's reflection codec
// (which builds the whole file's descriptors at start) cost a Bun executable doing one encode and
// decode 2-3x the CPU of the same executable with this codec; this costs nothing to load. Decoded objects have the shape of the types protoc-gen-es generates
// (cni-shim/src/gen/) without $typeName, as @bufbuild/protobuf's fromBinary gives them: camelCase
// fields, scalars, lists and maps always present, unset messages absent, enums as numbers, 64-bit
// integers as bigint. ipamCodec.test.ts holds this codec to fromBinary and toBinary.

export type ScalarKind = 'string' | 'bool' | 'int32' | 'uint32' | 'int64' | 'uint64';
interface FieldHead { readonly name: string; readonly number: number }
export type FieldSchema =
  | (FieldHead & { readonly kind: ScalarKind; readonly repeated?: true })
  | (FieldHead & { readonly kind: 'enum'; readonly enum: string })
  | (FieldHead & { readonly kind: 'message'; readonly message: string; readonly repeated?: true })
  /** map<string, string> */
  | (FieldHead & { readonly kind: 'map' });

export interface MessageSchemas {
  readonly messages: Readonly<Record<string, readonly FieldSchema[]>>;
  readonly enums: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

export type DecodedMessage = Record<string, unknown>;

export class ProtobufCodecError extends Error {
  override readonly name = 'ProtobufCodecError';
}

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

export function encodeMessage(schemas: MessageSchemas, type: string, value: object): Uint8Array {
  const writer = new ProtoWriter();
  writeMessage(schemas, type, value, writer, type);
  return writer.finish();
}

export function decodeMessage(schemas: MessageSchemas, type: string, bytes: Uint8Array): DecodedMessage {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return readMessage(schemas, type, new ProtoReader(buffer, 0, buffer.length));
}

function fieldsOf(schemas: MessageSchemas, type: string): readonly FieldSchema[] {
  const fields = schemas.messages[type];
  if (fields === undefined) throw new ProtobufCodecError(`no schema for message ${type}`);
  return fields;
}

function writeMessage(schemas: MessageSchemas, type: string, value: object, writer: ProtoWriter, path: string): void {
  const record = value as Readonly<Record<string, unknown>>;
  for (const field of fieldsOf(schemas, type)) {
    const fieldValue = record[field.name];
    if (fieldValue === undefined || fieldValue === null) continue;
    const where = `${path}.${field.name}`;
    switch (field.kind) {
      case 'map':
        for (const [key, entry] of Object.entries(expectObject(fieldValue, where))) {
          const pair = new ProtoWriter();
          pair.tag(1, LENGTH_DELIMITED).string(key);
          pair.tag(2, LENGTH_DELIMITED).string(expectString(entry, `${where}.${key}`));
          writer.tag(field.number, LENGTH_DELIMITED).bytes(pair.finish());
        }
        break;
      case 'message':
        for (const [index, item] of valuesOf(field, fieldValue, where)) {
          const nested = new ProtoWriter();
          writeMessage(schemas, field.message, expectObject(item, index), nested, index);
          writer.tag(field.number, LENGTH_DELIMITED).bytes(nested.finish());
        }
        break;
      case 'enum': {
        const number = enumNumber(field.enum, fieldValue, where);
        if (number !== 0) writer.tag(field.number, VARINT).signedVarint(number);
        break;
      }
      default:
        for (const [index, item] of valuesOf(field, fieldValue, where)) writeScalar(writer, field.number, field.kind, item, index, field.repeated === true);
    }
  }
}

/** [path, value] of a repeated field's items, or of the one value of a singular field. */
function valuesOf(field: FieldSchema & { readonly repeated?: true }, value: unknown, where: string): [string, unknown][] {
  if (field.repeated !== true) return [[where, value]];
  if (!Array.isArray(value)) throw new ProtobufCodecError(`${where}: expected an array`);
  return value.map((item, index) => [`${where}[${index}]`, item]);
}

function writeScalar(writer: ProtoWriter, number: number, kind: ScalarKind, value: unknown, where: string, repeated: boolean): void {
  // proto3: a singular field at its default is not sent (the reader fills the default back in).
  switch (kind) {
    case 'string': {
      const text = expectString(value, where);
      if (text !== '' || repeated) writer.tag(number, LENGTH_DELIMITED).string(text);
      return;
    }
    case 'bool':
      if (typeof value !== 'boolean') throw new ProtobufCodecError(`${where}: expected a boolean`);
      if (value) writer.tag(number, VARINT).signedVarint(1);
      return;
    case 'int32':
    case 'uint32':
    case 'int64':
    case 'uint64': {
      const integer = expectInteger(value, kind, where);
      if (integer !== 0n) writer.tag(number, VARINT).varint64(integer);
      return;
    }
  }
}

const INTEGER_RANGE: Record<'int32' | 'uint32' | 'int64' | 'uint64', readonly [bigint, bigint]> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
};

function expectInteger(value: unknown, kind: keyof typeof INTEGER_RANGE, where: string): bigint {
  if (!(typeof value === 'number' && Number.isSafeInteger(value)) && typeof value !== 'bigint') throw new ProtobufCodecError(`${where}: expected an integer`);
  const integer = BigInt(value);
  const [min, max] = INTEGER_RANGE[kind];
  if (integer < min || integer > max) throw new ProtobufCodecError(`${where}: ${integer} is out of range for ${kind}`);
  return integer;
}

function expectString(value: unknown, where: string): string {
  if (typeof value !== 'string') throw new ProtobufCodecError(`${where}: expected a string`);
  return value;
}

function expectObject(value: unknown, where: string): object {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ProtobufCodecError(`${where}: expected an object`);
  return value;
}

function enumNumber(name: string, value: unknown, where: string): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31) return value;
  throw new ProtobufCodecError(`${where}: ${String(value)} is not a ${name} number`);
}

function defaultsOf(schemas: MessageSchemas, fields: readonly FieldSchema[]): DecodedMessage {
  const message: DecodedMessage = {};
  for (const field of fields) {
    if (field.kind === 'map') message[field.name] = {};
    else if (field.kind !== 'enum' && field.repeated === true) message[field.name] = [];
    else if (field.kind === 'enum') message[field.name] = 0;
    else if (field.kind === 'int64' || field.kind === 'uint64') message[field.name] = 0n;
    else if (field.kind !== 'message') message[field.name] = field.kind === 'string' ? '' : field.kind === 'bool' ? false : 0;
  }
  return message;
}

function readMessage(schemas: MessageSchemas, type: string, reader: ProtoReader): DecodedMessage {
  const fields = fieldsOf(schemas, type);
  const message = defaultsOf(schemas, fields);
  while (!reader.done()) {
    const key = reader.varint32();
    const number = key >>> 3;
    const wireType = key & 7;
    const field = fields.find((candidate) => candidate.number === number);
    if (field === undefined) {
      reader.skip(wireType);
      continue;
    }
    const expected = field.kind === 'map' || field.kind === 'message' || field.kind === 'string' ? LENGTH_DELIMITED : VARINT;
    if (wireType !== expected) throw new ProtobufCodecError(`${type}.${field.name}: wire type ${wireType}, expected ${expected}`);
    switch (field.kind) {
      case 'map': {
        const [entryKey, entryValue] = readMapEntry(reader.nested());
        (message[field.name] as Record<string, string>)[entryKey] = entryValue;
        break;
      }
      case 'message': {
        const nested = readMessage(schemas, field.message, reader.nested());
        if (field.repeated === true) (message[field.name] as DecodedMessage[]).push(nested);
        else message[field.name] = nested;
        break;
      }
      case 'enum':
        // A value newer than this shim stays its number, as in fromBinary.
        message[field.name] = reader.varint64().int32();
        break;
      case 'string': {
        const text = reader.string();
        if (field.repeated === true) (message[field.name] as string[]).push(text);
        else message[field.name] = text;
        break;
      }
      default:
        message[field.name] = integerValue(field.kind, reader.varint64());
    }
  }
  return message;
}

function integerValue(kind: 'bool' | 'int32' | 'uint32' | 'int64' | 'uint64', bits: VarintBits): number | boolean | bigint {
  switch (kind) {
    case 'bool': return bits.low !== 0 || bits.high !== 0;
    case 'int32': return bits.int32();
    case 'uint32': return bits.low;
    case 'int64': return BigInt.asIntN(64, (BigInt(bits.high) << 32n) | BigInt(bits.low));
    case 'uint64': return (BigInt(bits.high) << 32n) | BigInt(bits.low);
  }
}

function readMapEntry(reader: ProtoReader): [string, string] {
  let key = '';
  let value = '';
  while (!reader.done()) {
    const tag = reader.varint32();
    if (tag === ((1 << 3) | LENGTH_DELIMITED)) key = reader.string();
    else if (tag === ((2 << 3) | LENGTH_DELIMITED)) value = reader.string();
    else reader.skip(tag & 7);
  }
  return [key, value];
}

/** A varint as two unsigned 32-bit halves. */
class VarintBits {
  constructor(readonly low: number, readonly high: number) {}
  int32(): number { return this.low | 0; }
}

class ProtoReader {
  constructor(private readonly buffer: Buffer, private offset: number, private readonly end: number) {}

  done(): boolean { return this.offset >= this.end; }

  varint32(): number {
    return this.varint64().low;
  }

  varint64(): VarintBits {
    let low = 0;
    let high = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.offset >= this.end) throw new ProtobufCodecError('truncated varint');
      const byte = this.buffer[this.offset++] ?? 0;
      const bits = byte & 0x7f;
      if (shift < 28) low |= bits << shift;
      else if (shift === 28) { low |= (bits & 0x0f) << 28; high |= bits >>> 4; }
      else high |= bits << (shift - 32);
      if ((byte & 0x80) === 0) return new VarintBits(low >>> 0, high >>> 0);
    }
    throw new ProtobufCodecError('varint longer than 10 bytes');
  }

  /** A length-delimited field's bytes, as a reader of their own. */
  nested(): ProtoReader {
    const length = this.varint32();
    const start = this.offset;
    this.advance(length);
    return new ProtoReader(this.buffer, start, start + length);
  }

  string(): string {
    const length = this.varint32();
    const start = this.offset;
    this.advance(length);
    return this.buffer.toString('utf8', start, start + length);
  }

  skip(wireType: number): void {
    switch (wireType) {
      case VARINT: this.varint64(); return;
      case FIXED64: this.advance(8); return;
      case LENGTH_DELIMITED: this.advance(this.varint32()); return;
      case FIXED32: this.advance(4); return;
      default: throw new ProtobufCodecError(`unsupported wire type ${wireType}`);
    }
  }

  private advance(length: number): void {
    if (length > this.end - this.offset) throw new ProtobufCodecError(`truncated message: ${length} bytes announced, ${this.end - this.offset} left`);
    this.offset += length;
  }
}

class ProtoWriter {
  private buffer = Buffer.allocUnsafe(128);
  private length = 0;

  tag(number: number, wireType: number): this {
    return this.signedVarint(number * 8 + wireType);
  }

  /** A non-negative number below 2^31, or a negative int32 (sent as ten bytes, as proto says). */
  signedVarint(value: number): this {
    return value >= 0 ? this.unsignedVarint(value) : this.varint64(BigInt(value));
  }

  varint64(value: bigint): this {
    let rest = BigInt.asUintN(64, value);
    this.reserve(10);
    while (rest > 0x7fn) {
      this.buffer[this.length++] = Number(rest & 0x7fn) | 0x80;
      rest >>= 7n;
    }
    this.buffer[this.length++] = Number(rest);
    return this;
  }

  string(text: string): this {
    const size = Buffer.byteLength(text);
    this.unsignedVarint(size).reserve(size);
    this.length += this.buffer.write(text, this.length, 'utf8');
    return this;
  }

  bytes(bytes: Uint8Array): this {
    this.unsignedVarint(bytes.length).reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
    return this;
  }

  finish(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }

  private unsignedVarint(value: number): this {
    this.reserve(5);
    let rest = value;
    while (rest > 0x7f) {
      this.buffer[this.length++] = (rest & 0x7f) | 0x80;
      rest >>>= 7;
    }
    this.buffer[this.length++] = rest;
    return this;
  }

  private reserve(size: number): void {
    if (this.length + size <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + size));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}
