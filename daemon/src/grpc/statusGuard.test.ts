// Statuses grpc-js sends by itself get berth's reason and CNI code; berth's own pass unchanged.
import { Metadata, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { guardStatus } from './statusGuard.ts';

describe('guardStatus', () => {
  const cases: [string, number, string, number, string | undefined][] = [
    ['a request over the size limit', status.RESOURCE_EXHAUSTED, 'Received message larger than max (2097162 vs. 1048576)', status.RESOURCE_EXHAUSTED, 'REQUEST_TOO_LARGE'],
    ['bytes that are not protobuf', status.INTERNAL, 'Error deserializing request', status.INVALID_ARGUMENT, 'INVALID_ARGUMENT'],
    ['a unary call without a message (found by the fuzz test)', status.UNIMPLEMENTED, 'Received no request message for server streaming method /berth.ipam.v1.Ipam/ListLeases', status.INVALID_ARGUMENT, 'INVALID_ARGUMENT'],
    ['a unary call with two messages', status.UNIMPLEMENTED, 'Received a second request message for server streaming method /x', status.INVALID_ARGUMENT, 'INVALID_ARGUMENT'],
    ['a compressed message without an encoding', status.INTERNAL, 'Failed to decompress message', status.INVALID_ARGUMENT, 'INVALID_ARGUMENT'],
    ['a handler that threw', status.UNKNOWN, 'Unknown error', status.INTERNAL, 'INTERNAL'],
    ['an unknown method', status.UNIMPLEMENTED, 'The server does not implement the method /x/y', status.UNIMPLEMENTED, undefined],
  ];

  it.each(cases)('%s', (_name, code, details, expectedCode, reason) => {
    const guarded = guardStatus({ code, details });
    expect(guarded.code).toBe(expectedCode);
    expect(guarded.metadata?.get('berth-error-reason')[0]).toBe(reason);
  });

  it('leaves the statuses of other services (health, reflection) as they are', () => {
    const guarded = guardStatus({ code: status.NOT_FOUND, details: 'unknown service raw' }, false);
    expect(guarded.code).toBe(status.NOT_FOUND);
    expect(guarded.metadata).toBeUndefined();
  });

  it('keeps a status that has a reason, making its message well-formed', () => {
    const metadata = new Metadata();
    metadata.set('berth-error-reason', 'UNKNOWN_POOL');
    const guarded = guardStatus({ code: status.NOT_FOUND, details: 'unknown pool "\uD800"', metadata });
    expect(guarded).toMatchObject({ code: status.NOT_FOUND, details: 'unknown pool "\uFFFD"' });
    expect(() => encodeURI(guarded.details ?? '')).not.toThrow();
  });
});
