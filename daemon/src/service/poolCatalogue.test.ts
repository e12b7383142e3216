// The catalogue on a real SQLite file: both kinds behind one lookup, and one reload path that a
// source whose ranges grow and shrink at run time (cluster pools' blocks) goes through.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parsePoolConfig } from '../config/parsePoolConfig.ts';
import { InvalidArgumentError, UnknownPoolError } from '../errors.ts';
import { CommitQueue } from '../store/commitQueue.ts';
import { LeaseStore } from '../store/leaseStore.ts';
import { reclaimCooled } from './cooledLeaseReclaim.ts';
import { IpamService } from './ipamService.ts';
import { PoolCatalogue, type PoolKind } from './poolCatalogue.ts';
import { applyReload, planReload } from './poolReload.ts';

const log = pino({ level: 'silent' });
const clock = { ms: 1_000_000 };
let dir: string;
let store: LeaseStore;
let pools: PoolCatalogue;
let commitQueue: CommitQueue;
let service: IpamService;
const events: [string, PoolKind, string][] = [];

function open(text: string): void {
  store?.close();
  store = LeaseStore.open(join(dir, 'leases.db'));
  pools = PoolCatalogue.load(parsePoolConfig(text, 'test'), store);
  commitQueue = new CommitQueue(store, { maxQueued: 100, maxBatch: 16 });
  service = new IpamService({
    store, commitQueue, pools, bootId: 'b', now: () => clock.ms,
    events: { allocated: (kind, pool) => events.push(['allocated', kind, pool]), released: (kind, pool) => events.push(['released', kind, pool]) },
  });
}

/** An address pool made of claimed blocks, as a cluster source would hand it over. */
const blocks = (...starts: number[]) => `pools:
  - name: node
    subnet: 10.9.0.0/16
    ranges: [${starts.map((s) => `{ start: 10.9.${s}.0, end: 10.9.${s}.3 }`).join(', ')}]
    strategy: lowestFree
  - { name: nodes, kind: prefix, subnet: 10.10.0.0/16, prefixLength: 24 }
`;

const reload = (text: string) => {
  const plan = planReload(pools, parsePoolConfig(text, 'reload'));
  if (plan.kind === 'apply') pools.replace(applyReload(pools, plan, store));
  return plan;
};
const allocate = (containerId: string, pool = 'node') =>
  service.allocate({ containerId, ifname: 'eth0', pools: [pool], requestedIps: [], podNamespace: 'ns', podName: containerId, podUid: '', netns: '', network: 'net', podLabels: {}, poolSelector: {} }, log);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-catalogue-'));
  clock.ms = 1_000_000;
  events.length = 0;
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('PoolCatalogue', () => {
  it('resolves both kinds by name and says which kind a wrongly named pool is', () => {
    open(blocks(0));
    expect(pools.resolve('address', 'node').kind).toBe('address');
    expect(pools.resolve('prefix', 'nodes').kind).toBe('prefix');
    expect(() => pools.resolve('address', 'nodes')).toThrow(InvalidArgumentError);
    expect(() => pools.resolve('prefix', 'node')).toThrow(/"node" is an address pool/);
    expect(() => pools.resolve('prefix', 'gone')).toThrow(UnknownPoolError);
    expect(pools.names('address')).toEqual(['node']);
  });

  it('takes blocks claimed and released at run time through the same reload checks', async () => {
    open(blocks(1));
    for (const id of ['a', 'b', 'c', 'd']) await allocate(id);
    await expect(allocate('e')).rejects.toThrow(/exhausted/);
    // A second block claimed: the pool grows in place.
    expect(reload(blocks(1, 2))).toMatchObject({ kind: 'apply', changed: ['node'] });
    expect((await allocate('e'))[0]!.address).toBe(0x0a090200n);
    // Releasing the first block would strand four leases: refused, both blocks stay served.
    expect(reload(blocks(2))).toMatchObject({ kind: 'refused', problems: [expect.stringMatching(/no longer cover leased addresses 10\.9\.1\.0, 10\.9\.1\.1/)] });
    expect(pools.find('address', 'node')!.taken.size).toBe(5n);
    for (const id of ['a', 'b', 'c', 'd']) await service.release({ containerId: id, ifname: 'eth0', pools: [] }, log);
    expect(reload(blocks(2))).toMatchObject({ kind: 'apply', changed: ['node'] });
    expect(events.filter(([what]) => what === 'released')).toHaveLength(4);
    expect(events.every(([, kind]) => kind === 'address')).toBe(true);
  });

  it('a pool that changes kind is a removal and an addition, refused while it holds leases', async () => {
    open(blocks(0));
    const asPrefix = blocks(0).replace('name: node\n', 'name: node\n    kind: prefix\n    prefixLength: 30\n').replace(/    ranges: .*\n/, '').replace('lowestFree', 'sequential');
    await allocate('a');
    expect(reload(asPrefix)).toMatchObject({ kind: 'refused', problems: [expect.stringMatching(/removing pool "node" would orphan its 1 lease/)] });
    await service.release({ containerId: 'a', ifname: 'eth0', pools: [] }, log);
    expect(reload(asPrefix)).toMatchObject({ kind: 'apply', added: ['node'], removed: ['node'] });
    expect(pools.resolve('prefix', 'node').kind).toBe('prefix');
  });

  it('frees a cooled address left by a renamed pool in the pool that holds it now', async () => {
    const cooling = (text: string) => text.replace('strategy: lowestFree', 'strategy: lowestFree\n    reclaimDelaySeconds: 30');
    open(cooling(blocks(1)));
    await allocate('a');
    await service.release({ containerId: 'a', ifname: 'eth0', pools: [] }, log);
    open(cooling(blocks(1)).replace('name: node', 'name: renamed'));
    // The cooling lease of "node" still blocks its address in "renamed"; the pool's own cooling
    // lease makes the reclaim run (cooling is counted by pool name: no query when none cools).
    await allocate('b', 'renamed');
    await service.release({ containerId: 'b', ifname: 'eth0', pools: [] }, log);
    expect(pools.find('address', 'renamed')!.taken.size).toBe(2n);
    clock.ms += 30_000;
    expect(await reclaimCooled({ store, commitQueue, pools, now: () => clock.ms }, log)).toBe(2);
    expect(pools.find('address', 'renamed')!.taken.size).toBe(0n);
    expect(pools.find('address', 'renamed')!.coolingCount).toBe(0);
  });
});
