// The status of any error can be sent: trailer values printable ASCII, the message well-formed.
import { describe, expect, it } from 'vitest';
import { AddressInUseError, decodeTrailerValue, encodeTrailerValue, InvalidArgumentError, UnknownPoolError } from '../errors.ts';
import { internalStatus, toGrpcStatus } from './errorStatus.ts';

const PRINTABLE = /^[\x20-\x7e]*$/;

describe('toGrpcStatus', () => {
  const hostile = ['vé', 'v4\u0001', '\u0000', '🚢', 'v\uD800', '\uDC00x', 'a%41', 'x'.repeat(10_000), '\r\n', ''];

  it.each(hostile)('encodes the trailers of an error about %j', (name) => {
    const { error } = toGrpcStatus(new UnknownPoolError(name, ['v4']), 'r1');
    const map = error.metadata?.getMap() ?? {};
    for (const value of Object.values(map)) expect(String(value)).toMatch(PRINTABLE);
    expect(decodeTrailerValue(String(map['berth-pool']))).toBe(Buffer.from(name, 'utf8').toString('utf8'));
    expect(() => encodeURI(error.details ?? '')).not.toThrow();
  });

  it('keeps plain values as they are and round-trips the rest', () => {
    expect(encodeTrailerValue('10.0.0.5 in pool "v4"')).toBe('10.0.0.5 in pool "v4"');
    for (const text of ['fe80::1%eth0', 'nœud/3', 'tab\there']) expect(decodeTrailerValue(encodeTrailerValue(text))).toBe(text);
  });

  it('answers INTERNAL with CNI 110 and the request id for an unknown error', () => {
    const { reason, error } = toGrpcStatus(new TypeError('boom'), 'req-7');
    expect(reason).toBe('INTERNAL');
    expect(error.details).toContain('request id req-7');
    expect(error.metadata?.get('berth-cni-code')).toEqual(['110']);
    expect(error.metadata?.get('berth-request-id')).toEqual(['req-7']);
    expect(internalStatus('req-8').metadata?.get('berth-request-id')).toEqual(['req-8']);
  });

  it('skips a detail key that is not a header name', () => {
    const { error } = toGrpcStatus(new AddressInUseError('10.0.0.1', 'p', { containerId: 'c\u00e9', ifname: 'eth0' }), 'r');
    expect(decodeTrailerValue(String(error.metadata?.get('berth-containerid')[0]))).toBe('c\u00e9');
    const odd = new InvalidArgumentError('x', { 'bad key': 'v' });
    expect(toGrpcStatus(odd, 'r').error.metadata?.get('berth-bad key')).toEqual([]);
  });
});
