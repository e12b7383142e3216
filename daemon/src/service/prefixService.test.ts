// Prefix pools on a real SQLite file, each rule on IPv4 and on IPv6: strategies, reserved
// subnets, requested prefixes, one prefix per owner, reclaim delay, restarts, exhaustion.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parsePoolConfig } from '../config/parsePoolConfig.ts';
import { AddressOutsidePoolError, InvalidArgumentError, PoolExhaustedError, PrefixInUseError, UnknownPoolError } from '../errors.ts';
import { formatCidr } from '../ip/address.ts';
import { CommitQueue } from '../store/commitQueue.ts';
import { LeaseStore } from '../store/leaseStore.ts';
import { reclaimCooled } from './cooledLeaseReclaim.ts';
import { PoolCatalogue } from './poolCatalogue.ts';
import { PrefixService } from './prefixService.ts';
import type { AllocatePrefixCommand } from './serviceCommands.ts';

const log = pino({ level: 'silent' });
let dir: string;
let store: LeaseStore;
let service: PrefixService;
let pools: PoolCatalogue;
let commitQueue: CommitQueue;
const clock = { ms: 1_000_000 };

function open(config: string): void {
  store?.close();
  store = LeaseStore.open(join(dir, 'leases.db'));
  pools = PoolCatalogue.load(parsePoolConfig(config, 'test'), store);
  commitQueue = new CommitQueue(store, { maxQueued: 10_000, maxBatch: 512 });
  service = new PrefixService({ store, commitQueue, pools, now: () => clock.ms });
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-prefix-'));
  clock.ms = 1_000_000;
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const allocate = async (pool: string, owner: string, extra: Partial<AllocatePrefixCommand> = {}) => {
  const lease = await service.allocatePrefix({ pool, owner, prefixLength: 0, requestedPrefix: '', ...extra }, log);
  return formatCidr(lease.first, lease.prefixLength, lease.family);
};
const release = (pool: string, owner: string) => service.releasePrefix({ pool, owner }, log);

/** The same layout in both families: a parent carved into children; `child(n)` is the n-th. */
const families = [
  { family: 4, parent: '10.40.0.0/22', length: 24, child: (n: number) => `10.40.${n}.0/24`, count: 4, half: (n: number) => `10.40.${n * 2}.0/23`, hostBitsSet: '10.40.1.1/24' },
  { family: 6, parent: 'fd00:40::/62', length: 64, child: (n: number) => (n === 0 ? 'fd00:40::/64' : `fd00:40:0:${n}::/64`), count: 4, half: (n: number) => (n === 0 ? 'fd00:40::/63' : `fd00:40:0:${n * 2}::/63`), hostBitsSet: 'fd00:40:0:1::1/64' },
] as const;

describe.each(families)('IPv$family prefix pools', ({ parent, length, child, count, half, hostBitsSet }) => {
  const pool = (extra = '') => `
pools:
  - { name: addr, subnet: ${parent.includes(':') ? '"fd00:99::/64"' : '10.99.0.0/24'} }
  - { name: nodes, kind: prefix, subnet: "${parent}", prefixLength: ${length}${extra} }
`;

  it('sequential hands out the prefixes in order, one per owner, idempotently, then is exhausted', async () => {
    open(pool(', strategy: sequential'));
    const got = [];
    for (let n = 0; n < count; n++) got.push(await allocate('nodes', `node/w${n}`));
    expect(got).toEqual(Array.from({ length: count }, (_, n) => child(n)));
    expect(await allocate('nodes', 'node/w1')).toBe(child(1));
    const exhausted = await allocate('nodes', 'node/late').catch((error: unknown) => error);
    expect(exhausted).toBeInstanceOf(PoolExhaustedError);
    expect((exhausted as Error).message).toMatch(/pool "nodes" is exhausted: all 4 \/\d+ prefixes are held/);
    expect(pools.find('prefix', 'nodes')!.usage()).toMatchObject({ size: 4n, allocated: 4n, free: 0n });
  });

  it('efficient keeps a whole larger block free; sequential would split it', async () => {
    open(pool());
    expect(await allocate('nodes', 'a', { requestedPrefix: child(1) })).toBe(child(1));
    // Free: child 0 (a lone prefix) and children 2-3 (a whole half). Best fit fills child 0.
    expect(await allocate('nodes', 'b')).toBe(child(0));
    // A request for a half now gets the intact one.
    expect(await allocate('nodes', 'c', { prefixLength: length - 1 })).toBe(half(1));
  });

  it('reserved subnets are never handed out, and requesting one names it', async () => {
    open(pool(`, reservedSubnets: ["${child(0)}", "${child(2)}"]`));
    expect(pools.find('prefix', 'nodes')!.usage()).toMatchObject({ size: 2n, reserved: 2n, free: 2n });
    expect(await allocate('nodes', 'a')).toBe(child(1));
    expect(await allocate('nodes', 'b')).toBe(child(3));
    await expect(allocate('nodes', 'c')).rejects.toBeInstanceOf(PoolExhaustedError);
    const reserved = await allocate('nodes', 'c', { requestedPrefix: child(2) }).catch((error: unknown) => error);
    expect(reserved).toBeInstanceOf(AddressOutsidePoolError);
    expect((reserved as Error).message).toContain(`overlaps a reserved subnet of pool "nodes" (${child(0)}, ${child(2)})`);
  });

  it('requested prefixes: taken, overlapping, outside, malformed, wrong length', async () => {
    open(pool());
    expect(await allocate('nodes', 'a', { requestedPrefix: child(2) })).toBe(child(2));
    const taken = await allocate('nodes', 'b', { requestedPrefix: child(2) }).catch((error: unknown) => error);
    expect(taken).toBeInstanceOf(PrefixInUseError);
    expect((taken as Error).message).toBe(`prefix ${child(2)} in pool "nodes" is held by owner "a"`);
    const overlapping = await allocate('nodes', 'b', { requestedPrefix: half(1) }).catch((error: unknown) => error);
    expect((overlapping as Error).message).toBe(`prefix ${half(1)} in pool "nodes" is held by owner "a" (it overlaps ${child(2)})`);
    await expect(allocate('nodes', 'b', { requestedPrefix: parent.includes(':') ? 'fd00:41::/64' : '10.41.0.0/24' })).rejects.toBeInstanceOf(AddressOutsidePoolError);
    await expect(allocate('nodes', 'b', { requestedPrefix: 'bogus' })).rejects.toThrow(/requested_prefix: "bogus" is not a CIDR/);
    await expect(allocate('nodes', 'b', { requestedPrefix: hostBitsSet })).rejects.toThrow(`has host bits set; did you mean ${child(1)}?`);
    await expect(allocate('nodes', 'b', { requestedPrefix: child(1), prefixLength: length + 1 })).rejects.toThrow(/prefix_length asks for/);
    await expect(allocate('nodes', 'b', { prefixLength: 8 })).rejects.toThrow(/does not fit pool "nodes"/);
    // The owner holding one cannot ask for another.
    const second = await allocate('nodes', 'a', { requestedPrefix: child(3) }).catch((error: unknown) => error);
    expect((second as Error).message).toContain(`owner "a" already holds ${child(2)} in pool "nodes" (one prefix per owner per pool)`);
  });

  it('reclaim delay: a released prefix cools down, its owner gets it back, others wait', async () => {
    open(pool(', reclaimDelaySeconds: 30, strategy: sequential'));
    expect(await allocate('nodes', 'a')).toBe(child(0));
    const [released] = await release('nodes', 'a');
    expect(released?.state).toBe('cooling');
    expect(await release('nodes', 'a')).toEqual([]);
    expect(service.listPrefixes({ pool: 'nodes' }).map((lease) => lease.state)).toEqual(['cooling']);
    const cooling = await allocate('nodes', 'b', { requestedPrefix: child(0) }).catch((error: unknown) => error);
    expect((cooling as Error).message).toBe(`prefix ${child(0)} in pool "nodes" is cooling down after owner "a" released it; it is free for others in 30 s`);
    expect(await allocate('nodes', 'b')).toBe(child(1));
    expect(await allocate('nodes', 'a')).toBe(child(0));
    await release('nodes', 'a');
    clock.ms += 30_000;
    expect(await reclaimCooled({ store, commitQueue, pools, now: () => clock.ms }, log)).toBe(1);
    expect(await allocate('nodes', 'c', { requestedPrefix: child(0) })).toBe(child(0));
  });

  it('survives a restart: held and cooling prefixes stay held', async () => {
    open(pool(', reclaimDelaySeconds: 30, strategy: sequential'));
    await allocate('nodes', 'a');
    await allocate('nodes', 'b');
    await release('nodes', 'b');
    open(pool(', reclaimDelaySeconds: 30, strategy: sequential'));
    expect(pools.find('prefix', 'nodes')!.usage()).toMatchObject({ allocated: 2n, cooling: 1n, free: 2n });
    expect(await allocate('nodes', 'c')).toBe(child(2));
    expect(await allocate('nodes', 'b')).toBe(child(1));
  });

  it('names the wrong kind of pool and unknown pools; checks the owner', async () => {
    open(pool());
    await expect(allocate('addr', 'a')).rejects.toThrow(/pool "addr" is an address pool/);
    await expect(allocate('addr', 'a')).rejects.toBeInstanceOf(InvalidArgumentError);
    const unknown = await allocate('nope', 'a').catch((error: unknown) => error);
    expect(unknown).toBeInstanceOf(UnknownPoolError);
    expect((unknown as Error).message).toBe('unknown prefix pool "nope" (configured prefix pools: nodes)');
    await expect(allocate('nodes', '')).rejects.toThrow(/owner is required/);
    await expect(allocate('nodes', 'has space')).rejects.toThrow(/printable ASCII without spaces/);
    expect(await release('gone-pool', 'a')).toEqual([]);
  });
});

describe('prefix pools in two address spaces', () => {
  it('hand out the same prefix independently; pools of one address space never share one', async () => {
    open(`
pools:
  - { name: red, addressSpace: red, kind: prefix, subnet: 10.50.0.0/23, prefixLength: 24, strategy: sequential }
  - { name: blue, addressSpace: blue, kind: prefix, subnet: 10.50.0.0/23, prefixLength: 24, strategy: sequential }
`);
    expect(await allocate('red', 'x')).toBe('10.50.0.0/24');
    expect(await allocate('blue', 'x')).toBe('10.50.0.0/24');
    expect(service.listPrefixes({}).map((lease) => `${lease.addressSpace}:${lease.owner}`)).toEqual(['blue:x', 'red:x']);
  });
});

describe('a renamed prefix pool', () => {
  it('keeps the old pool\'s prefixes held, and frees them when released under the old name', async () => {
    open('pools:\n  - { name: old, kind: prefix, subnet: 10.70.0.0/23, prefixLength: 24, strategy: sequential }\n');
    expect(await allocate('old', 'x')).toBe('10.70.0.0/24');
    open('pools:\n  - { name: new, kind: prefix, subnet: 10.70.0.0/23, prefixLength: 24, strategy: sequential }\n');
    expect(await allocate('new', 'y')).toBe('10.70.1.0/24');
    await expect(allocate('new', 'z')).rejects.toBeInstanceOf(PoolExhaustedError);
    expect(await release('old', 'x')).toHaveLength(1);
    expect(await allocate('new', 'z')).toBe('10.70.0.0/24');
  });
});

describe('concurrent prefix allocation', () => {
  it('gives 256 concurrent owners 256 distinct /24s out of a /16, all durable', async () => {
    open('pools:\n  - { name: nodes, kind: prefix, subnet: 10.60.0.0/16, prefixLength: 24 }\n');
    const got = await Promise.all(Array.from({ length: 257 }, (_, i) => allocate('nodes', `node/${i}`).catch((error: unknown) => error)));
    const prefixes = got.filter((value): value is string => typeof value === 'string');
    expect(prefixes).toHaveLength(256);
    expect(new Set(prefixes).size).toBe(256);
    expect(got.filter((value) => value instanceof PoolExhaustedError)).toHaveLength(1);
    open('pools:\n  - { name: nodes, kind: prefix, subnet: 10.60.0.0/16, prefixLength: 24 }\n');
    expect(service.listPrefixes({ pool: 'nodes' })).toHaveLength(256);
  });
});
