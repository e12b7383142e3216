import { describe, expect, it } from 'vitest';
import { GrpcStatus } from '../../daemon/src/errors.ts';
import { responseOutcome } from './client.ts';
import { frameMessage, GrpcFramingError, parseFrames } from './grpcFraming.ts';
import { loadIpamRoot, methodCodec } from './ipamDescriptor.ts';

describe('gRPC framing', () => {
  it.each([
    ['empty message', Buffer.alloc(0), '0000000000'],
    ['three bytes', Buffer.from([1, 2, 3]), '0000000003010203'],
  ])('frames %s', (_name, message, hex) => {
    const frame = frameMessage(message);
    expect(frame.toString('hex')).toBe(hex);
    expect(parseFrames(frame)).toEqual([message]);
  });

  it('parses several frames in one body', () => {
    const body = Buffer.concat([frameMessage(Buffer.from('a')), frameMessage(Buffer.from('bc'))]);
    expect(parseFrames(body).map((message) => message.toString())).toEqual(['a', 'bc']);
  });

  it.each([
    ['a short header', Buffer.from([0, 0, 0])],
    ['a short message', Buffer.from([0, 0, 0, 0, 5, 1, 2])],
    ['a compressed message', Buffer.from([1, 0, 0, 0, 0])],
  ])('refuses %s', (_name, body) => {
    expect(() => parseFrames(body)).toThrow(GrpcFramingError);
  });
});

describe('responseOutcome', () => {
  const ok = frameMessage(Buffer.from([8, 1]));
  it.each([
    ['OK with one message', { ':status': '200' }, { 'grpc-status': '0' }, ok, { ok: true }],
    ['trailers-only error', { ':status': '200', 'grpc-status': '5', 'grpc-message': 'unknown%20pool%20%22x%22', 'berth-error-reason': 'UNKNOWN_POOL' },
      undefined, Buffer.alloc(0), { ok: false, code: 5, detail: 'unknown pool "x"', transport: false }],
    ['error in trailers', { ':status': '200' }, { 'grpc-status': '8', 'grpc-message': 'busy', 'berth-error-reason': 'OVERLOADED' },
      Buffer.alloc(0), { ok: false, code: 8, detail: 'busy', transport: false }],
    ['HTTP 503 without grpc-status', { ':status': '503' }, undefined, Buffer.alloc(0), { ok: false, code: GrpcStatus.UNAVAILABLE, transport: true }],
    ['OK without a message', { ':status': '200' }, { 'grpc-status': '0' }, Buffer.alloc(0), { ok: false, code: GrpcStatus.INTERNAL }],
    ['OK with a truncated message', { ':status': '200' }, { 'grpc-status': '0' }, ok.subarray(0, 6), { ok: false, code: GrpcStatus.INTERNAL }],
  ])('%s', (_name, headers, trailers, body, expected) => {
    expect(responseOutcome(headers, trailers, body)).toMatchObject(expected);
  });

  it('keeps berth trailers', () => {
    const outcome = responseOutcome({ ':status': '200' }, { 'grpc-status': '8', 'berth-error-reason': 'OVERLOADED', 'berth-cni-code': '11' }, Buffer.alloc(0));
    expect(outcome.ok ? {} : outcome.trailers).toMatchObject({ 'berth-error-reason': 'OVERLOADED', 'berth-cni-code': '11' });
  });
});

describe('ipam codecs from the proto', () => {
  const root = loadIpamRoot();

  it('encodes AllocateRequest with camelCase fields', () => {
    const codec = methodCodec(root, 'Allocate');
    expect(codec.path).toBe('/berth.ipam.v1.Ipam/Allocate');
    const bytes = codec.encode({ containerId: 'c1', ifname: 'eth0', pools: ['v4'], requestedIps: [], podNamespace: '', podName: '', podUid: '', netns: '/n', network: 'net' });
    const decoded = root.lookupType('berth.ipam.v1.AllocateRequest').toObject(root.lookupType('berth.ipam.v1.AllocateRequest').decode(bytes));
    expect(decoded).toMatchObject({ containerId: 'c1', ifname: 'eth0', pools: ['v4'], netns: '/n', network: 'net' });
  });

  it('decodes AllocateResponse with enum names and defaults', () => {
    const type = root.lookupType('berth.ipam.v1.AllocateResponse');
    const bytes = type.encode(type.fromObject({ allocations: [{ pool: 'v6', address: 'fd00::5/64', family: 'IPV6', routes: [{ dst: '::/0' }] }] })).finish();
    expect(methodCodec(root, 'Allocate').decode(bytes)).toEqual({
      allocations: [{ pool: 'v6', address: 'fd00::5/64', gateway: '', routes: [{ dst: '::/0', gw: '' }], dns: null, family: 'IPV6' }],
    });
  });
});
