// The service on a real SQLite file: allocation rules, atomicity, idempotency, cleaners, reload.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parsePoolConfig } from '../config/parsePoolConfig.ts';
import { InvalidArgumentError, PoolExhaustedError, StoreFailureError } from '../errors.ts';
import { formatAddress } from '../ip/address.ts';
import { CommitQueue } from '../store/commitQueue.ts';
import { LeaseStore } from '../store/leaseStore.ts';
import { IpamService } from './ipamService.ts';
import { PoolCatalogue } from './poolCatalogue.ts';
import { applyReload, planReload } from './poolReload.ts';
import { StaleLeaseCleaner, type NetnsState } from './staleLeaseCleaner.ts';

const CONFIG = `
pools:
  - name: a4
    subnet: 10.0.0.0/29
    gateway: 10.0.0.1
  - name: a6
    subnet: 2001:db8::/64
    ranges: [{ start: "2001:db8::10", end: "2001:db8::12" }, { start: "2001:db8::100", end: "2001:db8::100" }]
    exclude: ["2001:db8::11"]
  - name: one
    subnet: 10.1.0.0/32
`;

const log = pino({ level: 'silent' });
let dir: string;
let store: LeaseStore;
let pools: PoolCatalogue;
let service: IpamService;

function open(config = CONFIG): void {
  store = LeaseStore.open(join(dir, 'leases.db'));
  pools = PoolCatalogue.load(parsePoolConfig(config, 'test'), store);
  service = new IpamService({ store, commitQueue: new CommitQueue(store, { maxQueued: 10_000, maxBatch: 512 }), pools, bootId: 'boot-1', now: () => 42 });
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-service-'));
  open();
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const allocate = (containerId: string, poolNames: string[], requestedIps: string[] = [], extra: object = {}) =>
  service.allocate({ containerId, ifname: 'eth0', pools: poolNames, requestedIps, podNamespace: 'ns', podName: containerId, podUid: `uid-${containerId}`, netns: '', network: 'net', podLabels: {}, poolSelector: {}, ...extra }, log);
const shown = (allocations: { address: bigint; family: 4 | 6 }[]) => allocations.map((a) => formatAddress(a.address, a.family));

describe('IpamService', () => {
  it('frees the address of a renamed pool in the pool that now holds it', async () => {
    expect(shown(await allocate('r1', ['one']))).toEqual(['10.1.0.0']);
    store.close();
    open('pools:\n  - { name: renamed, subnet: 10.1.0.0/32 }\n');
    await expect(allocate('r2', ['renamed'])).rejects.toThrow(/exhausted/);
    expect(await service.release({ containerId: 'r1', ifname: 'eth0', pools: [] }, log)).toHaveLength(1);
    expect(shown(await allocate('r2', ['renamed']))).toEqual(['10.1.0.0']);
  });

  it('allocates IPv4 and IPv6 with the same rules: ranges, excludes, round-robin, exhaustion', async () => {
    expect(shown(await allocate('c1', ['a4', 'a6']))).toEqual(['10.0.0.2', '2001:db8::10']);
    expect(shown(await allocate('c2', ['a4', 'a6']))).toEqual(['10.0.0.3', '2001:db8::12']);
    expect(shown(await allocate('c3', ['a6']))).toEqual(['2001:db8::100']);
    await expect(allocate('c4', ['a6'])).rejects.toThrow(PoolExhaustedError);
    await service.release({ containerId: 'c1', ifname: 'eth0', pools: [] }, log);
    // 10.0.0.2 was freed, but round-robin goes on to .4 first.
    expect(shown(await allocate('c5', ['a4']))).toEqual(['10.0.0.4']);
    expect(shown(await allocate('c6', ['a6']))).toEqual(['2001:db8::10']);
  });

  it('is all-or-nothing across pools, in memory as well as on disk', async () => {
    await allocate('fill', ['one']);
    await expect(allocate('both', ['a4', 'one'])).rejects.toThrow(/pool "one" is exhausted/);
    expect(store.leasesOfAttachment('both', 'eth0')).toEqual([]);
    expect(pools.find('address', 'a4')!.taken.size).toBe(0n);
    // The address that was tried is still free and is the next one handed out.
    expect(shown(await allocate('next', ['a4']))).toEqual(['10.0.0.2']);
  });

  it('is idempotent for the same attachment and refuses a different requested address for it', async () => {
    const first = shown(await allocate('c1', ['a4']));
    expect(shown(await allocate('c1', ['a4']))).toEqual(first);
    expect(shown(await allocate('c1', ['a4', 'a6']))).toEqual([...first, '2001:db8::10']);
    await expect(allocate('c1', ['a4'], ['10.0.0.5'])).rejects.toThrow(InvalidArgumentError);
    await expect(allocate('c1', ['a4'], ['10.0.0.5'])).rejects.toThrow(`requested 10.0.0.5 in pool "a4", but container c1 ifname eth0 already holds ${first[0]} there`);
  });

  it('never releases the lease of a new pod that reused a StatefulSet name', async () => {
    // Old pod web-0 (container old) is gone; new pod web-0 (container new) holds an address.
    await allocate('old', ['a4'], [], { podName: 'web-0', podUid: 'uid-old' });
    await service.release({ containerId: 'old', ifname: 'eth0', pools: [] }, log);
    await allocate('new', ['a4'], [], { podName: 'web-0', podUid: 'uid-new' });
    // A late DEL for the old container must not touch the new pod's lease.
    expect(await service.release({ containerId: 'old', ifname: 'eth0', pools: ['a4'] }, log)).toEqual([]);
    expect(store.leasesOfAttachment('new', 'eth0')).toHaveLength(1);
    expect(store.leasesOfAttachment('new', 'eth0')[0]?.podUid).toBe('uid-new');
  });

  it('handles 500 concurrent allocations in few transactions, each address once', async () => {
    store.close();
    open('pools: [{ name: big, subnet: 10.8.0.0/16 }]');
    const results = await Promise.all(Array.from({ length: 500 }, (_, i) => allocate(`b${i}`, ['big'])));
    const addresses = new Set(results.map((r) => r[0]!.address));
    expect(addresses.size).toBe(500);
    expect(store.listLeases()).toHaveLength(500);
  });

  it('undoes in-memory state when the database refuses the write', async () => {
    store.close();
    open();
    // Make the next insert fail inside SQLite: a trigger that raises on insert.
    (store as unknown as { db: { exec(sql: string): void } }).db.exec(
      "CREATE TEMP TRIGGER fail_insert BEFORE INSERT ON leases BEGIN SELECT RAISE(ABORT, 'disk says no'); END");
    await expect(allocate('c1', ['a4'])).rejects.toThrow(StoreFailureError);
    expect(pools.find('address', 'a4')!.taken.size).toBe(0n);
    expect(pools.find('address', 'a4')!.cursor).toBeUndefined();
  });
});

describe('StaleLeaseCleaner', () => {
  const cleaner = (states: Record<string, NetnsState>, now: { t: number }) => new StaleLeaseCleaner({
    service, store, bootId: 'boot-2', log, graceMs: 1000, probe: (path) => states[path] ?? 'unknown', now: () => now.t,
  });

  it('releases leases of an earlier boot whose netns is gone, and nothing else', async () => {
    await allocate('gone', ['a4'], [], { netns: '/run/netns/gone' });
    await allocate('alive', ['a4'], [], { netns: '/run/netns/alive' });
    await allocate('unseen', ['a4'], [], { netns: '/hidden/ns' });
    const released = await cleaner({ '/run/netns/gone': 'gone', '/run/netns/alive': 'present' }, { t: 0 }).releaseLeasesFromEarlierBoots();
    expect(released.map((l) => l.containerId)).toEqual(['gone']);
    expect(store.listLeases().map((l) => l.containerId).sort()).toEqual(['alive', 'unseen']);
  });

  it('waits for the grace period before releasing a lease whose netns vanished', async () => {
    await allocate('c1', ['a4'], [], { netns: '/run/netns/x' });
    const clock = { t: 0 };
    const sweeper = cleaner({ '/run/netns/x': 'gone' }, clock);
    expect(await sweeper.sweep()).toEqual([]);
    clock.t = 999;
    expect(await sweeper.sweep()).toEqual([]);
    clock.t = 1000;
    expect((await sweeper.sweep()).map((l) => l.containerId)).toEqual(['c1']);
    expect(pools.find('address', 'a4')!.taken.size).toBe(0n);
  });
});

describe('planReload', () => {
  const reconfigure = (text: string) => parsePoolConfig(text, 'reload');

  it('applies added pools and grown ranges', async () => {
    await allocate('c1', ['a4']);
    const plan = planReload(pools, reconfigure(`${CONFIG}  - name: extra\n    subnet: 10.2.0.0/24\n`));
    expect(plan).toMatchObject({ kind: 'apply', added: ['extra'], removed: [], changed: [] });
    if (plan.kind !== 'apply') throw new Error('expected apply');
    pools.replace(applyReload(pools, plan, store));
    expect(pools.names('address')).toEqual(['a4', 'a6', 'one', 'extra']);
    expect(pools.find('address', 'a4')!.taken.size).toBe(1n);
  });

  it.each([
    ['removing a pool with leases', CONFIG.replace(/  - name: one\n    subnet: 10\.1\.0\.0\/32\n/, '').replace(/  - name: a4\n    subnet: 10\.0\.0\.0\/29\n    gateway: 10\.0\.0\.1\n/, ''), /removing pool "a4" would orphan its 1 lease/],
    ['moving a pool with leases to another address space', CONFIG.replace('gateway: 10.0.0.1', 'gateway: 10.0.0.1\n    addressSpace: other'), /pool "a4": moving it from address space "default" to "other" would leave its 1 lease\(s\) in the old address space/],
    ['shrinking a range under a lease', CONFIG.replace('gateway: 10.0.0.1', 'gateway: 10.0.0.1\n    exclude: [10.0.0.2]'), /pool "a4": the new ranges no longer cover leased addresses 10\.0\.0\.2/],
  ])('refuses %s', async (_name, text, message) => {
    await allocate('c1', ['a4']);
    const plan = planReload(pools, reconfigure(text));
    expect(plan.kind).toBe('refused');
    if (plan.kind === 'refused') expect(plan.problems.join('\n')).toMatch(message);
  });

  it('says unchanged for the same config', () => {
    expect(planReload(pools, reconfigure(CONFIG))).toEqual({ kind: 'unchanged' });
  });
});
