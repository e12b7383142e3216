import { describe, expect, it } from 'vitest';
import { formatAddress } from '../ip/address.ts';
import { diffPools } from './diffConfig.ts';
import { parsePoolConfig } from './parsePoolConfig.ts';

const config = (pools: string) => parsePoolConfig(`pools:\n${pools}`, 'test');
const A = '  - { name: a, subnet: 10.0.0.0/24, gateway: 10.0.0.1 }\n';
const B6 = '  - { name: b, subnet: "fd00::/64" }\n';

describe('diffPools', () => {
  const cases: { name: string; before: string; after: string; added: string[]; removed: string[]; changed: string[]; shrunk: Record<string, string[]> }[] = [
    { name: 'identical, whatever the spelling', before: A + B6, after: '  - { name: b, subnet: "FD00:0::/64" }\n  - { name: a, gateway: 10.0.0.1, subnet: 10.0.0.0/24 }\n', added: [], removed: [], changed: [], shrunk: {} },
    { name: 'a pool added and one removed', before: A, after: B6, added: ['b'], removed: ['a'], changed: [], shrunk: {} },
    { name: 'grown subnet: changed, nothing lost', before: A, after: '  - { name: a, subnet: 10.0.0.0/23, gateway: 10.0.0.1 }\n', added: [], removed: [], changed: ['a'], shrunk: {} },
    { name: 'only dns changed: changed, nothing lost', before: A, after: '  - { name: a, subnet: 10.0.0.0/24, gateway: 10.0.0.1, dns: { nameservers: [10.0.0.53] } }\n', added: [], removed: [], changed: ['a'], shrunk: {} },
    {
      name: 'narrowed range and a new exclude',
      before: A,
      after: '  - { name: a, subnet: 10.0.0.0/24, gateway: 10.0.0.1, ranges: [{ start: 10.0.0.10, end: 10.0.0.200 }], exclude: [10.0.0.100] }\n',
      added: [], removed: [], changed: ['a'], shrunk: { a: ['10.0.0.2-10.0.0.9', '10.0.0.100', '10.0.0.201-10.0.0.254'] },
    },
    { name: 'gateway moved onto an allocatable address', before: A, after: '  - { name: a, subnet: 10.0.0.0/24, gateway: 10.0.0.254 }\n', added: [], removed: [], changed: ['a'], shrunk: { a: ['10.0.0.254'] } },
    { name: 'shrunk /64 without walking it', before: B6, after: '  - { name: b, subnet: "fd00::/65" }\n', added: [], removed: [], changed: ['b'], shrunk: { b: ['fd00::8000:0:0:0-fd00::ffff:ffff:ffff:ffff'] } },
    { name: 'a pool that switched family loses everything it had', before: '  - { name: a, subnet: 10.0.0.0/30 }\n', after: '  - { name: a, subnet: "::/126" }\n', added: [], removed: [], changed: ['a'], shrunk: { a: ['10.0.0.1-10.0.0.2'] } },
  ];
  it.each(cases)('$name', ({ before, after, added, removed, changed, shrunk }) => {
    const diff = diffPools(config(before), config(after));
    expect(diff.added.map((pool) => pool.name)).toEqual(added);
    expect(diff.removed).toEqual(removed);
    expect(diff.changed).toEqual(changed);
    expect(Object.fromEntries(diff.shrunk.map(({ pool, previous, lost }) => [
      pool.name,
      lost.map(({ start, end }) => (start === end ? formatAddress(start, previous.family) : `${formatAddress(start, previous.family)}-${formatAddress(end, previous.family)}`)),
    ]))).toEqual(shrunk);
  });
});
