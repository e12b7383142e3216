// The claim protocol against a real 3-member etcd (Debian's etcd 3.4, started by the test).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdCluster } from './support/etcdCluster.ts';
import { ReplyDroppingStore } from './support/replyDroppingStore.ts';
import {
  BlockClaimer, ClusterPoolRegistry, NoFreeBlockError, NodeAliveError, NodePresence, DefinitionMismatchError, PoolOverlapError,
  BlockSizeChangeError, ClusterUnavailableError, listNodes, listUsage, type ClusterPoolDefinition, type EtcdClaimStore,
} from '../daemon/src/cluster/index.ts';
import { parseCidr } from '../daemon/src/ip/address.ts';

describe('block claims on a real 3-member etcd', () => {
  let cluster: EtcdCluster;
  let store: EtcdClaimStore;
  beforeAll(async () => {
    cluster = await EtcdCluster.start({ members: 3 });
    store = cluster.store();
  });
  afterAll(async () => {
    await store?.close();
    await cluster?.stop();
  });

  it('50 claimers racing for 15 blocks: each block claimed exactly once, the losers told the pool has no free block', async () => {
    // 16 blocks of /28, the first excluded: 15 claimable.
    const pool: ClusterPoolDefinition = { name: 'race', subnet: '10.1.0.0/24', blockSize: 28, exclude: ['10.1.0.0/28'] };
    const stores = Array.from({ length: 10 }, () => cluster.store());
    try {
      const claimers = Array.from({ length: 50 }, (_, i) => new BlockClaimer({ store: stores[i % stores.length]!, node: `race-node-${i}` }));
      const results = await Promise.allSettled(claimers.map((claimer) => claimer.claimBlock(pool)));
      const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
      expect(won).toHaveLength(15);
      expect(new Set(won.map((b) => b.cidr)).size).toBe(15);
      expect(won.map((b) => b.cidr)).not.toContain('10.1.0.0/28');
      expect(lost).toHaveLength(35);
      for (const error of lost) {
        expect(error).toBeInstanceOf(NoFreeBlockError);
        expect(error.message).toContain('cluster pool "race" has no free block');
      }
      // What etcd holds agrees with what each winner was told.
      const { blocks, problems } = await claimers[0]!.listBlocks('race');
      expect(problems).toEqual([]);
      expect(blocks).toHaveLength(15);
      const byCidr = new Map(blocks.map((b) => [b.cidr, b]));
      for (const block of won) {
        expect(byCidr.get(block.cidr)).toMatchObject({ node: block.node, token: block.token, revision: block.revision });
      }
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('blocks to avoid are never claimed, and a pool whose only free blocks are avoided says so', async () => {
    const claimer = new BlockClaimer({ store, node: 'avoid-node' });
    // Four /28 blocks; the node must not take 10.7.0.16/28 back (it holds conflicting leases there).
    const pool = { name: 'avoid', subnet: '10.7.0.0/26', blockSize: 28, exclude: [] };
    const avoid = [parseCidr('10.7.0.16/28').network];
    const claimed = [];
    for (let i = 0; i < 3; i++) claimed.push((await claimer.claimBlock(pool, { avoid })).cidr);
    expect(claimed.sort()).toEqual(['10.7.0.0/28', '10.7.0.32/28', '10.7.0.48/28']);
    const error = (await claimer.claimBlock(pool, { avoid }).then(() => undefined, (e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(NoFreeBlockError);
    expect(error.message).toContain('(or, 1 of them, lost by this node that still holds conflicting leases in them');
    // Another node may take it.
    expect((await new BlockClaimer({ store, node: 'avoid-other' }).claimBlock(pool)).cidr).toBe('10.7.0.16/28');
  });

  it('IPv6: a /64 carved into /122 blocks claims without walking the space', async () => {
    const claimer = new BlockClaimer({ store, node: 'v6-node' });
    const pool = { name: 'v6', subnet: 'fd00:15::/64', blockSize: 122, exclude: ['fd00:15::/120'] };
    const first = await claimer.claimBlock(pool);
    const second = await claimer.claimBlock(pool);
    expect(first.cidr).toMatch(/^fd00:15::[0-9a-f:]*\/122$/);
    expect(second.cidr).not.toBe(first.cidr);
    const { blocks } = await claimer.listBlocks('v6');
    expect(blocks.map((b) => b.cidr).sort()).toEqual([first.cidr, second.cidr].sort());
  });

  it('a create whose reply is lost after commit is recognised by its token: no orphan block', async () => {
    const dropping = new ReplyDroppingStore(store);
    const claimer = new BlockClaimer({ store: dropping, node: 'ambiguous-node' });
    const pool = { name: 'ambiguous', subnet: '10.2.0.0/24', blockSize: 26, exclude: [] };
    dropping.dropCommittedCreates = 1;
    const block = await claimer.claimBlock(pool);
    expect(dropping.committedButDropped).toHaveLength(1);
    const { blocks } = await claimer.listBlocks('ambiguous');
    expect(blocks).toHaveLength(1);
    expect(blocks[0]).toMatchObject({ cidr: block.cidr, token: block.token, node: 'ambiguous-node' });
    const report = await claimer.reconcile('ambiguous', [block]);
    expect(report.unknown).toEqual([]);
    expect(report.lost).toEqual([]);
    expect(report.confirmed.map((b) => b.cidr)).toEqual([block.cidr]);

    // A request lost before it reached etcd: the read-back finds nothing, the same value is sent again.
    dropping.dropUnsentCreates = 1;
    const second = await claimer.claimBlock(pool);
    const after = await claimer.listBlocks('ambiguous');
    expect(after.blocks.map((b) => b.cidr).sort()).toEqual([block.cidr, second.cidr].sort());

    // The reply and the read-back both lost: the claim fails as unavailable, and the next claim of
    // the pool sends the same value again and gets that very block (not a second one).
    dropping.dropCommittedCreates = 1;
    dropping.failGets = 1;
    await expect(claimer.claimBlock(pool)).rejects.toThrow(ClusterUnavailableError);
    const pending = (await claimer.listBlocks('ambiguous')).blocks.filter((b) => b.cidr !== block.cidr && b.cidr !== second.cidr);
    expect(pending).toHaveLength(1);
    const third = await claimer.claimBlock(pool);
    expect(third).toMatchObject({ cidr: pending[0]!.cidr, token: pending[0]!.token });
    expect((await claimer.listBlocks('ambiguous')).blocks).toHaveLength(3);
    expect(await claimer.releaseBlock(third)).toBe('released');

    // A release whose reply is lost: the read-back says the key is gone.
    dropping.dropCommittedDeletes = 1;
    expect(await claimer.releaseBlock(second)).toBe('gone');
    expect((await claimer.listBlocks('ambiguous')).blocks.map((b) => b.cidr)).toEqual([block.cidr]);
  });

  it('release compares on the revision: a block changed meanwhile is left alone', async () => {
    const claimer = new BlockClaimer({ store, node: 'release-node' });
    const pool = { name: 'release', subnet: '10.3.0.0/24', blockSize: 26, exclude: [] };
    const block = await claimer.claimBlock(pool);
    const key = `/berth/blocks/release/${block.cidr.replace('/', '-')}`;
    const current = (await store.get(key))!;
    // An operator hands the block to another node.
    const reassigned = JSON.stringify({ v: 1, node: 'other-node', token: 'other-node/x1', claimedAt: new Date().toISOString(), poolHash: block.poolHash });
    expect((await store.compareAndSwap(key, reassigned, current.revision)).ok).toBe(true);
    expect(await claimer.releaseBlock(block)).toBe('notOwned');
    expect((await store.get(key))?.value).toBe(reassigned);
    const report = await claimer.reconcile('release', [block]);
    expect(report.lost).toHaveLength(1);
    expect(report.lost[0]!.now?.node).toBe('other-node');

    const own = await claimer.claimBlock(pool);
    expect(await claimer.releaseBlock(own)).toBe('released');
    expect(await claimer.releaseBlock(own)).toBe('gone');
  });

  it('reconcile reports blocks etcd no longer gives the node and blocks it gives that the node does not know', async () => {
    const claimer = new BlockClaimer({ store, node: 'reconcile-node' });
    const pool = { name: 'reconcile', subnet: '10.4.0.0/24', blockSize: 26, exclude: [] };
    const a = await claimer.claimBlock(pool);
    const b = await claimer.claimBlock(pool);
    const operator = new BlockClaimer({ store, node: 'operator' });
    await operator.releaseNode('reconcile-node', { force: true });
    const c = await claimer.claimBlock(pool);
    const report = await claimer.reconcile('reconcile', [a, b]);
    expect(report.lost.map((l) => l.block.cidr).sort()).toEqual([a.cidr, b.cidr].sort());
    expect(report.lost.every((l) => l.now === undefined || l.now.token !== a.token)).toBe(true);
    expect(report.unknown.map((u) => u.cidr)).toEqual([c.cidr]);
  });

  it('releaseNode refuses while the node is alive, unless forced', async () => {
    const presence = new NodePresence({ store, node: 'alive-node', labels: { zone: 'a' }, ttlSeconds: 5 });
    await presence.start();
    const claimer = new BlockClaimer({ store, node: 'alive-node' });
    const pool = { name: 'alive', subnet: '10.5.0.0/24', blockSize: 26, exclude: [] };
    await claimer.claimBlock(pool);
    await claimer.claimBlock(pool);
    const operator = new BlockClaimer({ store, node: 'operator' });
    await expect(operator.releaseNode('alive-node')).rejects.toThrow(NodeAliveError);
    await expect(operator.releaseNode('alive-node')).rejects.toThrow('node "alive-node" is alive');
    expect((await operator.listBlocks('alive')).blocks).toHaveLength(2);

    const { nodes } = await listNodes(store);
    expect(nodes.find((n) => n.name === 'alive-node')).toMatchObject({ labels: { zone: 'a' } });

    presence.reportUsage([{ pool: 'alive', cidr: '10.5.0.0/26', used: 3, free: 59 }]);
    await presence.flush();
    const { usage } = await listUsage(store);
    expect(usage.find((u) => u.node === 'alive-node')?.blocks).toEqual([{ pool: 'alive', cidr: '10.5.0.0/26', used: 3, free: 59 }]);

    await presence.stop();
    const released = await operator.releaseNode('alive-node');
    expect(released.released).toHaveLength(2);
    expect((await operator.listBlocks('alive')).blocks).toHaveLength(0);

    const again = new NodePresence({ store, node: 'forced-node', ttlSeconds: 5 });
    await again.start();
    await new BlockClaimer({ store, node: 'forced-node' }).claimBlock(pool);
    expect((await operator.releaseNode('forced-node', { force: true })).released).toHaveLength(1);
    await again.stop();
  });

  it('pool definitions: the first writer records it; a different one is refused showing both; overlaps and blockSize changes are refused', async () => {
    const first = new ClusterPoolRegistry(store, 'def-node-1');
    const second = new ClusterPoolRegistry(store, 'def-node-2');
    const definition = { name: 'defs', subnet: '10.6.0.0/16', blockSize: 26, exclude: ['10.6.0.0/24'], settings: { gateway: 'first', routes: [{ dst: '0.0.0.0/0' }] } };
    await first.ensure(definition);
    // Same definition written differently (exclusion order, key order): accepted.
    await second.ensure({ settings: { routes: [{ dst: '0.0.0.0/0' }], gateway: 'first' }, exclude: ['10.6.0.0/24'], blockSize: 26, subnet: '10.6.0.0/16', name: 'defs' });
    const changed = { ...definition, blockSize: 27 };
    const error = (await second.ensure(changed).then(() => undefined, (e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(DefinitionMismatchError);
    expect(error.message).toContain('recorded by node "def-node-1"');
    expect(error.message).toContain('"blockSize":26');
    expect(error.message).toContain('"blockSize":27');

    await expect(second.ensure({ name: 'defs-overlap', subnet: '10.6.128.0/17', blockSize: 26, exclude: [] })).rejects.toThrow(PoolOverlapError);
    await expect(second.ensure({ name: 'defs-overlap', subnet: '10.6.128.0/17', blockSize: 26, exclude: [] })).rejects.toThrow('overlaps cluster pool "defs" (10.6.0.0/16)');

    // No blocks yet: an operator may change the block size.
    await first.replace(changed);
    await second.ensure(changed);
    await new BlockClaimer({ store, node: 'def-node-1' }).claimBlock(changed);
    await expect(first.replace(definition)).rejects.toThrow(BlockSizeChangeError);
    await expect(first.replace(definition)).rejects.toThrow('blockSize cannot change from /27 to /26 while 1 block(s) are claimed');
  });
});
