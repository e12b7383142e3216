// The generated files against the proto they come from, and the shim's codec against
// @bufbuild/protobuf with the generated schemas, for every message the shim sends or reads: the
// codec's output is what the generated types (ipamMessages.ts) say it is.
import { create, fromBinary, toBinary, type DescMessage } from '@bufbuild/protobuf';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { file_berth_ipam_v1_ipam, Ipam as IpamService } from './gen/berth/ipam/v1/ipam_pb.ts';
import { methodCodec } from './ipamCodec.ts';
import type { IpamMethod } from './ipamMessages.ts';
import { IPAM_METHODS, IPAM_SCHEMAS } from './ipamSchema.ts';
import { decodeMessage, encodeMessage, type FieldSchema } from './protobufCodec.ts';

const ROOT = resolve(import.meta.dirname, '../..');

/** `npm run generate -- --check` on the tree at `root`: its exit code and what it printed. */
function generateCheck(root: string): { code: number; output: string } {
  try {
    return { code: 0, output: execFileSync(process.execPath, [join(ROOT, 'scripts/generate.mjs'), '--check', '--root', root], { encoding: 'utf8' }) };
  } catch (error) {
    const failed = error as { status: number; stdout: string };
    return { code: failed.status, output: failed.stdout };
  }
}
const schemaOf = (name: string): DescMessage => {
  const schema = file_berth_ipam_v1_ipam.messages.find((message) => message.name === name)
    ?? file_berth_ipam_v1_ipam.messages.flatMap((message) => message.nestedMessages).find((message) => message.name === name);
  if (schema === undefined) throw new Error(`no generated schema for ${name}`);
  return schema;
};

/** A message as fromBinary gives it, without $typeName (what the shim's codec gives). */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value !== 'object' || value === null || value instanceof Uint8Array) return value;
  return Object.fromEntries(Object.entries(value).filter(([key]) => key !== '$typeName').map(([key, entry]) => [key, plain(entry)]));
}

/** A value for every field, none at its default, so that every field crosses the wire. */
function sampleOf(type: string, depth = 0): Record<string, unknown> {
  const sample: Record<string, unknown> = {};
  for (const field of IPAM_SCHEMAS.messages[type] ?? []) sample[field.name] = sampleField(field, depth);
  return sample;
}

function sampleField(field: FieldSchema, depth: number): unknown {
  switch (field.kind) {
    case 'map': return { zone: 'eu-1', 'app.kubernetes.io/name': 'wéb', empty: '' };
    case 'message': return field.repeated === true ? [sampleOf(field.message, depth + 1), {}] : sampleOf(field.message, depth + 1);
    case 'enum': return Math.max(...Object.values(IPAM_SCHEMAS.enums[field.enum] ?? {}));
    case 'string': return field.repeated === true ? [`${field.name}-1`, '', '✓ ünïcode'] : `${field.name} ✓`;
    case 'bool': return true;
    case 'int32': return -7;
    case 'uint32': return 4_000_000_000;
    case 'int64': return field.number % 2 === 0 ? -1_700_000_000_123n : 2n ** 63n - 1n;
    case 'uint64': return 2n ** 64n - 3n;
  }
}

describe('generated files', () => {
  it('are what a fresh generation from the proto gives', () => {
    expect(generateCheck(ROOT)).toEqual({ code: 0, output: 'generated files are up to date with the proto\n' });
  });

  it('are reported stale when the proto changes and they do not', () => {
    const tree = mkdtempSync(join(tmpdir(), 'berth-plugin-generate-'));
    try {
      for (const path of ['buf.yaml', 'buf.gen.yaml', 'proto', 'cni-shim/src/gen', 'cni-shim/src/ipamSchema.ts']) cpSync(join(ROOT, path), join(tree, path), { recursive: true });
      symlinkSync(join(ROOT, 'node_modules'), join(tree, 'node_modules'));
      expect(generateCheck(tree).code).toBe(0);
      const proto = join(tree, 'proto/berth/ipam/v1/ipam.proto');
      writeFileSync(proto, readFileSync(proto, 'utf8').replace('string free = 6;', 'string free_addresses = 6;'));
      expect(generateCheck(tree)).toEqual({ code: 1,
        output: 'out of date with the proto (run npm run generate): cni-shim/src/gen/berth/ipam/v1/ipam_pb.ts, cni-shim/src/ipamSchema.ts\n' });
    } finally {
      rmSync(tree, { recursive: true, force: true });
    }
  }, 120_000);

  it.each(Object.keys(IPAM_SCHEMAS.messages))('the codec table names every field of %s as the generated schema does', (type) => {
    const fields = schemaOf(type).fields.map((field) => [field.localName, field.number]);
    expect(IPAM_SCHEMAS.messages[type]?.map((field) => [field.name, field.number])).toEqual(fields);
  });

  it.each(Object.keys(IPAM_METHODS) as IpamMethod[])('%s: path and message types from the service', (method) => {
    const rpc = IpamService.method[`${method[0]?.toLowerCase()}${method.slice(1)}` as keyof typeof IpamService.method];
    expect(methodCodec(method).path).toBe(`/${IpamService.typeName}/${method}`);
    expect(IPAM_METHODS[method].request).toBe(rpc.input.name);
    expect(IPAM_METHODS[method].response).toBe(rpc.output.name);
  });
});

describe('protobufCodec against @bufbuild/protobuf', () => {
  const messages = Object.keys(IPAM_SCHEMAS.messages);

  it.each(messages)('%s: what the shim encodes, fromBinary decodes to the same message', (type) => {
    const schema = schemaOf(type);
    const sample = sampleOf(type);
    expect(plain(fromBinary(schema, encodeMessage(IPAM_SCHEMAS, type, sample)))).toEqual(plain(create(schema, sample as never)));
  });

  it.each(messages)('%s: what toBinary encodes, the shim decodes exactly as fromBinary does', (type) => {
    const schema = schemaOf(type);
    for (const sample of [sampleOf(type), {}]) {
      const bytes = toBinary(schema, create(schema, sample as never));
      expect(decodeMessage(IPAM_SCHEMAS, type, bytes)).toStrictEqual(plain(fromBinary(schema, bytes)));
    }
  });
});
