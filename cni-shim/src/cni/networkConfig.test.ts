import { describe, expect, it } from 'vitest';
import { CniError } from './cniError.ts';
import { parseCniArgs } from './environment.ts';
import { DEFAULT_SOCKET, expectedAddresses, parseNetworkConfig, poolSelectorOf, poolsOf, validAttachments } from './networkConfig.ts';
import { isIpWithOptionalPrefix, requestedIps } from './requestedIps.ts';

const base = { cniVersion: '1.0.0', name: 'net1', type: 'bridge', ipam: { type: 'berth', pools: ['v4', 'v6'] } };
const json = (doc: unknown): string => JSON.stringify(doc);

function errorOf(run: () => unknown): CniError {
  try {
    run();
  } catch (error) {
    if (error instanceof CniError) return error;
    throw error;
  }
  throw new Error('expected a CniError');
}

describe('parseNetworkConfig', () => {
  it('fills in defaults', () => {
    const config = parseNetworkConfig(json({ cniVersion: '0.3.1', name: 'net1', ipam: {} }));
    expect(config.ipam).toEqual({ type: 'berth', pools: undefined, poolSelector: {}, socket: DEFAULT_SOCKET, timeoutSeconds: 10 });
    expect(config.podLabels).toEqual({});
    expect(poolsOf(config)).toEqual(['net1']);
    expect(config.disableGC).toBe(false);
  });

  it.each([
    ['array', ['a', 'b'], ['a', 'b']],
    ['comma string', 'a, b', ['a', 'b']],
    ['single string', 'a', ['a']],
  ])('reads pools as %s', (_name, pools, expected) => {
    expect(poolsOf(parseNetworkConfig(json({ ...base, ipam: { pools } })))).toEqual(expected);
  });

  it('reads a pool selector instead of pools, and pod labels from args.cni.labels', () => {
    const config = parseNetworkConfig(json({ ...base, ipam: { poolSelector: { matchLabels: { tier: 'db' } } }, args: { cni: { labels: { app: 'pg' } } } }));
    expect(poolsOf(config)).toEqual([]);
    expect(poolSelectorOf(config)).toEqual({ matchLabels: { tier: 'db' } });
    expect(config.podLabels).toEqual({ app: 'pg' });
    expect(poolSelectorOf(parseNetworkConfig(json(base)))).toBeUndefined();
  });

  it.each([
    ['pools and a selector', { pools: ['a'], poolSelector: { matchLabels: { a: 'b' } } }, 7, /not both/],
    ['a selector that is not an object', { poolSelector: 'tier=db' }, 7, /ipam.poolSelector: must be an object/],
    ['an empty selector', { poolSelector: { matchLabels: {} } }, 7, /must name at least one label/],
    ['a selector label that is a number', { poolSelector: { matchLabels: { a: 1 } } }, 7, /matchLabels\.a: must be a string/],
    ['matchExpressions', { poolSelector: { matchExpressions: [] } }, 2, /ipam.poolSelector.matchExpressions: unsupported field/],
  ])('refuses %s', (_name, ipam, code, message) => {
    const error = errorOf(() => parseNetworkConfig(json({ ...base, ipam })));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  });

  it('refuses pod labels that are not strings', () => {
    expect(errorOf(() => parseNetworkConfig(json({ ...base, args: { cni: { labels: { a: true } } } }))).message).toMatch(/args.cni.labels.a: must be a string/);
  });

  it('accepts another ipam.type, socket and timeout', () => {
    const config = parseNetworkConfig(json({ ...base, ipam: { type: 'other', socket: '/tmp/s.sock', timeoutSeconds: 0.5 } }));
    expect(config.ipam).toMatchObject({ type: 'other', socket: '/tmp/s.sock', timeoutSeconds: 0.5 });
  });

  it.each([
    ['not JSON', 'nope', 6, 'not valid JSON'],
    ['truncated', '{"cniVersion":"1.0.0","na', 6, 'not valid JSON'],
    ['an array', '[]', 7, 'JSON object'],
    ['no cniVersion', json({ ...base, cniVersion: undefined }), 7, 'cniVersion: required'],
    ['numeric cniVersion', json({ ...base, cniVersion: 1 }), 7, 'cniVersion: must be a string'],
    ['unsupported cniVersion', json({ ...base, cniVersion: '0.5.0' }), 1, '"0.5.0"'],
    ['no name', json({ ...base, name: undefined }), 7, 'name: must be a non-empty string'],
    ['no ipam', json({ ...base, ipam: undefined }), 7, 'ipam: required'],
    ['ipam not an object', json({ ...base, ipam: 'x' }), 7, 'ipam: must be an object'],
    ['unknown ipam key', json({ ...base, ipam: { subnet: '10.0.0.0/24' } }), 2, 'ipam.subnet: unsupported field (value "10.0.0.0/24")'],
    ['pools with a number', json({ ...base, ipam: { pools: ['a', 3] } }), 7, 'ipam.pools[1]: must be a non-empty string'],
    ['pools with an empty name', json({ ...base, ipam: { pools: 'a,,b' } }), 7, 'ipam.pools'],
    ['empty pools', json({ ...base, ipam: { pools: [] } }), 7, 'ipam.pools'],
    ['pools an object', json({ ...base, ipam: { pools: {} } }), 7, 'ipam.pools'],
    ['empty socket', json({ ...base, ipam: { socket: '' } }), 7, 'ipam.socket'],
    ['zero timeout', json({ ...base, ipam: { timeoutSeconds: 0 } }), 7, 'ipam.timeoutSeconds'],
    ['huge timeout', json({ ...base, ipam: { timeoutSeconds: 301 } }), 7, 'ipam.timeoutSeconds'],
    ['string timeout', json({ ...base, ipam: { timeoutSeconds: '5' } }), 7, 'ipam.timeoutSeconds'],
    ['runtimeConfig.ips not array', json({ ...base, runtimeConfig: { ips: '10.0.0.1' } }), 7, 'runtimeConfig.ips'],
    ['args.cni.ips with a number', json({ ...base, args: { cni: { ips: [1] } } }), 7, 'args.cni.ips[0]'],
    ['disableGC a string', json({ ...base, disableGC: 'yes' }), 7, 'disableGC'],
  ])('rejects %s', (_name, text, code, message) => {
    const error = errorOf(() => parseNetworkConfig(text));
    expect(error.code).toBe(code);
    expect(error.message).toContain(message);
  });

  it('reads prevResult addresses for CHECK', () => {
    const config = parseNetworkConfig(json({ ...base, prevResult: { ips: [{ address: '10.0.0.5/24' }, { address: 'fd00::5/64' }] } }));
    expect(expectedAddresses(config)).toEqual(['10.0.0.5/24', 'fd00::5/64']);
    expect(errorOf(() => expectedAddresses(parseNetworkConfig(json(base)))).message).toContain('prevResult: required');
    expect(errorOf(() => expectedAddresses(parseNetworkConfig(json({ ...base, prevResult: { ips: [{}] } })))).message)
      .toContain('prevResult.ips[0].address');
    for (const address of ['garbage', '10.0.0.300/24', 'fe80::1%eth0']) {
      const error = errorOf(() => expectedAddresses(parseNetworkConfig(json({ ...base, prevResult: { ips: [{ address: '10.0.0.5/24' }, { address }] } }))));
      expect(error.code).toBe(7);
      expect(error.message).toContain(`prevResult.ips[1].address: "${address}" is not an IP address`);
    }
  });

  it('reads valid attachments for GC', () => {
    const config = parseNetworkConfig(json({ ...base, 'cni.dev/valid-attachments': [{ containerID: 'c1', ifname: 'eth0' }] }));
    expect(validAttachments(config)).toEqual([{ containerId: 'c1', ifname: 'eth0' }]);
    expect(errorOf(() => validAttachments(parseNetworkConfig(json(base)))).code).toBe(7);
    expect(errorOf(() => validAttachments(parseNetworkConfig(json({ ...base, 'cni.dev/valid-attachments': [{ containerID: 'c1' }] })))).message)
      .toContain('cni.dev/valid-attachments[0].ifname');
  });
});

describe('requestedIps', () => {
  it.each([
    ['nothing', {}, '', []],
    ['runtimeConfig.ips', { runtimeConfig: { ips: ['10.0.0.5/24', 'fd00::5'] } }, '', ['10.0.0.5/24', 'fd00::5']],
    ['args.cni.ips', { args: { cni: { ips: ['10.0.0.6'] } } }, '', ['10.0.0.6']],
    ['CNI_ARGS IP', {}, 'IP=10.0.0.7,fd00::7', ['10.0.0.7', 'fd00::7']],
    ['args.cni.ips wins over CNI_ARGS IP', { args: { cni: { ips: ['10.0.0.6'] } } }, 'IP=10.0.0.7', ['10.0.0.6']],
    ['runtime and CNI_ARGS, deduped', { runtimeConfig: { ips: ['10.0.0.5'] } }, 'IP=10.0.0.5,10.0.0.8', ['10.0.0.5', '10.0.0.8']],
  ])('%s', (_name, extra, cniArgs, expected) => {
    expect(requestedIps(parseNetworkConfig(json({ ...base, ...extra })), parseCniArgs(cniArgs))).toEqual(expected);
  });

  it.each([
    ['runtimeConfig.ips[1]', { runtimeConfig: { ips: ['10.0.0.5', '10.0.0.300'] } }, '', '"10.0.0.300"'],
    ['args.cni.ips[0]', { args: { cni: { ips: ['10.0.0.5/33'] } } }, '', '"10.0.0.5/33"'],
    ['CNI_ARGS IP', {}, 'IP=banana', '"banana"'],
  ])('rejects a bad address in %s with code 7', (field, extra, cniArgs, value) => {
    const error = errorOf(() => requestedIps(parseNetworkConfig(json({ ...base, ...extra })), parseCniArgs(cniArgs)));
    expect(error.code).toBe(7);
    expect(error.message).toContain(field);
    expect(error.message).toContain(value);
  });

  it.each([
    ['10.0.0.1', true], ['10.0.0.1/0', true], ['10.0.0.1/32', true], ['fd00::1/128', true], ['::', true],
    ['10.0.0.1/33', false], ['fd00::1/129', false], ['fe80::1%eth0', false], ['fe80::1%eth0/64', false], ['10.0.0.1/', false], ['10.0.0.1/a', false], ['10.0.0', false], ['', false],
  ])('isIpWithOptionalPrefix(%s) = %s', (text, ok) => {
    expect(isIpWithOptionalPrefix(text)).toBe(ok);
  });
});
