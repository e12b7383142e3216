// Cluster pools end to end: real berthd processes (own database and socket each) claiming blocks
// of one cluster-wide CIDR in a real 3-member etcd started by the test.
import { describe, expect, it } from 'vitest';
import { BlockClaimer } from '../daemon/src/cluster/index.ts';
import type { EtcdCluster } from './support/etcdCluster.ts';
import { allocateRequest, createClusterNode, useEtcdCluster, readNodeDatabase, type ClusterNode } from './support/clusterNode.ts';

const CONFIG = `
clusterPools:
  - name: pods
    subnet: 10.244.0.0/20
    blockSize: 28
    routes: [{ dst: 0.0.0.0/0 }]
`;

describe('cluster pools on a real etcd', () => {
  let cluster: EtcdCluster;
  const nodes: ClusterNode[] = [];
  useEtcdCluster({ members: 3 }, nodes, (started) => { cluster = started; });

  it('serves ADD from a claimed block, records the block before its addresses, and serves it again after a restart', async () => {
    const node = createClusterNode(cluster, 'solo-a', CONFIG);
    nodes.push(node);
    await node.start();
    const reply = await node.client.call<{ allocations: { address: string; gateway: string; pool: string }[] }>('Allocate', allocateRequest('c1', 'pods'));
    expect(reply.allocations[0]).toMatchObject({ pool: 'pods' });
    const address = reply.allocations[0]!.address;
    const store = cluster.store({ deadlineMs: 10_000 });
    const { blocks } = await new BlockClaimer({ store, node: 'reader' }).listBlocks('pods');
    await store.close();
    expect(blocks.length).toBeGreaterThanOrEqual(1);
    expect(blocks.every((block) => block.node === 'solo-a')).toBe(true);
    await node.stop();
    const saved = readNodeDatabase(node.daemon.dbPath);
    expect(saved.blocks.map((b) => b.cidr).sort()).toEqual(blocks.map((b) => b.cidr).sort());
    expect(saved.leases.map((l) => l.address)).toEqual([address.split('/')[0]]);
  });
});
