import { describe, expect, it } from 'vitest';
import { GrpcStatus } from '../../daemon/src/errors.ts';
import { responseOutcome } from './client.ts';
import { frameMessage, GrpcFramingError, parseFrames } from './grpcFraming.ts';

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
