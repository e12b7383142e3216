import { describe, expect, it } from 'vitest';
import { IpFamily } from '../gen/berth/ipam/v1/ipam_pb.ts';
import type { AllocationMessage } from '../ipamMessages.ts';
import { toCniResult } from './result.ts';
import { SUPPORTED_VERSIONS } from './versions.ts';

const dns = { nameservers: ['10.0.0.53'], domain: 'example', search: ['cluster.local'], options: [] };
const v4: AllocationMessage = {
  pool: 'v4', address: '10.0.0.5/24', gateway: '10.0.0.1', family: IpFamily.IPV4,
  routes: [{ dst: '0.0.0.0/0', gw: '' }, { dst: '192.168.0.0/16', gw: '10.0.0.254' }], dns,
};
const v6: AllocationMessage = {
  pool: 'v6', address: 'fd00::5/64', gateway: '', family: IpFamily.IPV6,
  routes: [{ dst: '::/0', gw: '' }, { dst: '0.0.0.0/0', gw: '' }],
  dns: { nameservers: ['fd00::53', '10.0.0.53'], domain: '', search: ['cluster.local', 'svc'], options: ['ndots:2'] },
};
const mergedRoutes = [{ dst: '0.0.0.0/0' }, { dst: '192.168.0.0/16', gw: '10.0.0.254' }, { dst: '::/0' }];
const mergedDns = { nameservers: ['10.0.0.53', 'fd00::53'], domain: 'example', search: ['cluster.local', 'svc'], options: ['ndots:2'] };

describe('toCniResult', () => {
  it.each(['0.3.0', '0.3.1', '0.4.0'] as const)('%s: ips carry version, routes and dns merged', (version) => {
    expect(toCniResult(version, [v4, v6])).toEqual({
      cniVersion: version,
      ips: [{ version: '4', address: '10.0.0.5/24', gateway: '10.0.0.1' }, { version: '6', address: 'fd00::5/64' }],
      routes: mergedRoutes,
      dns: mergedDns,
    });
  });

  it.each(['1.0.0', '1.1.0'] as const)('%s: ips without version', (version) => {
    expect(toCniResult(version, [v4, v6])).toEqual({
      cniVersion: version,
      ips: [{ address: '10.0.0.5/24', gateway: '10.0.0.1' }, { address: 'fd00::5/64' }],
      routes: mergedRoutes,
      dns: mergedDns,
    });
  });

  it.each(['0.1.0', '0.2.0'] as const)('%s: legacy ip4/ip6 with routes by family', (version) => {
    expect(toCniResult(version, [v4, v6])).toEqual({
      cniVersion: version,
      ip4: { ip: '10.0.0.5/24', gateway: '10.0.0.1', routes: [{ dst: '0.0.0.0/0' }, { dst: '192.168.0.0/16', gw: '10.0.0.254' }] },
      ip6: { ip: 'fd00::5/64', routes: [{ dst: '::/0' }] },
      dns: mergedDns,
    });
  });

  it.each(SUPPORTED_VERSIONS)('%s: never interfaces, never an interface index; no dns or routes when empty', (version) => {
    const bare: AllocationMessage = { pool: 'p', address: '10.1.0.2/16', gateway: '', family: IpFamily.IP_FAMILY_UNSPECIFIED, routes: [] };
    const result = toCniResult(version, [bare]);
    const text = JSON.stringify(result);
    expect(text).not.toContain('interface');
    expect(result).not.toHaveProperty('dns');
    expect(result).not.toHaveProperty('routes');
    if ('ips' in result && version.startsWith('0.')) expect(result.ips[0]?.version).toBe('4');
  });
});
