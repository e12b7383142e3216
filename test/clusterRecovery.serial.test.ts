// Cluster pools when the cluster store disagrees with a node: blocks released by an operator while
// the node was stopped, and garbage under the prefix. Real berthd processes, real 3-member etcd.
import { describe, expect, it } from 'vitest';
import { BlockClaimer, ClusterPoolRegistry } from '../daemon/src/cluster/index.ts';
import { encodeRecord } from '../daemon/src/cluster/clusterRecords.ts';
import { cidrBounds, parseAddress, parseCidr } from '../daemon/src/ip/address.ts';
import type { EtcdCluster } from './support/etcdCluster.ts';
import { berthctl } from './support/berthctlExec.ts';
import { allocateRequest, createClusterNode, useEtcdCluster, waitForBlocks, type ClusterNode } from './support/clusterNode.ts';
import { LOG_LINE_WAIT } from './support/daemonProcess.ts';

/** The node's /metrics text (its metrics URL is in the daemon.started log line). */
async function metricsOf(node: ClusterNode): Promise<string> {
  const started = node.daemon.logs().split('\n').filter((line) => line.includes('"event":"daemon.started"')).at(-1) ?? '';
  const url = /"metrics":"([^"]+)"/.exec(started)?.[1];
  if (!url) throw new Error('no metrics URL in the log');
  return (await fetch(`${url}/metrics`)).text();
}

const CONFIG = `
clusterPools:
  - name: pods
    subnet: 10.245.0.0/24
    blockSize: 28
`;

interface StatusReply { cluster: { connected: boolean; pools: { pool: string; blocks: string[]; lostBlocks: string[]; conflicts: number }[] } }

function inside(address: string, cidr: string): boolean {
  const { first, last } = cidrBounds(parseCidr(cidr));
  const value = parseAddress(address.split('/')[0]!).value;
  return value >= first && value <= last;
}

describe('cluster pools recovering from what happened in etcd meanwhile', () => {
  let cluster: EtcdCluster;
  const nodes: ClusterNode[] = [];
  useEtcdCluster({ members: 3 }, nodes, (started) => { cluster = started; });

  it('a node whose blocks were released by release-node while it was stopped stops using them within 5 s of reaching etcd, and reports its leases as conflicts', async () => {
    const a = createClusterNode(cluster, 'recover-a', CONFIG);
    const b = createClusterNode(cluster, 'recover-b', CONFIG);
    nodes.push(a, b);
    await a.start();
    const held: string[] = [];
    for (let i = 0; i < 5; i++) held.push((await a.client.call<{ allocations: { address: string }[] }>('Allocate', allocateRequest(`a-${i}`, 'pods'), 30_000)).allocations[0]!.address);
    const before = (await a.client.call<StatusReply>('Status', { pools: ['pods'] })).cluster.pools[0]!.blocks;
    expect(before.length).toBeGreaterThan(0);
    await a.stop();

    // The operator gives node a's blocks back (a is stopped, so no --force is needed), and they
    // become node b's (written as b's claim would write them; b adopts them when it starts).
    const store = cluster.store({ deadlineMs: 10_000 });
    const claimer = new BlockClaimer({ store, node: 'operator' });
    const { released } = await claimer.releaseNode('recover-a');
    expect(released.map((block) => block.cidr).sort()).toEqual([...before].sort());
    const { pools } = await new ClusterPoolRegistry(store, 'operator').list();
    for (const cidr of before) {
      const value = encodeRecord({ node: 'recover-b', token: `recover-b/${cidr}`, claimedAt: new Date().toISOString(), poolHash: pools[0]!.hash });
      expect((await store.create(claimer.keys.block('pods', parseCidr(cidr)), value)).ok).toBe(true);
    }
    await b.start();
    for (let i = 0; i < 20; i++) await b.client.call('Allocate', allocateRequest(`b-${i}`, 'pods'), 30_000);

    await a.start();
    const reached = Date.now();
    let status: StatusReply['cluster']['pools'][number] | undefined;
    while (Date.now() - reached < 20_000) {
      status = (await a.client.call<StatusReply>('Status', { pools: ['pods'] })).cluster.pools[0];
      if (status && status.lostBlocks.length === before.length) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (Date.now() - reached >= 5000) console.log(a.daemon.logs().split('\n').filter((line) => /cluster|"level":[45]0/.test(line)).slice(-30).join('\n'));
    expect(Date.now() - reached).toBeLessThan(5000);
    expect(status!.lostBlocks.sort()).toEqual([...before].sort());
    expect(status!.conflicts).toBe(5);
    await expect.poll(() => a.daemon.logs(), LOG_LINE_WAIT).toContain('"event":"cluster.block_lost"');
    const metrics = await metricsOf(a);
    expect(metrics).toContain('berth_cluster_lease_conflicts{pool="pods"} 5');
    expect(metrics).toMatch(new RegExp(`berth_cluster_blocks\\{pool="pods",state="lost"\\} ${before.length}`));
    // Its leases are kept (never silently dropped), and DEL still frees them.
    const { leases } = await a.client.call<{ leases: { address: string }[] }>('ListLeases', { pool: 'pods' });
    expect(leases.map((lease) => lease.address).sort()).toEqual([...held].map((address) => address.split('/')[0]).sort());
    await a.client.call('Release', { containerId: 'a-0', ifname: 'eth0', pools: ['pods'] });
    // New addresses come only from blocks etcd says are a's.
    for (let i = 0; i < 5; i++) {
      const address = (await a.client.call<{ allocations: { address: string }[] }>('Allocate', allocateRequest(`a-new-${i}`, 'pods'), 30_000)).allocations[0]!.address;
      expect(before.some((cidr) => inside(address, cidr))).toBe(false);
      const { blocks } = await claimer.listBlocks('pods');
      expect(blocks.find((block) => inside(address, block.cidr))?.node).toBe('recover-a');
    }
    await store.close();
  }, 180_000);

  it('garbage under the prefix is refused and reported; berthd keeps serving', async () => {
    const store = cluster.store({ deadlineMs: 10_000 });
    for (const [key, value] of [
      ['/berth/blocks/pods/10.245.0.240-28', 'not json'],
      ['/berth/blocks/pods/garbage', '{"v":1}'],
      ['/berth/blocks/pods/10.245.0.224-28', JSON.stringify({ v: 1, node: 42 })],
      ['/berth/pools/pods-evil', '{"v":7}'],
      ['/berth/nodes/x', '\u0000\u0001'],
      ['/berth/foreign/key', 'x'],
    ] as const) {
      await store.create(key, value);
    }
    await store.close();
    const c = createClusterNode(cluster, 'recover-c', CONFIG);
    nodes.push(c);
    await c.start();
    for (let i = 0; i < 3; i++) await c.client.call('Allocate', allocateRequest(`c-${i}`, 'pods'), 30_000);
    const deadline = Date.now() + 20_000;
    while (!c.daemon.logs().includes('"event":"cluster.bad_record"')) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(c.daemon.process.exitCode).toBeNull();
    expect((await c.client.call<StatusReply>('Status', { pools: ['pods'] })).cluster.connected).toBe(true);
  }, 120_000);

  it('all members stopped and a berthd restarted: it serves from its database', async () => {
    const d = createClusterNode(cluster, 'recover-d', CONFIG);
    nodes.push(d);
    await d.start();
    await d.client.call('Allocate', allocateRequest('d-0', 'pods'), 30_000);
    await Promise.all([0, 1, 2].map((i) => cluster.stopMember(i)));
    await d.stop();
    await d.start();
    const { leases } = await d.client.call<{ leases: { containerId: string }[] }>('ListLeases', { pool: 'pods' });
    expect(leases.map((lease) => lease.containerId)).toEqual(['d-0']);
    await d.client.call('Check', { containerId: 'd-0', ifname: 'eth0', pools: ['pods'], expectedAddresses: [] });
    await d.client.call('Release', { containerId: 'd-0', ifname: 'eth0', pools: ['pods'] });
    // Everything its blocks hold is served without etcd; one more needs a block and gets 11 at once.
    const free = Number((await d.client.call<{ pools: { free: string }[] }>('Status', { pools: ['pods'] })).pools[0]!.free);
    expect(free).toBeGreaterThan(0);
    for (let i = 0; i < free; i++) await d.client.call('Allocate', allocateRequest(`d-again-${i}`, 'pods'), 30_000);
    const started = Date.now();
    const refused = await d.client.fail('Allocate', allocateRequest('d-over', 'pods'));
    expect(refused).toMatchObject({ reason: 'CLUSTER_UNAVAILABLE', cniCode: '11' });
    expect(refused.details).toContain('cluster pool "pods"');
    expect(Date.now() - started).toBeLessThan(15_000);
    for (const i of [0, 1, 2]) cluster.startMember(i);
    await cluster.waitReady(60_000);
  }, 180_000);

  it('berthctl cluster pools, nodes, blocks, check and release-node read etcd; status and metrics show the cluster state', async () => {
    const e = createClusterNode(cluster, 'recover-e', CONFIG);
    nodes.push(e);
    await e.start();
    // A runtime retries an ADD answered 11 while a fresh node's first round against etcd is under
    // way; this test is about what berthctl shows, so it starts once the node serves a block.
    await waitForBlocks(e, 'pods');
    await e.client.call('Allocate', allocateRequest('e-0', 'pods'), 30_000);
    const ctl = (...args: string[]) => berthctl(e.daemon.socketPath, 'cluster', '--etcd-endpoints', cluster.endpoints.join(','), ...args);
    const pools = ctl('pools', '--json');
    expect(pools.code, pools.stderr).toBe(0);
    expect(JSON.parse(pools.stdout)).toEqual([expect.objectContaining({ name: 'pods', subnet: '10.245.0.0/24', blockSize: 28, totalBlocks: '16' })]);
    const listed = ctl('nodes', '--json');
    expect(JSON.parse(listed.stdout)).toContainEqual(expect.objectContaining({ name: 'recover-e', alive: true }));
    const blocks = JSON.parse(ctl('blocks', '--json').stdout) as { cidr: string; node: string }[];
    const mine = blocks.filter((block) => block.node === 'recover-e');
    expect(mine.length).toBeGreaterThan(0);
    expect(ctl('blocks').stdout).toMatch(/^BLOCK\s+POOL\s+NODE/);
    // Alive: refused without --force.
    const refused = ctl('release-node', 'recover-e');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('node "recover-e" is alive');
    // The garbage written by the test above is found.
    const check = ctl('check', '--json');
    expect(check.code).toBe(1);
    expect((JSON.parse(check.stdout) as { findings: string[] }).findings.some((line) => line.startsWith('bad record:'))).toBe(true);
    const status = berthctl(e.daemon.socketPath, 'status');
    expect(status.stdout).toContain('cluster: connected to etcd');
    expect(status.stdout).toContain(`pods: ${mine.length} block(s)`);
    const metrics = await metricsOf(e);
    expect(metrics).toContain('berth_cluster_connected 1');
    expect(metrics).toMatch(/berth_cluster_claims_total\{pool="pods",result="claimed"\} [1-9]/);
    expect(metrics).toMatch(/berth_cluster_claim_duration_seconds_count\{pool="pods"\} [1-9]/);
    const unreachable = berthctl(e.daemon.socketPath, 'cluster', '--etcd-endpoints', '127.0.0.1:1', '--etcd-timeout-ms', '500', 'blocks');
    expect(unreachable.code).toBe(3);
  }, 120_000);
});
