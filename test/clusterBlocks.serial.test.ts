// Block life cycle on a real etcd: idle blocks given back (compare on revision, one kept), and a
// node whose definition of a pool differs from the recorded one refusing that pool.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BlockClaimer } from '../daemon/src/cluster/index.ts';
import type { EtcdCluster } from './support/etcdCluster.ts';
import { allocateRequest, createClusterNode, useEtcdCluster, type ClusterNode } from './support/clusterNode.ts';
import { LOG_LINE_WAIT } from './support/daemonProcess.ts';

const CONFIG = (blockSize: number) => `
clusterPools:
  - name: pods
    subnet: 10.246.0.0/24
    blockSize: ${blockSize}
`;

interface StatusReply { cluster: { pools: { pool: string; blocks: string[]; refused: string }[] } }

describe('cluster pool blocks over time', () => {
  let cluster: EtcdCluster;
  const nodes: ClusterNode[] = [];
  useEtcdCluster({ members: 1 }, nodes, (started) => { cluster = started; });

  const ownedInEtcd = async (node: string) => {
    const store = cluster.store({ deadlineMs: 10_000 });
    try {
      return (await new BlockClaimer({ store, node: 'reader' }).listBlocks('pods')).blocks.filter((block) => block.node === node);
    } finally {
      await store.close();
    }
  };

  it('gives back blocks empty for --block-idle-seconds and keeps one', async () => {
    const node = createClusterNode(cluster, 'idle-a', CONFIG(28), { blockIdleSeconds: 2 });
    nodes.push(node);
    await node.start();
    for (let i = 0; i < 20; i++) await node.client.call('Allocate', allocateRequest(`i-${i}`, 'pods'), 30_000);
    expect((await ownedInEtcd('idle-a')).length).toBeGreaterThanOrEqual(2);
    for (let i = 0; i < 20; i++) await node.client.call('Release', { containerId: `i-${i}`, ifname: 'eth0', pools: ['pods'] });
    const deadline = Date.now() + 30_000;
    while ((await ownedInEtcd('idle-a')).length > 1) {
      expect(Date.now(), 'idle blocks not released within 30 s').toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const [kept] = await ownedInEtcd('idle-a');
    const status = await node.client.call<StatusReply>('Status', { pools: ['pods'] });
    expect(status.cluster.pools[0]!.blocks).toEqual([kept!.cidr]);
    await expect.poll(() => node.daemon.logs(), LOG_LINE_WAIT).toContain('"event":"cluster.block_released"');
    // The pool still serves, from the block it kept.
    await node.client.call('Allocate', allocateRequest('after-idle', 'pods'), 30_000);
  }, 120_000);

  it('a node whose definition differs from the recorded one refuses the pool and shows both', async () => {
    const other = createClusterNode(cluster, 'idle-b', CONFIG(27));
    nodes.push(other);
    await other.start();
    let refused = '';
    const deadline = Date.now() + 20_000;
    while (!refused) {
      expect(Date.now()).toBeLessThan(deadline);
      refused = (await other.client.call<StatusReply>('Status', { pools: ['pods'] })).cluster.pools[0]!.refused;
      if (!refused) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(refused).toContain('cluster pool "pods" is defined differently');
    expect(refused).toContain('"blockSize":28');
    expect(refused).toContain('"blockSize":27');
    const failure = await other.client.fail('Allocate', allocateRequest('b-0', 'pods'));
    expect(failure.reason).toBe('CLUSTER_UNAVAILABLE');
    expect(failure.details).toContain('defined differently');
    expect(await ownedInEtcd('idle-b')).toEqual([]);
  }, 120_000);
});

describe('cluster pools over etcd with TLS client certificates (made by the test with openssl)', () => {
  let cluster: EtcdCluster;
  let pki: string;
  const nodes: ClusterNode[] = [];
  useEtcdCluster({ members: 1, tls: true }, nodes, (started) => {
    cluster = started;
    pki = mkdtempSync(join(tmpdir(), 'berth-clusterpool-pki-'));
    writeFileSync(join(pki, 'ca.crt'), cluster.tls!.ca);
    writeFileSync(join(pki, 'client.crt'), cluster.tls!.cert);
    writeFileSync(join(pki, 'client.key'), cluster.tls!.key, { mode: 0o600 });
    writeFileSync(join(pki, 'foreign.crt'), cluster.tls!.foreignCert);
    writeFileSync(join(pki, 'foreign.key'), cluster.tls!.foreignKey, { mode: 0o600 });
  });
  afterAll(() => {
    if (pki) rmSync(pki, { recursive: true, force: true });
  });

  it('claims with a client certificate; a certificate of another CA gets nothing and says the store is unreachable', async () => {
    const good = createClusterNode(cluster, 'tls-a', CONFIG(28), { extraArgs: ['--etcd-ca', join(pki, 'ca.crt'), '--etcd-cert', join(pki, 'client.crt'), '--etcd-key', join(pki, 'client.key')] });
    const foreign = createClusterNode(cluster, 'tls-b', CONFIG(28), { extraArgs: ['--etcd-ca', join(pki, 'ca.crt'), '--etcd-cert', join(pki, 'foreign.crt'), '--etcd-key', join(pki, 'foreign.key')] });
    nodes.push(good, foreign);
    await good.start();
    const reply = await good.client.call<{ allocations: { address: string }[] }>('Allocate', allocateRequest('tls-0', 'pods'), 30_000);
    expect(reply.allocations[0]!.address).toMatch(/^10\.246\./);
    await foreign.start();
    const refused = await foreign.client.fail('Allocate', allocateRequest('tls-1', 'pods'));
    expect(refused).toMatchObject({ reason: 'CLUSTER_UNAVAILABLE', cniCode: '11' });
  }, 120_000);
});
