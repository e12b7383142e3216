import { describe, expect, it } from 'vitest';
import { formatCidr } from '../ip/address.ts';
import { ConfigError } from './configError.ts';
import { parsePoolConfig } from './parsePoolConfig.ts';

function problemsOf(text: string): string[] {
  try {
    parsePoolConfig(text, 'test.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems.map((problem) => `${problem.path}: ${problem.message}`);
  }
  throw new Error('expected a ConfigError');
}

describe('clusterPools', () => {
  it('parses a file of cluster pools alone, with Calico-sized default blocks per family', () => {
    const config = parsePoolConfig(`
clusterPools:
  - name: pods-v4
    subnet: 10.244.0.0/16
    routes: [{ dst: 0.0.0.0/0 }]
    nodeSelector: { zone: a }
  - name: pods-v6
    subnet: fd00:244::/112
    gateway: none
    exclude: ["fd00:244::ff"]
`, 'test.yaml');
    expect(config.pools).toEqual([]);
    expect(config.clusterPools.map((pool) => ({ name: pool.name, subnet: formatCidr(pool.subnet.network, pool.subnet.prefixLength, pool.family), blockSize: pool.blockSize, gateway: pool.gateway, nodeSelector: pool.nodeSelector, exclude: pool.exclude.length })))
      .toEqual([
        { name: 'pods-v4', subnet: '10.244.0.0/16', blockSize: 26, gateway: 'firstOfBlock', nodeSelector: { zone: 'a' }, exclude: 0 },
        { name: 'pods-v6', subnet: 'fd00:244::/112', blockSize: 122, gateway: 'none', nodeSelector: {}, exclude: 1 },
      ]);
  });

  const refused: { name: string; text: string; problems: string[] }[] = [
    {
      name: 'a block size outside the subnet or too small for a gateway',
      text: `clusterPools:\n  - { name: a, subnet: 10.0.0.0/24, blockSize: 20 }\n  - { name: b, subnet: 10.1.0.0/24, blockSize: 31 }\n`,
      problems: ['clusterPools[0].blockSize: 20 is out of range: use 24 to 30', 'clusterPools[1].blockSize: 31 is out of range: use 24 to 30'],
    },
    {
      name: 'a default block size that does not fit',
      text: `clusterPools:\n  - { name: a, subnet: 10.0.0.0/28 }\n`,
      problems: ['clusterPools[0].blockSize: the default /26 does not fit subnet 10.0.0.0/28 (at most 2^24 blocks): set blockSize, 28 to 30'],
    },
    {
      name: 'overlapping cluster pools, and a cluster pool over a local pool of the same network',
      text: `pools:\n  - { name: local, subnet: 10.9.0.0/24 }\nclusterPools:\n  - { name: a, subnet: 10.0.0.0/16 }\n  - { name: b, subnet: 10.0.128.0/17 }\n  - { name: c, subnet: 10.9.0.0/16 }\n  - { name: d, subnet: 10.9.0.0/16, addressSpace: other }\n`,
      problems: [
        'clusterPools[1].subnet: overlaps clusterPools[0] ("a", 10.0.0.0/16) in address space "default": two cluster pools would claim the same blocks',
        'clusterPools[2].subnet: overlaps pools[0] ("local", 10.9.0.0/24) in address space "default": a block would hand out addresses the local pool also hands out',
      ],
    },
    {
      name: 'names shared with local pools or other cluster pools',
      text: `pools:\n  - { name: x, subnet: 10.9.0.0/24 }\nclusterPools:\n  - { name: x, subnet: 10.0.0.0/16 }\n  - { name: y, subnet: 10.1.0.0/16 }\n  - { name: y, subnet: 10.2.0.0/16 }\n`,
      problems: ['clusterPools[0].name: "x" is already the name of pools[0]', 'clusterPools[2].name: "y" is already the name of clusterPools[1]'],
    },
    {
      name: 'bad fields, each named',
      text: `clusterPools:\n  - { name: a, subnet: 10.0.0.0/16, gateway: last, nodeSelector: { "bad key!": x }, exclude: ["fd00::1"], blocksize: 24 }\n`,
      problems: [
        'clusterPools[0].blocksize: unknown key (did you mean "blockSize"?)',
        'clusterPools[0].nodeSelector.bad key!: "bad key!" is not a valid label name: up to 253 letters, digits, ".", "_", "-" or "/", starting and ending with a letter or digit',
        'clusterPools[0].gateway: last is not one of firstOfBlock, none',
        "clusterPools[0].exclude[0]: fd00::1 is IPv6, but the pool's subnet is IPv4",
      ],
    },
    {
      name: 'not a list',
      text: 'clusterPools: { name: a }\n',
      problems: ['clusterPools: must be a list of cluster pools, not a mapping'],
    },
  ];
  it.each(refused)('refuses $name', ({ text, problems }) => {
    expect(problemsOf(text)).toEqual(problems);
  });
});
