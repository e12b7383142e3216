import { describe, expect, it } from 'vitest';
import { formatAddress, formatCidr } from '../ip/address.ts';
import { ConfigError } from './configError.ts';
import { parsePoolConfig } from './parsePoolConfig.ts';
import type { AddressInterval, PoolConfig } from './types.ts';

const shown = (pool: PoolConfig, intervals: readonly AddressInterval[]) =>
  intervals.map(({ start, end }) => (start === end ? formatAddress(start, pool.family) : `${formatAddress(start, pool.family)}-${formatAddress(end, pool.family)}`));

/** A pool as text, for readable expectations. */
function summary(pool: PoolConfig) {
  return {
    name: pool.name,
    family: pool.family,
    subnet: formatCidr(pool.subnet.network, pool.subnet.prefixLength, pool.family),
    ranges: shown(pool, pool.ranges),
    exclude: shown(pool, pool.exclude),
    gateway: pool.gateway === undefined ? undefined : formatAddress(pool.gateway, pool.family),
    routes: pool.routes,
    dns: pool.dns,
  };
}

function problemsOf(text: string): { path: string; message: string }[] {
  try {
    parsePoolConfig(text, 'test.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).problems];
  }
  throw new Error('expected a ConfigError');
}

const noDns = { nameservers: [], search: [], options: [] };

describe('parsePoolConfig: valid', () => {
  const cases: { name: string; text: string; pools: ReturnType<typeof summary>[] }[] = [
    {
      name: 'the full IPv4 example: ranges sorted, excludes merged, routes and dns canonical',
      text: `
pools:
  - name: pod-v4
    subnet: 10.244.0.0/24
    ranges:
      - { start: 10.244.0.150, end: 10.244.0.200 }
      - { start: 10.244.0.10, end: 10.244.0.99 }
    exclude: [10.244.0.64/28, 10.244.0.50, 10.244.0.70, 10.244.0.80/28, 10.244.0.51]
    gateway: 10.244.0.1
    routes: [{ dst: 0.0.0.0/0 }, { dst: 10.96.0.0/12, gw: 10.244.0.1 }]
    dns: { nameservers: [10.96.0.10], domain: cluster.local, search: [svc.cluster.local], options: [ndots:5] }
`,
      pools: [{
        name: 'pod-v4', family: 4, subnet: '10.244.0.0/24',
        ranges: ['10.244.0.10-10.244.0.99', '10.244.0.150-10.244.0.200'],
        exclude: ['10.244.0.50-10.244.0.51', '10.244.0.64-10.244.0.95'],
        gateway: '10.244.0.1',
        routes: [{ dst: '0.0.0.0/0' }, { dst: '10.96.0.0/12', gw: '10.244.0.1' }],
        dns: { nameservers: ['10.96.0.10'], domain: 'cluster.local', search: ['svc.cluster.local'], options: ['ndots:5'] },
      }],
    },
    {
      name: 'IPv6 with non-canonical text, as JSON',
      text: JSON.stringify({ pools: [{ name: 'pod-v6', subnet: 'FD00:0244:0:0::/64', ranges: [{ start: 'fd00:244::0010', end: 'fd00:244::ffff' }], exclude: ['fd00:244::20', 'fd00:244::100/120'], gateway: 'fd00:244::1', routes: [{ dst: '::/0' }, { dst: '2001:DB8::/32', gw: 'FD00:244::1' }], dns: { nameservers: ['FD00::A'] } }] }),
      pools: [{
        name: 'pod-v6', family: 6, subnet: 'fd00:244::/64',
        ranges: ['fd00:244::10-fd00:244::ffff'], exclude: ['fd00:244::20', 'fd00:244::100-fd00:244::1ff'], gateway: 'fd00:244::1',
        routes: [{ dst: '::/0' }, { dst: '2001:db8::/32', gw: 'fd00:244::1' }], dns: { ...noDns, nameservers: ['fd00::a'] },
      }],
    },
    {
      name: 'no ranges: the whole subnet; /31, /32, /127, /128 and disjoint v4 and v6 pools side by side',
      text: `
pools:
  - { name: p2p, subnet: 192.168.7.0/31 }
  - { name: host, subnet: 192.168.7.9/32 }
  - { name: p2p6, subnet: "2001:db8::/127" }
  - { name: host6, subnet: "2001:db8::1:5/128" }
  - { name: big6, subnet: "fd00::/8" }
`,
      pools: [
        { name: 'p2p', family: 4, subnet: '192.168.7.0/31', ranges: ['192.168.7.0-192.168.7.1'], exclude: [], gateway: undefined, routes: [], dns: noDns },
        { name: 'host', family: 4, subnet: '192.168.7.9/32', ranges: ['192.168.7.9'], exclude: [], gateway: undefined, routes: [], dns: noDns },
        { name: 'p2p6', family: 6, subnet: '2001:db8::/127', ranges: ['2001:db8::-2001:db8::1'], exclude: [], gateway: undefined, routes: [], dns: noDns },
        { name: 'host6', family: 6, subnet: '2001:db8::1:5/128', ranges: ['2001:db8::1:5'], exclude: [], gateway: undefined, routes: [], dns: noDns },
        { name: 'big6', family: 6, subnet: 'fd00::/8', ranges: ['fd00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'], exclude: [], gateway: undefined, routes: [], dns: noDns },
      ],
    },
    {
      name: 'adjacent ranges, excludes reaching outside the ranges, 63-character name',
      text: `
pools:
  - name: ${'a'.repeat(63)}
    subnet: 10.0.0.0/16
    ranges: [{ start: 10.0.1.0, end: 10.0.1.255 }, { start: 10.0.0.0, end: 10.0.0.255 }]
    exclude: [10.0.0.0/23, 10.0.0.0/16]
`,
      pools: [{ name: 'a'.repeat(63), family: 4, subnet: '10.0.0.0/16', ranges: ['10.0.0.0-10.0.0.255', '10.0.1.0-10.0.1.255'], exclude: ['10.0.0.0-10.0.255.255'], gateway: undefined, routes: [], dns: noDns }],
    },
  ];
  it.each(cases)('$name', ({ text, pools }) => {
    expect(parsePoolConfig(text, 'test.yaml').pools.map(summary)).toEqual(pools);
  });

  it('reads a YAML file with a byte order mark and comments', () => {
    expect(parsePoolConfig('\ufeff# pools\npools: [{ name: a, subnet: 10.0.0.0/30 }] # one\n', 'bom.yaml').pools.map((p) => p.name)).toEqual(['a']);
  });
});

describe('parsePoolConfig: invalid', () => {
  const pool = (lines: string) => `pools:\n  - name: ok\n    subnet: 10.1.0.0/24\n${lines}`;
  const cases: { name: string; text: string; path: string; message: RegExp }[] = [
    { name: 'not YAML', text: 'pools: [\n', path: '', message: /not valid YAML or JSON/ },
    { name: 'duplicate keys', text: pool('    gateway: 10.1.0.1\n    gateway: 10.1.0.2\n'), path: '', message: /Map keys must be unique at line 5/ },
    { name: 'unquoted IPv6 ending in :: in a flow mapping', text: pool('    exclude: [fd00::]\n').replace('10.1.0.0/24', '"fd00::/64"').replace('- name: ok', '- { name: ok, gateway: fd00:: }\n  - name: x'), path: '', message: /quote IPv6 addresses/ },
    { name: 'two documents', text: 'pools: []\n---\npools: []\n', path: '', message: /more than one YAML document at line 2/ },
    { name: 'empty document', text: '# nothing\n', path: '', message: /must be a mapping with a "pools" list, not empty/ },
    { name: 'pools missing', text: 'pool: []\n', path: 'pools', message: /is required/ },
    { name: 'unknown top-level key', text: 'pool: []\npools: [{ name: a, subnet: 10.0.0.0/8 }]\n', path: 'pool', message: /unknown key \(did you mean "pools"\?\)/ },
    { name: 'empty pools', text: 'pools: []\n', path: 'pools', message: /is empty/ },
    { name: 'pools not a list', text: 'pools: { name: a }\n', path: 'pools', message: /must be a list of pools, not a mapping/ },
    { name: 'pool not a mapping', text: 'pools: [pod-v4]\n', path: 'pools[0]', message: /must be a mapping/ },
    { name: 'typo in a pool key', text: pool('    rnages: []\n'), path: 'pools[0].rnages', message: /unknown key \(did you mean "ranges"\?\)/ },
    { name: 'unknown pool key', text: pool('    vlan: 7\n'), path: 'pools[0].vlan', message: /unknown key \(expected one of name, kind, addressSpace, labels, subnet/ },
    { name: 'name missing', text: 'pools: [{ subnet: 10.0.0.0/8 }]\n', path: 'pools[0].name', message: /is required/ },
    { name: 'name with capitals', text: 'pools: [{ name: Pod, subnet: 10.0.0.0/8 }]\n', path: 'pools[0].name', message: /Pod is not a valid pool name/ },
    { name: 'name too long', text: `pools: [{ name: ${'a'.repeat(64)}, subnet: 10.0.0.0/8 }]\n`, path: 'pools[0].name', message: /not a valid pool name/ },
    { name: 'name a number', text: 'pools: [{ name: 7, subnet: 10.0.0.0/8 }]\n', path: 'pools[0].name', message: /must be a string, not the number 7/ },
    { name: 'duplicate names', text: 'pools: [{ name: a, subnet: 10.0.0.0/24 }, { name: a, subnet: 10.1.0.0/24 }]\n', path: 'pools[1].name', message: /"a" is already the name of pools\[0\]/ },
    { name: 'subnet missing', text: 'pools: [{ name: a }]\n', path: 'pools[0].subnet', message: /is required: a CIDR/ },
    { name: 'subnet without prefix', text: 'pools: [{ name: a, subnet: 10.0.0.0 }]\n', path: 'pools[0].subnet', message: /10\.0\.0\.0 is not a CIDR \(missing "\/prefix"\)/ },
    { name: 'subnet prefix too long', text: 'pools: [{ name: a, subnet: 10.0.0.0/33 }]\n', path: 'pools[0].subnet', message: /is not a CIDR \(prefix length too long\)/ },
    { name: 'subnet with host bits', text: 'pools: [{ name: a, subnet: 10.244.0.5/24 }]\n', path: 'pools[0].subnet', message: /10\.244\.0\.5\/24 has host bits set; use 10\.244\.0\.0\/24/ },
    { name: 'subnet a number', text: 'pools: [{ name: a, subnet: 10.5 }]\n', path: 'pools[0].subnet', message: /must be a CIDR string, not the number 10.5/ },
    { name: 'overlapping subnets', text: 'pools:\n  - { name: pod-v4, subnet: 10.244.0.0/24 }\n  - { name: b, subnet: 10.245.0.0/24 }\n  - { name: c, subnet: 10.244.0.128/25 }\n', path: 'pools[2].subnet', message: /^overlaps pools\[0\] \("pod-v4", 10\.244\.0\.0\/24\) in address space "default"; pools of one address space/ },
    { name: 'overlapping IPv6 subnets', text: 'pools:\n  - { name: a, subnet: "fd00::/48" }\n  - { name: b, subnet: "fd00:0:0:1::/64" }\n', path: 'pools[1].subnet', message: /overlaps pools\[0\] \("a", fd00::\/48\)/ },
    { name: 'ranges empty', text: pool('    ranges: []\n'), path: 'pools[0].ranges', message: /is empty/ },
    { name: 'ranges not a list', text: pool('    ranges: 10.1.0.5\n'), path: 'pools[0].ranges', message: /must be a list/ },
    { name: 'range end not an address', text: pool('    ranges: [{ start: 10.1.0.10, end: 10.1.0.20 }, { start: 10.1.0.100, end: 10.1.0.300 }]\n'), path: 'pools[0].ranges[1].end', message: /^10\.1\.0\.300 is not an IP address$/ },
    { name: 'range start missing', text: pool('    ranges: [{ end: 10.1.0.20 }]\n'), path: 'pools[0].ranges[0].start', message: /is required/ },
    { name: 'range key typo', text: pool('    ranges: [{ start: 10.1.0.10, ned: 10.1.0.20 }]\n'), path: 'pools[0].ranges[0].ned', message: /did you mean "end"/ },
    { name: 'IPv6 range in an IPv4 pool', text: pool('    ranges: [{ start: "fd00::1", end: "fd00::9" }]\n'), path: 'pools[0].ranges[0].start', message: /fd00::1 is IPv6, but the pool's subnet is IPv4/ },
    { name: 'range start after end', text: pool('    ranges: [{ start: 10.1.0.90, end: 10.1.0.10 }]\n'), path: 'pools[0].ranges[0]', message: /start 10\.1\.0\.90 is after end 10\.1\.0\.10/ },
    { name: 'range outside the subnet', text: pool('    ranges: [{ start: 10.1.0.10, end: 10.1.1.10 }]\n'), path: 'pools[0].ranges[0].end', message: /10\.1\.1\.10 is not inside subnet 10\.1\.0\.0\/24/ },
    { name: 'overlapping ranges', text: pool('    ranges: [{ start: 10.1.0.10, end: 10.1.0.99 }, { start: 10.1.0.150, end: 10.1.0.200 }, { start: 10.1.0.99, end: 10.1.0.120 }]\n'), path: 'pools[0].ranges[2]', message: /overlaps pools\[0\]\.ranges\[0\] \(10\.1\.0\.10-10\.1\.0\.99\)/ },
    { name: 'exclude not a list', text: pool('    exclude: 10.1.0.5\n'), path: 'pools[0].exclude', message: /must be a list of addresses or CIDRs/ },
    { name: 'exclude bad address', text: pool('    exclude: [10.1.0.5, 10.1.0.256]\n'), path: 'pools[0].exclude[1]', message: /10\.1\.0\.256 is not an IP address or CIDR/ },
    { name: 'exclude other family', text: pool('    exclude: ["fd00::/120"]\n'), path: 'pools[0].exclude[0]', message: /is IPv6, but the pool's subnet is IPv4/ },
    { name: 'exclude CIDR with host bits', text: pool('    exclude: [10.1.0.65/28]\n'), path: 'pools[0].exclude[0]', message: /use 10\.1\.0\.64\/28/ },
    { name: 'exclude outside the subnet', text: pool('    exclude: [10.1.1.50]\n'), path: 'pools[0].exclude[0]', message: /10\.1\.1\.50 is not inside subnet 10\.1\.0\.0\/24/ },
    { name: 'gateway outside the subnet', text: pool('    gateway: 10.2.0.1\n'), path: 'pools[0].gateway', message: /10\.2\.0\.1 is not inside subnet 10\.1\.0\.0\/24/ },
    { name: 'gateway is the broadcast address', text: pool('    gateway: 10.1.0.255\n'), path: 'pools[0].gateway', message: /is the broadcast address of 10\.1\.0\.0\/24/ },
    { name: 'gateway of the wrong family', text: pool('    gateway: "fd00::1"\n'), path: 'pools[0].gateway', message: /is IPv6/ },
    { name: 'route dst not a CIDR', text: pool('    routes: [{ dst: 0.0.0.0/0 }, { dst: 10.96.0.0 }]\n'), path: 'pools[0].routes[1].dst', message: /10\.96\.0\.0 is not a CIDR/ },
    { name: 'route dst missing', text: pool('    routes: [{ gw: 10.1.0.1 }]\n'), path: 'pools[0].routes[0].dst', message: /is required/ },
    { name: 'route dst with host bits', text: pool('    routes: [{ dst: 10.96.0.1/12 }]\n'), path: 'pools[0].routes[0].dst', message: /use 10\.96\.0\.0\/12/ },
    { name: 'route gw not an address', text: pool('    routes: [{ dst: 0.0.0.0/0, gw: gateway }]\n'), path: 'pools[0].routes[0].gw', message: /gateway is not an IP address/ },
    { name: 'route of the wrong family', text: pool('    routes: [{ dst: "::/0" }]\n'), path: 'pools[0].routes[0].dst', message: /::\/0 is IPv6/ },
    { name: 'routes not a list', text: pool('    routes: { dst: 0.0.0.0/0 }\n'), path: 'pools[0].routes', message: /must be a list/ },
    { name: 'dns nameserver not an address', text: pool('    dns: { nameservers: [10.96.0.10, kube-dns] }\n'), path: 'pools[0].dns.nameservers[1]', message: /kube-dns is not an IP address/ },
    { name: 'dns unknown key', text: pool('    dns: { nameserver: [10.96.0.10] }\n'), path: 'pools[0].dns.nameserver', message: /did you mean "nameservers"/ },
    { name: 'dns search with a space', text: pool('    dns: { search: ["a b"] }\n'), path: 'pools[0].dns.search[0]', message: /without spaces/ },
    { name: 'dns options not a list', text: pool('    dns: { options: ndots:5 }\n'), path: 'pools[0].dns.options', message: /must be a list of strings/ },
    { name: 'dns domain a number', text: pool('    dns: { domain: 5 }\n'), path: 'pools[0].dns.domain', message: /must be a string/ },
  ];
  it.each(cases)('$name -> $path', ({ text, path, message }) => {
    const problems = problemsOf(text);
    expect(problems.filter((problem) => problem.path === path).map((problem) => problem.message)).toContainEqual(expect.stringMatching(message));
  });

  it('collects every problem, across pools, into one error whose message lists them after the source name', () => {
    const text = `
pools:
  - name: pod-v4
    subnet: 10.244.0.0/24
    rnages: [{ start: 10.244.0.10, end: 10.244.0.99 }]
    gateway: 10.245.0.1
  - name: pod-v4b
    subnet: 10.244.0.0/23
    routes: [{ dst: nowhere }]
    dns: { nameservers: [x] }
`;
    let error: unknown;
    try {
      parsePoolConfig(text, '/etc/berth/pools.yaml');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const configError = error as ConfigError;
    expect(configError.problems.map((problem) => problem.path)).toEqual(['pools[0].rnages', 'pools[0].gateway', 'pools[1].routes[0].dst', 'pools[1].dns.nameservers[0]', 'pools[1].subnet']);
    expect(configError.message).toMatch(/^\/etc\/berth\/pools\.yaml: 5 problems:\n {2}pools\[0\]\.rnages: unknown key/);
    expect(configError.message).toContain('\n  pools[1].subnet: overlaps pools[0] ("pod-v4", 10.244.0.0/24)');
  });

  it('names a single problem on one line', () => {
    expect(() => parsePoolConfig('pools: []', 'x.json')).toThrow(/^x\.json: pools: is empty: configure at least one pool$/);
  });
});

describe('parsePoolConfig: the pool model', () => {
  it('reads address space, labels, strategy, reclaim delay, per-range settings and pre-allocations', () => {
    const config = parsePoolConfig(`pools:
  - name: metal
    addressSpace: blue
    labels: { tier: db, "example.com/zone": a }
    subnet: 192.168.0.0/16
    strategy: lowestFree
    reclaimDelaySeconds: 30
    ranges:
      - { start: 192.168.1.10, end: 192.168.1.20, prefixLength: 24, gateway: 192.168.1.1 }
      - { start: 192.168.2.10, end: 192.168.2.20 }
    preAllocations:
      - { address: 192.168.1.10, pod: db/primary-0 }
      - { address: 192.168.1.11, containerId: abc }
      - { address: 192.168.2.10, labels: { app: router } }
  - { name: same-subnet-other-space, subnet: 192.168.0.0/16 }
`, 't');
    const pool = config.pools[0]!;
    expect(config.deprecations).toBeUndefined();
    expect(pool).toMatchObject({ kind: 'address', addressSpace: 'blue', labels: { tier: 'db', 'example.com/zone': 'a' }, strategy: 'lowestFree', reclaimDelaySeconds: 30 });
    expect(pool.ranges[0]).toMatchObject({ prefixLength: 24, gateway: 0xc0a80101n });
    expect(pool.ranges[1]!.prefixLength).toBeUndefined();
    expect(pool.preAllocations.map((entry) => entry.owner)).toEqual([
      { kind: 'pod', namespace: 'db', name: 'primary-0' }, { kind: 'containerId', containerId: 'abc' }, { kind: 'labels', labels: { app: 'router' } },
    ]);
    expect(config.pools[1]).toMatchObject({ addressSpace: 'default', strategy: 'roundRobin', reclaimDelaySeconds: 0, labels: {}, preAllocations: [] });
  });

  it('accepts the old key network for the address space, and names the pool in its deprecation', () => {
    const config = parsePoolConfig('pools:\n  - { name: red-v4, network: red, subnet: 10.70.0.0/24 }\n  - { name: prefixes, kind: prefix, network: red, subnet: 10.71.0.0/16, prefixLength: 24 }\n', 't');
    expect(config.pools[0]!.addressSpace).toBe('red');
    expect(config.prefixPools[0]!.addressSpace).toBe('red');
    expect(config.deprecations).toEqual([
      'pools[0].network (pool "red-v4"): "network" is deprecated; write "addressSpace: red"',
      'pools[1].network (pool "prefixes"): "network" is deprecated; write "addressSpace: red"',
    ]);
  });

  const pool = (lines: string, subnet = '10.1.0.0/24') => `pools:\n  - name: ok\n    subnet: ${JSON.stringify(subnet)}\n${lines}`;
  it.each([
    { name: 'address space not a name', text: pool('    addressSpace: Blue Net\n'), path: 'pools[0].addressSpace', message: /not a valid address space name/ },
    { name: 'old network key not a name', text: pool('    network: Blue Net\n'), path: 'pools[0].network', message: /not a valid address space name/ },
    { name: 'old and new key together', text: pool('    network: red\n    addressSpace: red\n'), path: 'pools[0].network', message: /is the old name of addressSpace: give addressSpace only/ },
    { name: 'labels not a mapping', text: pool('    labels: [a]\n'), path: 'pools[0].labels', message: /must be a mapping of label names/ },
    { name: 'label value a number', text: pool('    labels: { tier: 1 }\n'), path: 'pools[0].labels.tier', message: /must be a string, not the number 1 \(quote it\)/ },
    { name: 'label name invalid', text: pool('    labels: { "-x": a }\n'), path: 'pools[0].labels.-x', message: /not a valid label name/ },
    { name: 'unknown strategy', text: pool('    strategy: fastest\n'), path: 'pools[0].strategy', message: /fastest is not one of roundRobin, lowestFree, random/ },
    { name: 'prefix strategy on an address pool', text: pool('    strategy: efficient\n'), path: 'pools[0].strategy', message: /not one of roundRobin/ },
    { name: 'negative reclaim delay', text: pool('    reclaimDelaySeconds: -1\n'), path: 'pools[0].reclaimDelaySeconds', message: /out of range: use 0 to 604800/ },
    { name: 'fractional reclaim delay', text: pool('    reclaimDelaySeconds: 1.5\n'), path: 'pools[0].reclaimDelaySeconds', message: /whole number/ },
    { name: 'range prefix shorter than the subnet', text: pool('    ranges: [{ start: 10.1.0.10, end: 10.1.0.20, prefixLength: 16 }]\n'), path: 'pools[0].ranges[0].prefixLength', message: /16 is out of range: use 24 to 32/ },
    { name: 'range across its own prefix', text: pool('    ranges: [{ start: 10.1.0.10, end: 10.1.0.200, prefixLength: 25 }]\n'), path: 'pools[0].ranges[0].prefixLength', message: /10\.1\.0\.10 and end 10\.1\.0\.200 are not in one \/25/ },
    { name: 'range gateway outside its prefix', text: pool('    ranges: [{ start: 10.1.0.2, end: 10.1.0.12, prefixLength: 28, gateway: 10.1.0.100 }]\n'), path: 'pools[0].ranges[0].gateway', message: /10\.1\.0\.100 is not inside subnet 10\.1\.0\.0\/28/ },
    { name: 'range gateway is the broadcast', text: pool('    ranges: [{ start: 10.1.0.1, end: 10.1.0.5, prefixLength: 29, gateway: 10.1.0.7 }]\n'), path: 'pools[0].ranges[0].gateway', message: /broadcast address of 10\.1\.0\.0\/29/ },
    { name: 'range gateway of the wrong family', text: pool('    ranges: [{ start: 10.1.0.1, end: 10.1.0.5, gateway: "fd00::1" }]\n'), path: 'pools[0].ranges[0].gateway', message: /IPv6, but the pool's subnet is IPv4/ },
    { name: 'pre-allocation outside the ranges', text: pool('    ranges: [{ start: 10.1.0.10, end: 10.1.0.20 }]\n    preAllocations: [{ address: 10.1.0.30, pod: a/b }]\n'), path: 'pools[0].preAllocations[0].address', message: /10\.1\.0\.30 cannot be handed out by this pool/ },
    { name: 'pre-allocation on the gateway', text: pool('    gateway: 10.1.0.1\n    preAllocations: [{ address: 10.1.0.1, pod: a/b }]\n'), path: 'pools[0].preAllocations[0].address', message: /cannot be handed out/ },
    { name: 'pre-allocation excluded', text: pool('    exclude: [10.1.0.8/30]\n    preAllocations: [{ address: 10.1.0.9, containerId: c }]\n'), path: 'pools[0].preAllocations[0].address', message: /cannot be handed out/ },
    { name: 'pre-allocation twice for one address', text: pool('    preAllocations: [{ address: 10.1.0.9, pod: a/b }, { address: 10.1.0.9, pod: a/c }]\n'), path: 'pools[0].preAllocations[1].address', message: /10\.1\.0\.9 is already pre-allocated by pools\[0\]\.preAllocations\[0\]/ },
    { name: 'pre-allocation twice for one owner', text: pool('    preAllocations: [{ address: 10.1.0.9, labels: { a: x, b: y } }, { address: 10.1.0.10, labels: { b: y, a: x } }]\n'), path: 'pools[0].preAllocations[1]', message: /same owner already has pools\[0\]\.preAllocations\[0\]/ },
    { name: 'pre-allocation without owner', text: pool('    preAllocations: [{ address: 10.1.0.9 }]\n'), path: 'pools[0].preAllocations[0]', message: /names no owner: give exactly one of pod/ },
    { name: 'pre-allocation with two owners', text: pool('    preAllocations: [{ address: 10.1.0.9, pod: a/b, containerId: c }]\n'), path: 'pools[0].preAllocations[0]', message: /names pod and containerId: give exactly one owner/ },
    { name: 'pre-allocation pod not namespace/name', text: pool('    preAllocations: [{ address: 10.1.0.9, pod: justname }]\n'), path: 'pools[0].preAllocations[0].pod', message: /justname is not "namespace\/name"/ },
    { name: 'pre-allocation with empty labels', text: pool('    preAllocations: [{ address: 10.1.0.9, labels: {} }]\n'), path: 'pools[0].preAllocations[0].labels', message: /would match every pod/ },
    { name: 'pre-allocation address of the wrong family', text: pool('    preAllocations: [{ address: "fd00::9", pod: a/b }]\n'), path: 'pools[0].preAllocations[0].address', message: /IPv6, but the pool's subnet is IPv4/ },
    { name: 'IPv6 pre-allocation outside the subnet', text: pool('    preAllocations: [{ address: "fd01::9", pod: a/b }]\n', 'fd00::/64'), path: 'pools[0].preAllocations[0].address', message: /fd01::9 cannot be handed out/ },
    { name: 'unknown pool kind', text: pool('    kind: vlan\n'), path: 'pools[0].kind', message: /vlan is not a pool kind: use "address" .* or "prefix"/ },
    { name: 'same subnet twice in one address space', text: 'pools:\n  - { name: a, addressSpace: red, subnet: 10.0.0.0/24 }\n  - { name: b, addressSpace: red, subnet: 10.0.0.128/25 }\n', path: 'pools[1].subnet', message: /overlaps pools\[0\] \("a", 10\.0\.0\.0\/24\) in address space "red"/ },
  ])('$name -> $path', ({ text, path, message }) => {
    const problems = problemsOf(text);
    expect(problems.filter((problem) => problem.path === path).map((problem) => problem.message), JSON.stringify(problems)).toContainEqual(expect.stringMatching(message));
  });
});
