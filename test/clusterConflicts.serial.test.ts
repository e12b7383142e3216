// A restarted node and the blocks reclaimed while it was down: its first ADD never comes from one
// of them, and the leases it still holds in them stay conflicts (reported, never served from)
// whoever claims the block next, this node included, until an operator or a DEL frees them.
// Real berthd processes, a real 3-member etcd.
import { describe, expect, it } from 'vitest';
import { BlockClaimer, ClusterPoolRegistry } from '../daemon/src/cluster/index.ts';
import { encodeRecord } from '../daemon/src/cluster/clusterRecords.ts';
import { cidrBounds, parseAddress, parseCidr } from '../daemon/src/ip/address.ts';
import { berthctl } from './support/berthctlExec.ts';
import type { EtcdCluster } from './support/etcdCluster.ts';
import { allocateRequest, createClusterNode, useEtcdCluster, type ClusterNode } from './support/clusterNode.ts';
import { LOG_LINE_WAIT } from './support/daemonProcess.ts';
import { ipamClient } from './support/ipamTestClient.ts';

// Four /28 blocks: few enough that the node runs out and would be tempted by the lost one.
const CONFIG = `
clusterPools:
  - name: pods
    subnet: 10.247.0.0/26
    blockSize: 28
`;
// The reconcile runs every 10 s; a budget, not a claim about speed.
const RECONCILE_BUDGET_MS = 40_000;

interface PoolStatus { pool: string; blocks: string[]; lostBlocks: string[]; conflicts: number; claimError: string }
interface StatusReply { pools: { name: string; free: string }[]; cluster: { connected: boolean; pools: PoolStatus[] } }

function inside(address: string, cidr: string): boolean {
  const { first, last } = cidrBounds(parseCidr(cidr));
  const value = parseAddress(address.split('/')[0]!).value;
  return value >= first && value <= last;
}

async function status(node: ClusterNode): Promise<PoolStatus> {
  return (await node.client.call<StatusReply>('Status', { pools: ['pods'] })).cluster.pools[0]!;
}

async function waitFor(node: ClusterNode, what: string, done: (status: PoolStatus) => boolean): Promise<PoolStatus> {
  const deadline = Date.now() + RECONCILE_BUDGET_MS;
  for (;;) {
    const current = await status(node);
    if (done(current)) return current;
    if (Date.now() > deadline) throw new Error(`${node.name}: ${what} not seen within ${RECONCILE_BUDGET_MS} ms; status ${JSON.stringify(current)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function metricsOf(node: ClusterNode): Promise<string> {
  const started = node.daemon.logs().split('\n').filter((line) => line.includes('"event":"daemon.started"')).at(-1) ?? '';
  return (await fetch(`${/"metrics":"([^"]+)"/.exec(started)![1]}/metrics`)).text();
}

async function allocate(node: ClusterNode, containerId: string): Promise<string> {
  return (await node.client.call<{ allocations: { address: string }[] }>('Allocate', allocateRequest(containerId, 'pods'), 30_000)).allocations[0]!.address;
}

describe('conflicting leases in a block lost while the node was down', () => {
  let cluster: EtcdCluster;
  const nodes: ClusterNode[] = [];
  useEtcdCluster({ members: 3 }, nodes, (started) => { cluster = started; });

  it('the first ADD after restart is not served from the lost block; its leases stay conflicts when another node or this one is given the block again, until released', async () => {
    const a = createClusterNode(cluster, 'conflict-a', CONFIG);
    nodes.push(a);
    await a.start();
    const held: string[] = [];
    for (let i = 0; i < 3; i++) held.push(await allocate(a, `a-${i}`));
    const [lostBlock] = (await status(a)).blocks;
    expect(held.every((address) => inside(address, lostBlock!))).toBe(true);
    await a.stop();

    // Released while a is down (no --force needed): free in etcd, still in a's database.
    const store = cluster.store({ deadlineMs: 10_000 });
    const operator = new BlockClaimer({ store, node: 'operator' });
    expect((await operator.releaseNode('conflict-a')).released.map((block) => block.cidr)).toEqual([lostBlock]);
    const key = operator.keys.block('pods', parseCidr(lostBlock!));
    const poolHash = (await new ClusterPoolRegistry(store, 'operator').list()).pools[0]!.hash;
    const giveTo = async (node: string, token: string) => {
      const current = await store.get(key);
      const value = encodeRecord({ node, token, claimedAt: new Date().toISOString(), poolHash });
      const outcome = current ? await store.compareAndSwap(key, value, current.revision) : await store.create(key, value);
      expect(outcome.ok).toBe(true);
    };

    // The very first ADD after start, sent while berthd opens its socket (before its first
    // contact with etcd is over): the database still says the block is a's, etcd does not.
    const starting = a.start();
    let first: string | undefined;
    while (first === undefined) {
      const early = ipamClient(a.daemon.socketPath);
      try {
        first = (await early.call<{ allocations: { address: string }[] }>('Allocate', allocateRequest('a-first', 'pods'), 30_000)).allocations[0]!.address;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 2));
      } finally {
        early.close();
      }
    }
    await starting;
    expect(inside(first, lostBlock!), `${first} came from ${lostBlock}, reclaimed while the node was down`).toBe(false);
    const lost = await waitFor(a, 'the lost block', (s) => s.lostBlocks.includes(lostBlock!));
    expect(lost).toMatchObject({ lostBlocks: [lostBlock], conflicts: 3 });
    expect(lost.blocks).not.toContain(lostBlock);

    // The node fills the pool: it claims every other block and never the lost one, though etcd has it free.
    const more: string[] = [];
    for (let i = 0; ; i++) {
      const reply = await a.client.call<{ allocations: { address: string }[] }>('Allocate', allocateRequest(`a-fill-${i}`, 'pods'), 30_000).catch((error: unknown) => error as Error);
      if (reply instanceof Error) {
        const refused = await a.client.fail('Allocate', allocateRequest(`a-fill-${i}`, 'pods'));
        expect(refused).toMatchObject({ reason: 'POOL_EXHAUSTED', cniCode: '100' });
        expect(refused.details).toContain('lost by this node that still holds conflicting leases in them');
        break;
      }
      more.push(reply.allocations[0]!.address);
      expect(i).toBeLessThan(64);
    }
    expect(more.some((address) => inside(address, lostBlock!))).toBe(false);
    expect(await store.get(key)).toBeUndefined();
    expect((await status(a)).blocks).toHaveLength(3);

    // Another node claims it: a's leases there stay conflicts.
    await giveTo('conflict-b', 'conflict-b/t1');
    await new Promise((resolve) => setTimeout(resolve, 11_000));
    expect(await status(a)).toMatchObject({ lostBlocks: [lostBlock], conflicts: 3 });

    // etcd names a the owner again (say an operator hands it back): still not served, still reported.
    await giveTo('conflict-a', 'conflict-a/handed-back');
    await waitFor(a, 'the block held back', () => a.daemon.logs().includes('"event":"cluster.block_held_back"'));
    const heldBack = await status(a);
    expect(heldBack).toMatchObject({ lostBlocks: [lostBlock], conflicts: 3 });
    expect(heldBack.blocks).not.toContain(lostBlock);
    await expect(a.client.fail('Allocate', allocateRequest('a-while-held-back', 'pods'))).resolves.toMatchObject({ cniCode: '100' });
    expect(await metricsOf(a)).toContain('berth_cluster_lease_conflicts{pool="pods"} 3');
    const ctlStatus = berthctl(a.daemon.socketPath, 'status');
    expect(ctlStatus.stdout).toContain(`LOST ${lostBlock} with 3 conflicting lease(s)`);

    // The operator resolves the conflicts: the block is this node's again and served.
    for (let i = 0; i < 3; i++) expect(berthctl(a.daemon.socketPath, 'release', `a-${i}`).code).toBe(0);
    const resolved = await waitFor(a, 'the block served again', (s) => s.blocks.includes(lostBlock!));
    expect(resolved).toMatchObject({ lostBlocks: [], conflicts: 0 });
    const again = await allocate(a, 'a-after-resolve');
    expect(inside(again, lostBlock!)).toBe(true);
    await store.close();
  }, 240_000);

  it('a block released with release-node --force while its node runs stops being served within 5 s (its key is watched), the periodic reconcile not awaited', async () => {
    const c = createClusterNode(cluster, 'conflict-c', CONFIG.replace('10.247.0.0/26', '10.248.0.0/26').replace('name: pods', 'name: pods-c'));
    nodes.push(c);
    await c.start();
    const address = (await c.client.call<{ allocations: { address: string }[] }>('Allocate', allocateRequest('c-0', 'pods-c'), 30_000)).allocations[0]!.address;
    const statusOf = async () => (await c.client.call<StatusReply>('Status', { pools: ['pods-c'] })).cluster.pools[0]!;
    const [block] = (await statusOf()).blocks;
    expect(inside(address, block!)).toBe(true);
    // Let the node settle into its periodic rounds (and watch the key) before the operator acts.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const released = berthctl(c.daemon.socketPath, 'cluster', '--etcd-endpoints', cluster.endpoints.join(','), 'release-node', 'conflict-c', '--force');
    expect(released.code, released.stderr).toBe(0);
    const since = Date.now();
    let current = await statusOf();
    while (!current.lostBlocks.includes(block!) && Date.now() - since < RECONCILE_BUDGET_MS) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      current = await statusOf();
    }
    const tookMs = Date.now() - since;
    expect(current).toMatchObject({ lostBlocks: [block], conflicts: 1 });
    expect(tookMs, c.daemon.logs().split('\n').filter((line) => line.includes('cluster.')).slice(-10).join('\n')).toBeLessThan(5000);
    await expect.poll(() => c.daemon.logs(), LOG_LINE_WAIT).toContain('"event":"cluster.block_changed"');
    const next = (await c.client.call<{ allocations: { address: string }[] }>('Allocate', allocateRequest('c-1', 'pods-c'), 30_000)).allocations[0]!.address;
    expect(inside(next, block!)).toBe(false);
  }, 120_000);
});
