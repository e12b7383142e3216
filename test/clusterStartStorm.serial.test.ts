// 50 berthd nodes (real processes, own database and socket each) started at once on a cluster
// pool of 30 blocks in a real 3-member etcd: each block is claimed exactly once (in etcd and in
// the owners' databases), and the 20 nodes left without one say why: ADD fails with CNI 100
// naming the pool, and Status and `berthctl status` carry the same reason.
import { loadavg } from 'node:os';
import { describe, expect, it } from 'vitest';
import { IpamCallError } from '../daemon/src/grpc/ipamClient.ts';
import { cidrBounds, parseAddress, parseCidr } from '../daemon/src/ip/address.ts';
import { berthctl } from './support/berthctlExec.ts';
import { allocateRequest, createClusterNode, etcdBlocks, readNodeDatabase, useEtcdCluster, type ClusterNode } from './support/clusterNode.ts';
import type { EtcdCluster } from './support/etcdCluster.ts';
import { networkConfig, runShim } from './support/shimExec.ts';

const NODES = 50;
const BLOCKS = 30;
// 32 blocks of /28, the last two excluded: 30 claimable, fewer than the nodes.
const CONFIG = `
clusterPools:
  - name: pods
    subnet: 10.246.0.0/23
    blockSize: 28
    exclude: [10.246.1.224/27]
`;
const NO_FREE_BLOCK = `cluster pool "pods" has no free block: all 30 blocks are owned by nodes or excluded`;
// Budgets, not speed claims: fifty Node processes loading at once on a busy 2-core machine.
const START_BUDGET_MS = 420_000;
const SETTLE_BUDGET_MS = 180_000;
const RETRY_BUDGET_MS = 120_000;
// One call on a machine whose load average reaches 100 while fifty daemons run.
const CALL_BUDGET_MS = 120_000;
const GRPC_DEADLINE_EXCEEDED = 4;

interface PoolStatus { pool: string; blocks: string[]; claimError: string }
interface StatusReply { cluster: { connected: boolean; pools: PoolStatus[] } }

async function poolStatus(node: ClusterNode): Promise<PoolStatus> {
  const reply = await node.client.call<StatusReply>('Status', { pools: ['pods'] }, CALL_BUDGET_MS);
  return reply.cluster.pools.find((pool) => pool.pool === 'pods')!;
}

/**
 * A loser's ADD, retried while the answer is "try again later" (CNI 11: etcd did not answer within
 * its deadline on the loaded machine; or no answer within the call's budget), as a runtime
 * retries. The first other answer is returned.
 */
async function refusedAdd(node: ClusterNode, containerId: string) {
  const deadline = Date.now() + RETRY_BUDGET_MS;
  for (;;) {
    const refused = await node.client.call('Allocate', allocateRequest(containerId, 'pods'), CALL_BUDGET_MS).then(
      () => { throw new Error(`${node.name}: ADD succeeded on a node without a block`); },
      (error: unknown) => {
        if (!(error instanceof IpamCallError)) throw error;
        return { code: error.code, details: error.details, reason: error.reason, cniCode: error.cniCode };
      });
    const tryAgain = refused.cniCode === '11' || refused.code === GRPC_DEADLINE_EXCEEDED;
    if (!tryAgain || Date.now() > deadline) return refused;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

function inside(address: string, cidr: string): boolean {
  const { first, last } = cidrBounds(parseCidr(cidr));
  const value = parseAddress(address.split('/')[0]!).value;
  return value >= first && value <= last;
}

describe('50 cluster-mode nodes started at once on a pool of 30 blocks', () => {
  let cluster: EtcdCluster;
  const nodes: ClusterNode[] = [];
  let startedAt = 0;
  useEtcdCluster({ members: 3 }, nodes, async (started) => {
    cluster = started;
    for (let i = 0; i < NODES; i++) nodes.push(createClusterNode(cluster, `rush-${String(i).padStart(2, '0')}`, CONFIG));
    // All at once, as a DaemonSet rolls out on a fresh cluster.
    startedAt = Date.now();
    const results = await Promise.allSettled(nodes.map((node) => node.start(START_BUDGET_MS)));
    process.stdout.write(`50-node start: all ${NODES} berthd serving ${((Date.now() - startedAt) / 1000).toFixed(0)} s after they were started (load average ${loadavg()[0]!.toFixed(1)})\n`);
    const failed = results.flatMap((result) => (result.status === 'rejected' ? [String(result.reason).slice(0, 2000)] : []));
    expect(failed).toEqual([]);
  }, START_BUDGET_MS + 60_000);

  it('each block is claimed exactly once, by one node, in etcd and in its database; the others fail ADD with CNI 100 naming the pool and say why', async () => {
    // Every node either serves a block or has been told the cluster has none left.
    const deadline = Date.now() + SETTLE_BUDGET_MS;
    let statuses: PoolStatus[] = [];
    for (;;) {
      statuses = await Promise.all(nodes.map(poolStatus));
      if (statuses.every((status) => status.blocks.length > 0 || status.claimError !== '')) break;
      if (Date.now() > deadline) {
        const waiting = nodes.filter((_, i) => statuses[i]!.blocks.length === 0 && statuses[i]!.claimError === '');
        throw new Error(`${waiting.length} node(s) neither served a block nor reported why: ${waiting.map((node) => node.name).join(', ')}\n${waiting[0]!.daemon.logs().slice(-3000)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    process.stdout.write(`50-node start: every node served a block or knew why ${((Date.now() - startedAt) / 1000).toFixed(0)} s after the start\n`);

    const blocks = await etcdBlocks(cluster);
    expect(blocks).toHaveLength(BLOCKS);
    expect(new Set(blocks.map((block) => block.cidr)).size).toBe(BLOCKS);
    expect(blocks.some((block) => inside('10.246.1.224', block.cidr) || inside('10.246.1.240', block.cidr))).toBe(false);
    const names = new Set(nodes.map((node) => node.name));
    expect(blocks.every((block) => names.has(block.node))).toBe(true);
    // A node claims its next block only when fewer than a quarter of its addresses are free: at
    // start each winner holds exactly the one it claimed, so 30 nodes hold one and 20 none.
    expect(new Set(blocks.map((block) => block.node)).size).toBe(BLOCKS);

    const winners: ClusterNode[] = [];
    const losers: ClusterNode[] = [];
    nodes.forEach((node, i) => {
      const served = [...statuses[i]!.blocks].sort();
      expect(served, node.name).toEqual(blocks.filter((block) => block.node === node.name).map((block) => block.cidr).sort());
      (served.length > 0 ? winners : losers).push(node);
    });
    expect(winners).toHaveLength(BLOCKS);
    expect(losers).toHaveLength(NODES - BLOCKS);

    // Winners serve from their own block; losers are refused with the pool named.
    await Promise.all(winners.map(async (node, i) => {
      const reply = await node.client.call<{ allocations: { address: string }[] }>('Allocate', allocateRequest(`rush-win-${node.name}`, 'pods'), CALL_BUDGET_MS);
      expect(inside(reply.allocations[0]!.address, statuses[nodes.indexOf(node)]!.blocks[0]!), `${node.name} #${i}`).toBe(true);
    }));
    await Promise.all(losers.map(async (node) => {
      const refused = await refusedAdd(node, `rush-lose-${node.name}`);
      expect(refused, node.name).toMatchObject({ reason: 'POOL_EXHAUSTED', cniCode: '100' });
      expect(refused.details).toContain(NO_FREE_BLOCK);
      expect((await poolStatus(node)).claimError).toBe(NO_FREE_BLOCK);
    }));
    // What a runtime sees from the plugin, and what an operator sees from berthctl.
    const loser = losers[0]!;
    let add = await runShim({ command: 'ADD', containerId: 'rush-shim' }, networkConfig(loser.daemon.socketPath, {}, { pools: ['pods'] }), CALL_BUDGET_MS);
    for (const deadline = Date.now() + RETRY_BUDGET_MS; add.json?.code === 11 && Date.now() < deadline;) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      add = await runShim({ command: 'ADD', containerId: 'rush-shim' }, networkConfig(loser.daemon.socketPath, {}, { pools: ['pods'] }), CALL_BUDGET_MS);
    }
    expect(add.code).not.toBe(0);
    expect(add.json).toMatchObject({ code: 100 });
    expect(String(add.json?.msg) + String(add.json?.details)).toContain('cluster pool "pods"');
    const status = berthctl(loser.daemon.socketPath, 'status');
    expect(status.stdout).toContain(`pods: 0 block(s)`);
    expect(status.stdout).toContain(`CANNOT CLAIM: ${NO_FREE_BLOCK}`);

    // No berthd ended; then, stopped, each database records exactly the blocks etcd gives its node.
    expect(nodes.filter((node) => node.daemon.process.exitCode !== null).map((node) => node.name)).toEqual([]);
    await Promise.all(nodes.map((node) => node.stop()));
    const recordedBy = new Map<string, string>();
    for (const node of nodes) {
      const saved = readNodeDatabase(node.daemon.dbPath);
      const owned = saved.blocks.filter((block) => block.state === 'owned');
      expect(owned.map((block) => block.cidr).sort(), node.name).toEqual(blocks.filter((block) => block.node === node.name).map((block) => block.cidr).sort());
      for (const block of owned) {
        expect(recordedBy.get(block.cidr), `${block.cidr} recorded by ${recordedBy.get(block.cidr)} and ${node.name}`).toBeUndefined();
        recordedBy.set(block.cidr, node.name);
        expect(blocks.find((b) => b.cidr === block.cidr)?.token).toBe(block.token);
      }
      expect(saved.leases).toHaveLength(winners.includes(node) ? 1 : 0);
    }
    expect(recordedBy.size).toBe(BLOCKS);
  }, SETTLE_BUDGET_MS + 2 * (RETRY_BUDGET_MS + CALL_BUDGET_MS) + 300_000);
});
