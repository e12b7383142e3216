// The pool model on a real SQLite file, each rule on IPv4 and on IPv6: address spaces,
// per-range gateway and prefix, pre-allocations, reclaim delay, strategies, selectors.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parsePoolConfig } from '../config/parsePoolConfig.ts';
import { AddressInUseError, AddressOutsidePoolError, AmbiguousPoolSelectorError, InvalidArgumentError, PoolExhaustedError, UnknownPoolError } from '../errors.ts';
import { toAllocationMessage } from '../grpc/messages.ts';
import { formatAddress } from '../ip/address.ts';
import { CommitQueue } from '../store/commitQueue.ts';
import { LeaseStore } from '../store/leaseStore.ts';
import type { AllocateCommand } from './serviceCommands.ts';
import { reclaimCooled } from './cooledLeaseReclaim.ts';
import { IpamService, type Allocation } from './ipamService.ts';
import { PoolCatalogue } from './poolCatalogue.ts';

const log = pino({ level: 'silent' });
let dir: string;
let store: LeaseStore;
let pools: PoolCatalogue;
let service: IpamService;
let commitQueue: CommitQueue;
const clock = { ms: 1_000_000 };

function open(config: string): void {
  store?.close();
  store = LeaseStore.open(join(dir, 'leases.db'));
  pools = PoolCatalogue.load(parsePoolConfig(config, 'test'), store);
  commitQueue = new CommitQueue(store, { maxQueued: 10_000, maxBatch: 512 });
  service = new IpamService({ store, commitQueue, pools, bootId: 'b', now: () => clock.ms });
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-model-'));
  clock.ms = 1_000_000;
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const allocate = (containerId: string, poolNames: string[], extra: Partial<AllocateCommand> = {}) =>
  service.allocate({
    containerId, ifname: 'eth0', pools: poolNames, requestedIps: [], podNamespace: 'ns', podName: containerId, podUid: '', netns: '',
    network: 'net', podLabels: {}, poolSelector: {}, ...extra,
  }, log);
const release = (containerId: string) => service.release({ containerId, ifname: 'eth0', pools: [] }, log);
const shown = (allocations: readonly Allocation[]) => allocations.map((a) => formatAddress(a.address, a.family));
const one = async (promise: Promise<Allocation[]>) => shown(await promise)[0];

/** The same layout in both families: `at(n)` is the n-th address of the subnet. */
const families = [
  { family: 4, subnet: '10.20.0.0/24', at: (n: number) => `10.20.0.${n}`, other: '10.30.0.0/24' },
  { family: 6, subnet: 'fd00:20::/64', at: (n: number) => `fd00:20::${n.toString(16)}`, other: 'fd00:30::/64' },
] as const;

describe.each(families)('IPv$family', ({ subnet, at, other }) => {
  const q = (text: string) => JSON.stringify(text);

  it('address spaces: the same subnet in two address spaces hands out the same addresses independently', async () => {
    open(`pools:
  - { name: red, addressSpace: red, subnet: ${q(subnet)} }
  - { name: blue, addressSpace: blue, subnet: ${q(subnet)} }
`);
    expect(await one(allocate('r1', ['red']))).toBe(at(1));
    expect(await one(allocate('b1', ['blue']))).toBe(at(1));
    expect(await one(allocate('b2', ['blue'], { requestedIps: [at(7)] }))).toBe(at(7));
    expect(await one(allocate('r2', ['red'], { requestedIps: [at(7)] }))).toBe(at(7));
    await expect(allocate('r3', ['red'], { requestedIps: [at(7)] })).rejects.toThrow(AddressInUseError);
    expect(store.listLeases({ addressSpace: 'blue' }).map((l) => l.containerId)).toEqual(['b1', 'b2']);
    // After a restart each address space's pool loads only its own held addresses.
    open(`pools:
  - { name: red, addressSpace: red, subnet: ${q(subnet)} }
  - { name: blue, addressSpace: blue, subnet: ${q(subnet)} }
`);
    expect(pools.find('address', 'red')!.taken.size).toBe(2n);
    expect(await one(allocate('r4', ['red']))).toBe(at(2));
    await release('b1');
    // Releasing blue's copy of an address leaves red's alone.
    const redAddress = store.leasesOfAttachment('r1', 'eth0')[0]!.address;
    expect(store.leaseAt('red', redAddress)?.containerId).toBe('r1');
    expect(store.leaseAt('blue', redAddress)).toBeUndefined();
    expect(pools.find('address', 'red')!.taken.has(redAddress)).toBe(true);
    expect(pools.find('address', 'blue')!.taken.has(redAddress)).toBe(false);
  });

  it('per-range gateway and prefix length: each address reports its own range', async () => {
    open(`pools:
  - name: metal
    subnet: ${q(subnet)}
    gateway: ${q(at(1))}
    ranges:
      - { start: ${q(at(10))}, end: ${q(at(11))} }
      - { start: ${q(at(64))}, end: ${q(at(66))}, prefixLength: ${subnet.endsWith('/24') ? 26 : 120}, gateway: ${q(at(65))} }
`);
    const rangePrefix = subnet.endsWith('/24') ? 26 : 120;
    const subnetPrefix = Number(subnet.split('/')[1]);
    // The range gateway .65 is never handed out; for IPv4 .64 is the /26's network address.
    const ipv4 = subnet.endsWith('/24');
    const allocations: Allocation[] = [];
    for (let i = 1; i <= (ipv4 ? 3 : 4); i++) allocations.push(...await allocate(`m${i}`, ['metal']));
    const messages = allocations.map(toAllocationMessage);
    expect(messages.map((m) => [m.address, m.gateway])).toEqual([
      [`${at(10)}/${subnetPrefix}`, at(1)],
      [`${at(11)}/${subnetPrefix}`, at(1)],
      [`${ipv4 ? at(66) : at(64)}/${rangePrefix}`, at(65)],
      ...(ipv4 ? [] : [[`${at(66)}/${rangePrefix}`, at(65)]]),
    ]);
    await expect(allocate('m5', ['metal'])).rejects.toThrow(PoolExhaustedError);
    await release('m1');
    await expect(allocate('m6', ['metal'], { requestedIps: [`${at(10)}/${rangePrefix}`] })).rejects.toThrow(/prefix length \/\d+ but pool "metal" is a \//);
    await expect(allocate('m7', ['metal'], { requestedIps: [at(65)] })).rejects.toThrow(AddressOutsidePoolError);
  }, 10_000);

  it('pre-allocations: by pod, container id and labels; nobody else ever gets the address', async () => {
    open(`pools:
  - name: static
    subnet: ${q(subnet)}
    ranges: [{ start: ${q(at(10))}, end: ${q(at(14))} }]
    preAllocations:
      - { address: ${q(at(10))}, pod: db/primary-0 }
      - { address: ${q(at(11))}, containerId: cafe01 }
      - { address: ${q(at(12))}, labels: { app: router, zone: a } }
`);
    // Free allocation skips every pre-allocated address, even when that exhausts the pool.
    expect(await one(allocate('x1', ['static']))).toBe(at(13));
    expect(await one(allocate('x2', ['static']))).toBe(at(14));
    await expect(allocate('x3', ['static'])).rejects.toThrow(PoolExhaustedError);
    // Nobody else may ask for them.
    await expect(allocate('x4', ['static'], { requestedIps: [at(10)] })).rejects.toThrow(/pre-allocated to pod db\/primary-0/);
    // The owners get them, whichever way they are identified.
    expect(await one(allocate('any-container', ['static'], { podNamespace: 'db', podName: 'primary-0' }))).toBe(at(10));
    expect(await one(allocate('cafe01', ['static']))).toBe(at(11));
    await expect(allocate('partial', ['static'], { podLabels: { app: 'router' } })).rejects.toThrow(PoolExhaustedError);
    expect(await one(allocate('r1', ['static'], { podLabels: { app: 'router', zone: 'a', extra: 'x' } }))).toBe(at(12));
    // A second pod matching the same labels while the first holds it: a precise conflict.
    await expect(allocate('r2', ['static'], { podLabels: { app: 'router', zone: 'a' } })).rejects.toThrow(/leased to container r1/);
    // An owner asking for a different address is told which one is theirs.
    await release('cafe01');
    await expect(allocate('cafe01', ['static'], { requestedIps: [at(13)] })).rejects.toThrow(InvalidArgumentError);
    expect(pools.find('address', 'static')!.usage()).toMatchObject({ size: 5n, preAllocated: 3n, free: 0n });
  });

  it('reclaim delay: a released address cools down, its owner gets it back, others wait', async () => {
    open(`pools:
  - { name: cool, subnet: ${q(subnet)}, ranges: [{ start: ${q(at(10))}, end: ${q(at(11))} }], reclaimDelaySeconds: 30, strategy: lowestFree }
`);
    expect(await one(allocate('a', ['cool'], { podName: 'web-0' }))).toBe(at(10));
    await release('a');
    expect(store.listLeases({ state: 'cooling' }).map((l) => [formatAddress(l.address, l.family), l.reusableAtMs])).toEqual([[at(10), 1_030_000]]);
    expect(pools.find('address', 'cool')!.usage()).toMatchObject({ allocated: 1n, cooling: 1n, free: 1n });
    // lowestFree would pick .10, but it is cooling: someone else gets .11.
    expect(await one(allocate('b', ['cool'], { podName: 'other' }))).toBe(at(11));
    await expect(allocate('c', ['cool'], { podName: 'third' })).rejects.toThrow(PoolExhaustedError);
    await expect(allocate('d', ['cool'], { podName: 'fourth', requestedIps: [at(10)] })).rejects.toThrow(/cooling down after container a .*free for others in 30 s/);
    // The same pod, restarted under a new container id, gets its old address back.
    expect(await one(allocate('a-restarted', ['cool'], { podName: 'web-0' }))).toBe(at(10));
    expect(store.listLeases({ state: 'cooling' })).toEqual([]);
    await release('a-restarted');
    clock.ms += 29_999;
    expect(await reclaimCooled({ store, commitQueue, pools, now: () => clock.ms }, log)).toBe(0);
    clock.ms += 1;
    expect(await reclaimCooled({ store, commitQueue, pools, now: () => clock.ms }, log)).toBe(1);
    expect(pools.find('address', 'cool')!.usage()).toMatchObject({ allocated: 1n, cooling: 0n, free: 1n });
    expect(await one(allocate('e', ['cool'], { podName: 'fifth' }))).toBe(at(10));
  });

  it('reclaim delay survives a restart', async () => {
    const config = `pools: [{ name: cool, subnet: ${q(subnet)}, reclaimDelaySeconds: 60, strategy: lowestFree }]\n`;
    open(config);
    expect(await one(allocate('a', ['cool']))).toBe(at(1));
    await release('a');
    open(config);
    expect(pools.find('address', 'cool')!.coolingCount).toBe(1);
    expect(await one(allocate('b', ['cool']))).toBe(at(2));
    expect(await one(allocate('a', ['cool']))).toBe(at(1));
  });

  it.each([
    ['roundRobin', [1, 2, 3, 4]],
    ['lowestFree', [1, 2, 1, 4]],
  ] as const)('strategy %s', async (strategy, expected) => {
    open(`pools: [{ name: s, subnet: ${q(subnet)}, strategy: ${strategy} }]\n`);
    const got = [await one(allocate('a', ['s'])), await one(allocate('b', ['s']))];
    await release('a');
    got.push(await one(allocate('c', ['s'])), await one(allocate('d', ['s'], { requestedIps: [at(4)] })));
    expect(got).toEqual(expected.map(at));
  });

  it('strategy random: spread over the pool, each address once, exhaustion precise', async () => {
    open(`pools: [{ name: r, subnet: ${q(subnet)}, strategy: random, ranges: [{ start: ${q(at(1))}, end: ${q(at(40))} }] }]\n`);
    const got = [];
    for (let i = 0; i < 40; i++) got.push(await one(allocate(`c${i}`, ['r'])));
    expect(new Set(got).size).toBe(40);
    expect(got).not.toEqual(Array.from({ length: 40 }, (_, i) => at(i + 1)));
    await expect(allocate('full', ['r'])).rejects.toThrow(PoolExhaustedError);
  });

  it('pool selectors: by labels, one pool per family, precise errors', async () => {
    const v4First = subnet.includes('.');
    open(`pools:
  - { name: a, subnet: ${q(subnet)}, labels: { tier: db, zone: a } }
  - { name: b, subnet: ${q(other)}, labels: { tier: db, zone: b } }
  - { name: dual, subnet: ${q(v4First ? 'fd00:99::/64' : '10.99.0.0/24')}, labels: { tier: db, zone: a } }
`);
    const picked = await allocate('s1', [], { poolSelector: { zone: 'a' } });
    expect(picked.map((a) => a.pool.name)).toEqual(v4First ? ['a', 'dual'] : ['dual', 'a']);
    await expect(allocate('s2', [], { poolSelector: { tier: 'db' } })).rejects.toThrow(AmbiguousPoolSelectorError);
    await expect(allocate('s2', [], { poolSelector: { tier: 'db' } })).rejects.toThrow(/matches 2 IPv\d pools \("a", "b"\)/);
    await expect(allocate('s3', [], { poolSelector: { tier: 'cache' } })).rejects.toThrow(UnknownPoolError);
    await expect(allocate('s3', [], { poolSelector: { tier: 'cache' } })).rejects.toThrow(/no pool matches selector \{tier=cache\}/);
    await expect(allocate('s4', ['a'], { poolSelector: { zone: 'a' } })).rejects.toThrow(/not both/);
    await expect(allocate('s5', [])).rejects.toThrow(/name at least one pool, or give a pool selector/);
    expect(service.check({ containerId: 's1', ifname: 'eth0', pools: [], expectedAddresses: [], poolSelector: { zone: 'a' } })).toHaveLength(2);
  });
});

describe('dual-stack selector stays atomic', () => {
  it('allocates both families or neither', async () => {
    open(`pools:
  - { name: v4, subnet: 10.40.0.0/30, labels: { net: blue } }
  - { name: v6, subnet: "fd00:40::/64", labels: { net: blue } }
`);
    expect(shown(await allocate('a', [], { poolSelector: { net: 'blue' } }))).toEqual(['10.40.0.1', 'fd00:40::1']);
    expect(shown(await allocate('b', [], { poolSelector: { net: 'blue' } }))).toEqual(['10.40.0.2', 'fd00:40::2']);
    await expect(allocate('c', [], { poolSelector: { net: 'blue' } })).rejects.toThrow(PoolExhaustedError);
    expect(store.leasesOfAttachment('c', 'eth0')).toEqual([]);
    expect(pools.find('address', 'v6')!.taken.size).toBe(2n);
  });
});
