// The generated schema against the proto it comes from, and the codec against protobufjs (the
// daemon's side of the wire) for every message the shim sends or reads.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { methodCodec } from './ipamCodec.ts';
import type { IpamMethod } from './ipamMessages.ts';
import { IPAM_METHODS, IPAM_SCHEMAS } from './ipamSchema.ts';
import { decodeMessage, encodeMessage, type FieldSchema } from './protobufCodec.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const proto = protobuf.loadSync(resolve(ROOT, 'proto/berth/ipam/v1/ipam.proto'));
const TO_OBJECT = { enums: String, longs: Number, defaults: true, arrays: true };
const typeOf = (name: string): protobuf.Type => proto.lookupType(`berth.ipam.v1.${name}`);

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
    case 'enum': {
      const values = Object.values(IPAM_SCHEMAS.enums[field.enum] ?? {});
      return Object.keys(IPAM_SCHEMAS.enums[field.enum] ?? {})[values.length - 1];
    }
    case 'string': return field.repeated === true ? [`${field.name}-1`, '', '✓ ünïcode'] : `${field.name} ✓`;
    case 'bool': return true;
    case 'int32': return -7;
    case 'uint32': return 4_000_000_000;
    case 'int64': return field.number % 2 === 0 ? -1_700_000_000_123 : 2 ** 53 - 1;
    case 'uint64': return 2 ** 40 + 3;
  }
}

describe('generated schema', () => {
  it('is up to date with the proto', () => {
    expect(() => execFileSync(process.execPath, [resolve(ROOT, 'scripts/generateIpamSchema.mjs'), '--check'], { stdio: 'pipe' })).not.toThrow();
  });

  // The build rewrites the schema, so the check above passes after any build: npm test therefore
  // checks before building (build.mjs --check-schema), and that check must see a drifted proto.
  it('is checked by npm test before the build can rewrite it, and the check sees a proto change', async () => {
    const scripts = (JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    const steps = scripts.test!.split('&&').map((step) => step.trim());
    const firstBuild = steps.findIndex((step) => step.startsWith('node scripts/build.mjs'));
    expect(steps[firstBuild]).toBe('node scripts/build.mjs --check-schema');
    expect(firstBuild).toBeLessThan(steps.findIndex((step) => step.startsWith('vitest')));
    const generator = pathToFileURL(resolve(ROOT, 'scripts/generateIpamSchema.mjs')).href;
    const { ipamSchemaIsFresh } = await import(generator) as { ipamSchemaIsFresh: (protoPath?: string) => boolean };
    expect(ipamSchemaIsFresh()).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'berth-schema-backup-'));
    try {
      const drifted = join(dir, 'ipam.proto');
      const text = readFileSync(resolve(ROOT, 'proto/berth/ipam/v1/ipam.proto'), 'utf8');
      writeFileSync(drifted, text.replace('message ReleaseRequest {', 'message ReleaseRequest {\n  string added_later = 99;'));
      expect(ipamSchemaIsFresh(drifted)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each(Object.keys(IPAM_SCHEMAS.messages))('names every field of %s', (type) => {
    const fields = typeOf(type).fieldsArray.map((field) => [field.name, field.id]);
    expect(IPAM_SCHEMAS.messages[type]?.map((field) => [field.name, field.number])).toEqual(fields);
  });
});

describe('protobufCodec against protobufjs', () => {
  const messages = Object.keys(IPAM_SCHEMAS.messages);

  it.each(messages)('%s: what the shim encodes, protobufjs decodes', (type) => {
    const protoType = typeOf(type);
    const sample = sampleOf(type);
    const expected = protoType.toObject(protoType.decode(protoType.encode(protoType.fromObject(sample)).finish()), TO_OBJECT);
    expect(protoType.toObject(protoType.decode(encodeMessage(IPAM_SCHEMAS, type, sample)), TO_OBJECT)).toEqual(expected);
  });

  it.each(messages)('%s: what protobufjs encodes, the shim decodes as protobufjs does', (type) => {
    const protoType = typeOf(type);
    for (const sample of [sampleOf(type), {}]) {
      const bytes = protoType.encode(protoType.fromObject(sample)).finish();
      expect(decodeMessage(IPAM_SCHEMAS, type, bytes)).toEqual(protoType.toObject(protoType.decode(bytes), TO_OBJECT));
    }
  });

  it.each(Object.keys(IPAM_METHODS) as IpamMethod[])('%s: path from the service', (method) => {
    const rpc = proto.lookupService('berth.ipam.v1.Ipam').methods[method];
    expect(rpc).toBeDefined();
    expect(methodCodec(method).path).toBe(`/berth.ipam.v1.Ipam/${method}`);
    expect(IPAM_METHODS[method].request).toBe(rpc?.requestType);
    expect(IPAM_METHODS[method].response).toBe(rpc?.responseType);
  });

  it('decodes AllocateResponse with enum names and defaults', () => {
    const type = typeOf('AllocateResponse');
    const bytes = type.encode(type.fromObject({ allocations: [{ pool: 'v6', address: 'fd00::5/64', family: 'IPV6', routes: [{ dst: '::/0' }] }] })).finish();
    expect(methodCodec('Allocate').decode(bytes)).toEqual({
      allocations: [{ pool: 'v6', address: 'fd00::5/64', gateway: '', routes: [{ dst: '::/0', gw: '' }], dns: null, family: 'IPV6' }],
    });
  });
});
