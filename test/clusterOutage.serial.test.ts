// Quorum loss on a real 3-member etcd: calls fail within the deadline with a recognisable
// "unavailable" error, and claims work again within 5 s of quorum returning.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdCluster } from './support/etcdCluster.ts';
import { BlockClaimer, ClusterUnavailableError, NodePresence, listNodes, type EtcdClaimStore, type StoredEntry } from '../daemon/src/cluster/index.ts';

const DEADLINE_MS = 1500;

describe('quorum loss on a real 3-member etcd', () => {
  let cluster: EtcdCluster;
  let store: EtcdClaimStore;
  beforeAll(async () => {
    cluster = await EtcdCluster.start({ members: 3 });
    store = cluster.store({ deadlineMs: DEADLINE_MS });
  });
  afterAll(async () => {
    await store?.close();
    await cluster?.stop();
  });

  it('2 of 3 members stopped: claims, reads and releases fail within the deadline as unavailable; claims resume within 5 s of quorum returning', async () => {
    const claimer = new BlockClaimer({ store, node: 'outage-node' });
    const pool = { name: 'outage', subnet: '10.20.0.0/16', blockSize: 26, exclude: [] };
    const owned = await claimer.claimBlock(pool);

    await cluster.stopMember(1);
    await cluster.stopMember(2);

    // Each store call is bounded by the deadline; a write that timed out is read back (a second call).
    const calls = [[() => claimer.claimBlock(pool), 2], [() => claimer.listBlocks('outage'), 1], [() => claimer.releaseBlock(owned), 2]] as const;
    for (const [attempt, storeCalls] of calls) {
      const started = Date.now();
      const error = (await attempt().then(() => undefined, (e: unknown) => e)) as Error;
      const elapsed = Date.now() - started;
      expect(error).toBeInstanceOf(ClusterUnavailableError);
      expect(error.message).toMatch(/^cluster store unavailable during .*: no answer within the deadline/);
      // The slack is for a busy machine's timers, not for retries.
      expect(elapsed).toBeLessThan(storeCalls * DEADLINE_MS + 1000);
    }
    // The block is still there once quorum is back: the failed release did not commit.
    cluster.startMember(1);
    cluster.startMember(2);
    // Quorum is back when a fresh client gets a linearizable read; the claimer, on its long-lived
    // connections, must claim again within 5 s of that.
    let claimed: Awaited<ReturnType<typeof claimer.claimBlock>> | undefined;
    let claimedAt = 0;
    const claiming = (async () => {
      const giveUp = Date.now() + 60_000;
      while (!claimed) {
        try {
          claimed = await claimer.claimBlock(pool);
          claimedAt = Date.now();
        } catch (error) {
          expect(error).toBeInstanceOf(ClusterUnavailableError);
          if (Date.now() > giveUp) throw error;
        }
      }
    })();
    await cluster.waitReady();
    const quorumAt = Date.now();
    await claiming;
    expect(claimedAt - quorumAt).toBeLessThan(5000);
    const { blocks } = await claimer.listBlocks('outage');
    expect(blocks.map((b) => b.cidr).sort()).toEqual([owned.cidr, claimed!.cidr].sort());
  });

  it('the liveness key is put again after its lease was lost during an outage', async () => {
    // The outage above ended; this test's store must answer again before it starts.
    await cluster.waitReady(30_000, store);
    const presence = new NodePresence({ store, node: 'liveness-node', ttlSeconds: 2 });
    await presence.start();
    expect((await listNodes(store)).nodes.map((n) => n.name)).toContain('liveness-node');
    await cluster.stopMember(0);
    await cluster.stopMember(1);
    // 2×TTL without a keepalive answer: the client reports the lease lost.
    const lostBy = Date.now() + 20_000;
    while (presence.alive && Date.now() < lostBy) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(presence.alive).toBe(false);
    cluster.startMember(0);
    cluster.startMember(1);
    await cluster.waitReady();
    const until = Date.now() + 15_000;
    let names: string[] = [];
    while (Date.now() < until) {
      names = await listNodes(store).then((r) => r.nodes.map((n) => n.name), () => []);
      if (names.includes('liveness-node') && presence.alive) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(names).toContain('liveness-node');
    expect(presence.alive).toBe(true);
    await presence.stop();
    expect((await listNodes(store)).nodes.map((n) => n.name)).not.toContain('liveness-node');
  });

  it('a watch that cannot resume (its revision was compacted while it reconnected) re-lists and watches again', async () => {
    await cluster.waitReady(30_000, store);
    const prefix = '/berth/blocks/compacted/';
    const resyncs: StoredEntry[][] = [];
    const puts: string[] = [];
    const watch = await store.watch(prefix, { onResync: (entries) => resyncs.push([...entries]), onEvent: (event) => { if (event.type === 'put') puts.push(event.entry.key); } });
    try {
      await store.create(`${prefix}a`, 'first');
      await store.create(`${prefix}b`, 'second');
      const until = Date.now() + 10_000;
      while (puts.length < 2 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(puts).toEqual([`${prefix}a`, `${prefix}b`]);
      // Writes outside the watched prefix move the store on without moving the watch's revision;
      // a compaction past them leaves the watch nothing to resume from.
      for (let i = 0; i < 5; i++) await store.create(`/berth/elsewhere/${i}`, 'x');
      const latest = await store.create('/berth/elsewhere/last', 'x');
      if (!latest.ok) throw new Error('create failed');
      execFileSync('/usr/bin/etcdctl', ['--endpoints', cluster.endpoints.join(','), 'compaction', latest.revision], { env: { ...process.env, ETCDCTL_API: '3' }, stdio: 'ignore' });
      // Restart each member in turn (quorum kept): the watch's stream breaks and must resume on a compacted revision.
      for (let member = 0; member < 3 && resyncs.length < 2; member++) {
        await cluster.stopMember(member);
        const wait = Date.now() + 3000;
        while (resyncs.length < 2 && Date.now() < wait) await new Promise((resolve) => setTimeout(resolve, 100));
        cluster.startMember(member);
        await cluster.waitReady();
      }
      const deadline = Date.now() + 15_000;
      while (resyncs.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(resyncs.length).toBeGreaterThanOrEqual(2);
      expect(resyncs.at(-1)!.map((e) => e.key)).toEqual([`${prefix}a`, `${prefix}b`]);
      // And it follows changes again.
      await store.create(`${prefix}c`, 'after');
      const after = Date.now() + 10_000;
      while (!puts.includes(`${prefix}c`) && Date.now() < after) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(puts).toContain(`${prefix}c`);
    } finally {
      await watch.close();
    }
  });
});
