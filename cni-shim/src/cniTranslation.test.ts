import { describe, expect, it } from 'vitest';
import { CniCode, errorReasons, GrpcStatus, type ErrorReason } from '../../daemon/src/errors.ts';
import { cniErrorOf, statusErrorOf } from './cniTranslation.ts';
import { GrpcCallError } from './grpcCallError.ts';

const SOCKET = '/run/berth/berthd.sock';
const failure = (code: number, detail: string, trailers: Record<string, string> = {}, transport = false): GrpcCallError =>
  new GrpcCallError('Allocate', code, detail, trailers, SOCKET, 3, transport);

describe('cniErrorOf', () => {
  it.each(Object.keys(errorReasons) as ErrorReason[])('reason %s maps to its CNI code from the table', (reason) => {
    const error = cniErrorOf(failure(errorReasons[reason].grpc, `failed: ${reason}`, { 'berth-error-reason': reason }));
    expect(error.code).toBe(errorReasons[reason].cni);
    expect(error.message).toBe(`failed: ${reason}`);
    expect(error.details).toBe(`reason=${reason}`);
  });

  it('prefers the berth-cni-code trailer and lists the other berth- trailers in details', () => {
    const error = cniErrorOf(failure(GrpcStatus.RESOURCE_EXHAUSTED, 'pool "v4" is exhausted: all 254 addresses are leased',
      { 'berth-error-reason': 'POOL_EXHAUSTED', 'berth-cni-code': '100', 'berth-pool': 'v4', 'content-type': 'application/grpc' }));
    expect(error).toMatchObject({ code: 100, message: 'pool "v4" is exhausted: all 254 addresses are leased', details: 'reason=POOL_EXHAUSTED; pool=v4' });
  });

  it.each([
    ['connect failure', failure(GrpcStatus.UNAVAILABLE, 'connect ENOENT /run/berth/berthd.sock', {}, true), CniCode.TRY_AGAIN_LATER],
    ['UNAVAILABLE without reason', failure(GrpcStatus.UNAVAILABLE, 'going away'), CniCode.TRY_AGAIN_LATER],
    ['deadline', failure(GrpcStatus.DEADLINE_EXCEEDED, 'no answer within 1000 ms', {}, true), CniCode.TRY_AGAIN_LATER],
    ['UNIMPLEMENTED', failure(GrpcStatus.UNIMPLEMENTED, 'unknown method'), CniCode.INTERNAL],
    ['INTERNAL without reason', failure(GrpcStatus.INTERNAL, 'boom'), CniCode.INTERNAL],
    ['unknown reason', failure(GrpcStatus.NOT_FOUND, 'x', { 'berth-error-reason': 'NEW_THING' }), CniCode.INTERNAL],
  ])('%s', (_name, error, code) => {
    const translated = cniErrorOf(error);
    expect(translated.code).toBe(code);
    expect(translated.code).not.toBe(999);
    if (code === CniCode.TRY_AGAIN_LATER) expect(translated.message).toContain(SOCKET);
    if (code === CniCode.INTERNAL) expect(translated.message).toMatch(/UNIMPLEMENTED|INTERNAL|NOT_FOUND/);
  });
});

describe('statusErrorOf', () => {
  it('turns "try again" into "not available" and keeps the socket in the message', () => {
    const error = statusErrorOf(failure(GrpcStatus.UNAVAILABLE, 'connect ECONNREFUSED', {}, true));
    expect(error.code).toBe(CniCode.NOT_AVAILABLE);
    expect(error.message).toContain(SOCKET);
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('answers an unknown pool with a STATUS code (50), still naming the pool (issue 14)', () => {
    const error = statusErrorOf(failure(GrpcStatus.NOT_FOUND, 'unknown pool "x"', { 'berth-error-reason': 'UNKNOWN_POOL' }));
    expect(error.code).toBe(CniCode.NOT_AVAILABLE);
    expect(error.message).toBe('unknown pool "x"');
  });

  it('keeps other reasoned errors as they are', () => {
    expect(statusErrorOf(failure(GrpcStatus.INVALID_ARGUMENT, 'pools[0] "é"', { 'berth-error-reason': 'INVALID_ARGUMENT' })).code).toBe(CniCode.INVALID_NETWORK_CONFIG);
  });

  it('decodes percent-encoded detail trailers', () => {
    const error = statusErrorOf(failure(GrpcStatus.INVALID_ARGUMENT, 'x', { 'berth-error-reason': 'INVALID_ARGUMENT', 'berth-pool': 'v%C3%A9' }));
    expect(error.details).toContain('pool=vé');
  });
});
