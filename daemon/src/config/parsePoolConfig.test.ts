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
    { name: 'unknown pool key', text: pool('    vlan: 7\n'), path: 'pools[0].vlan', message: /unknown key \(expected one of name, kind, network, labels, subnet/ },
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
    { name: 'overlapping subnets', text: 'pools:\n  - { name: pod-v4, subnet: 10.244.0.0/24 }\n  - { name: b, subnet: 10.245.0.0/24 }\n  - { name: c, subnet: 10.244.0.128/25 }\n', path: 'pools[2].subnet', message: /^overlaps pools\[0\] \("pod-v4", 10\.244\.0\.0\/24\) in network "default"; pools of one network/ },
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
