import { describe, expect, it } from 'vitest';
import { bar, renderLeases, renderPools, renderPrefixes, table, utilisation } from './render.ts';

describe('berthctl rendering', () => {
  it.each([
    ['0', '254', 0], ['127', '254', 50], ['254', '254', 100], ['1', '18446744073709551614', 0], ['3', '0', 0], ['1', '3', 33.3],
  ])('utilisation(%s of %s) = %s%%', (allocated, size, want) => {
    expect(utilisation(allocated, size)).toBe(want);
  });

  it.each([[0, '[....]'], [50, '[##..]'], [100, '[####]'], [150, '[####]']])('bar(%s)', (percent, want) => {
    expect(bar(percent, 4)).toBe(want);
  });

  it('aligns columns', () => {
    expect(table(['A', 'BB'], [['xyz', '1'], ['q', '22']])).toBe('A    BB\nxyz  1\nq    22\n');
  });

  it('renders pools and leases', () => {
    const pool = { name: 'v4', subnet: '10.0.0.0/24', size: '253', allocated: '23', free: '230', reserved: '3', kind: 'ADDRESS', addressSpace: 'default', strategy: 'roundRobin', cooling: '2', prefixLength: 0 };
    const pools = renderPools([{ ...pool, labels: {} }, { ...pool, name: 'v4b', addressSpace: 'blue', labels: { tier: 'db', zone: 'a' } },
      { ...pool, name: 'nodes', kind: 'PREFIX', subnet: '10.1.0.0/16', size: '256', allocated: '64', free: '192', strategy: 'efficient', cooling: '0', prefixLength: 24, labels: {} }]);
    expect(pools).toMatch(/^POOL\s+KIND\s+SPACE\s+SUBNET\s+USED\s+ALLOCATED\s+COOLING\s+FREE\s+SIZE\s+UNIT\s+STRATEGY\s+LABELS\n/);
    expect(pools).toContain('v4     address  default  10.0.0.0/24  [##..................]  9.0%   23         2        230   253   address  roundRobin  -');
    expect(pools).toContain('v4b    address  blue     10.0.0.0/24  [##..................]  9.0%   23         2        230   253   address  roundRobin  tier=db,zone=a');
    expect(pools).toContain('nodes  prefix   default  10.1.0.0/16  [#####...............]  25.0%  64         0        192   256   /24      efficient   -');
    expect(renderPrefixes([])).toBe('no prefixes\n');
    expect(renderPrefixes([{ pool: 'nodes', prefix: '10.1.4.0/24', owner: 'node/w3', addressSpace: 'default', state: 'COOLING', createdAtUnixMs: 0, reusableAtUnixMs: 60_000 }]))
      .toContain('nodes  10.1.4.0/24  node/w3  cooling until 1970-01-01T00:01:00.000Z  default');
    expect(renderLeases([])).toBe('no leases\n');
    const lease = { pool: 'v4', address: '10.0.0.2', containerId: 'abc', ifname: 'eth0', network: 'n', podNamespace: 'ns', podName: 'p', createdAtUnixMs: 0, addressSpace: 'default' };
    expect(renderLeases([{ ...lease, state: 'ACTIVE', reusableAtUnixMs: 0 }]))
      .toContain('v4    10.0.0.2  active  abc        eth0    n        ns/p  1970-01-01T00:00:00.000Z');
    expect(renderLeases([{ ...lease, state: 'COOLING', reusableAtUnixMs: 60_000 }]))
      .toContain('v4    10.0.0.2  cooling until 1970-01-01T00:01:00.000Z  abc');
  });
});
