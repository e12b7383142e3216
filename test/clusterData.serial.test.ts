// Bad data under the prefix (garbage values, foreign keys) is refused and reported, field by
// field; claiming keeps working around it and never takes a key that holds garbage. Also the
// prefix watch that the daemon follows blocks with.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingStore } from './support/countingStore.ts';
import { EtcdCluster } from './support/etcdCluster.ts';
import {
  BlockClaimer, ClusterPoolRegistry, NoFreeBlockError, NodePresence, auditCluster, listNodes, listUsage,
  type EtcdClaimStore, type StoredEntry, type WatchEvent,
} from '../daemon/src/cluster/index.ts';

describe('bad data under the prefix on a real etcd', () => {
  let cluster: EtcdCluster;
  let store: EtcdClaimStore;
  beforeAll(async () => {
    cluster = await EtcdCluster.start({ members: 1 });
    store = cluster.store();
  });
  afterAll(async () => {
    await store?.close();
    await cluster?.stop();
  });

  const hash = '0123456789abcdef0123456789abcdef';
  const garbage: [key: string, value: string, problem: string | RegExp][] = [
    ['/berth/blocks/garbage/10.40.0.0-26', 'not json at all', 'value is not JSON'],
    ['/berth/blocks/garbage/10.40.0.64-26', JSON.stringify({ v: 1, node: 42, token: 'x', claimedAt: '2026-01-01T00:00:00Z', poolHash: hash }), 'field "node": expected a node name, got 42'],
    ['/berth/blocks/garbage/10.40.0.128-26', JSON.stringify({ v: 2 }), 'field "v": expected record version 1, got 2'],
    ['/berth/blocks/garbage/10.40.1.0-26', JSON.stringify({ v: 1, node: 'a', token: 'b/nonce', claimedAt: '2026-01-01T00:00:00Z', poolHash: hash }), 'field "token": expected a claim token "a/<nonce>"'],
    ['/berth/blocks/garbage/10.40.1.64-26', JSON.stringify({ v: 1, node: 'a', token: 'a/n', claimedAt: 'yesterday', poolHash: hash }), 'field "claimedAt": expected an ISO-8601 time'],
    ['/berth/blocks/garbage/10.40.1.128-26', '[1,2,3]', 'value is not a JSON object'],
    ['/berth/blocks/garbage/not-a-cidr', '{}', '"not-a-cidr" is not a canonical block'],
    ['/berth/blocks/garbage/10.40.0.1-26', '{}', '"10.40.0.1-26" is not a canonical block'],
    ['/berth/blocks/garbage/10.40.0.192-26/extra', '{}', 'not a berth block key'],
    ['/berth/blocks/stray', '{}', 'not a berth block key'],
    ['/berth/pools/Not_A_Pool', '{}', 'not a berth pool key'],
    ['/berth/pools/garbage-def', JSON.stringify({ v: 1, definition: '{"name":"other","subnet":"10.41.0.0/24","blockSize":26,"exclude":[]}', hash, recordedBy: 'n', recordedAt: '2026-01-01T00:00:00Z' }), 'names pool "other", not "garbage-def"'],
    ['/berth/pools/garbage-json', JSON.stringify({ v: 1, definition: '{nope', hash, recordedBy: 'n', recordedAt: '2026-01-01T00:00:00Z' }), 'field "definition"'],
    ['/berth/nodes/ghost', JSON.stringify({ v: 1, name: 'someone-else', labels: {}, lastSeen: '2026-01-01T00:00:00Z' }), 'field "name": "someone-else" does not match the key'],
    ['/berth/nodes/labels', JSON.stringify({ v: 1, name: 'labels', labels: { zone: 7 }, lastSeen: '2026-01-01T00:00:00Z' }), 'field "labels": expected an object of string labels'],
    ['/berth/usage/spammer', JSON.stringify({ v: 1, node: 'spammer', reportedAt: '2026-01-01T00:00:00Z', blocks: [{ pool: 'p', cidr: '10.0.0.0/26', used: -1, free: 0 }] }), 'field "blocks[0].used": expected a count, got -1'],
    ['/berth/somethingelse/key', 'x', 'not a berth key'],
  ];

  it('every garbage value and foreign key is reported with its key and field; nothing crashes', async () => {
    for (const [key, value] of garbage) expect((await store.create(key, value)).ok).toBe(true);
    const audit = await auditCluster(store);
    const messages = audit.problems.map((p) => p.message);
    for (const [key, , problem] of garbage) {
      const match = messages.find((m) => m.startsWith(`${key}: `));
      expect(match, `no problem reported for ${key}`).toBeDefined();
      expect(match).toContain(problem);
    }
    expect(audit.problems).toHaveLength(garbage.length);
    expect((await listNodes(store)).nodes).toEqual([]);
    expect((await listUsage(store)).problems).toHaveLength(1);
    expect((await new ClusterPoolRegistry(store, 'n').list()).pools).toEqual([]);
  });

  it('claiming works around garbage and never takes a key that holds it', async () => {
    const claimer = new BlockClaimer({ store, node: 'careful-node' });
    // 10.40.0.0/24 in /26: .0, .64 and .128 hold garbage; .192 is free (its only key is a deeper, foreign one).
    const pool = { name: 'garbage', subnet: '10.40.0.0/24', blockSize: 26, exclude: [] };
    const block = await claimer.claimBlock(pool);
    expect(block.cidr).toBe('10.40.0.192/26');
    await expect(claimer.claimBlock(pool)).rejects.toThrow(NoFreeBlockError);
    const values = new Map((await store.list('/berth/blocks/garbage/')).map((e) => [e.key, e.value]));
    for (const [key, value] of garbage) if (values.has(key)) expect(values.get(key)).toBe(value);
    const report = await claimer.reconcile('garbage', [block]);
    expect(report.confirmed.map((b) => b.cidr)).toEqual(['10.40.0.192/26']);
    expect(report.problems.length).toBeGreaterThan(0);
  });

  it('usage is written at a bounded rate, never per report, and the last report wins', async () => {
    const counting = new CountingStore(store);
    const presence = new NodePresence({ store: counting, node: 'busy-node', usageIntervalMs: 400 });
    const started = Date.now();
    for (let used = 1; used <= 200; used++) {
      presence.reportUsage([{ pool: 'busy', cidr: '10.43.0.0/26', used, free: 64 - (used % 64) }]);
      if (used % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await new Promise((resolve) => setTimeout(resolve, 900));
    const elapsed = Date.now() - started;
    // One write per started interval at most (plus the first), whatever the number of reports.
    expect(counting.writes).toBeGreaterThan(0);
    expect(counting.writes).toBeLessThanOrEqual(Math.ceil(elapsed / 400) + 1);
    const { usage } = await listUsage(store);
    expect(usage.find((u) => u.node === 'busy-node')?.blocks[0]?.used).toBe(200);
    await presence.stop();
  });

  it('the prefix watch lists first, then follows puts and deletes', async () => {
    const resyncs: StoredEntry[][] = [];
    const events: WatchEvent[] = [];
    const watch = await store.watch('/berth/blocks/watched/', { onResync: (entries) => resyncs.push([...entries]), onEvent: (event) => events.push(event) });
    try {
      expect(resyncs).toEqual([[]]);
      const claimer = new BlockClaimer({ store, node: 'watched-node' });
      const block = await claimer.claimBlock({ name: 'watched', subnet: '10.42.0.0/24', blockSize: 26, exclude: [] });
      await claimer.releaseBlock(block);
      const until = Date.now() + 10_000;
      while (events.length < 2 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
      const key = `/berth/blocks/watched/${block.cidr.replace('/', '-')}`;
      expect(events.map((e) => e.type)).toEqual(['put', 'delete']);
      expect(events[0]).toMatchObject({ type: 'put', entry: { key, revision: block.revision } });
      expect(events[1]).toMatchObject({ type: 'delete', key });
    } finally {
      await watch.close();
    }
  });
});
