// 20 berthd nodes (real processes, own database and socket each) on one cluster pool in a real
// 3-member etcd: an ADD/DEL storm, then the same storm while quorum is lost.
import { describe, expect, it } from 'vitest';
import { parseAddress, parseCidr, cidrBounds } from '../daemon/src/ip/address.ts';
import { allocateRequest, createClusterNode, etcdBlocks, useEtcdCluster, readNodeDatabase, type ClusterNode } from './support/clusterNode.ts';
import type { EtcdCluster } from './support/etcdCluster.ts';

const NODES = 20;
// /28 blocks (13 addresses each with a gateway) so that the storm makes every node claim several.
const CONFIG = `
clusterPools:
  - name: pods
    subnet: 10.244.0.0/20
    blockSize: 28
`;

interface AllocateReply { allocations: { address: string; pool: string }[] }
interface StatusReply { pools: { name: string; free: string }[]; cluster: { connected: boolean; outage: string; pools: { pool: string; blocks: string[] }[] } }

function inside(address: string, cidr: string): boolean {
  const { first, last } = cidrBounds(parseCidr(cidr));
  const value = parseAddress(address.split('/')[0]!).value;
  return value >= first && value <= last;
}

/** Runs each node's operations in order, all nodes at once. */
async function storm(nodes: readonly ClusterNode[], perNode: number, round: string, onFailure: (node: ClusterNode, error: unknown, startedAt: number) => void) {
  let adds = 0;
  let dels = 0;
  await Promise.all(nodes.map(async (node) => {
    const held: string[] = [];
    for (let i = 0; i < perNode; i++) {
      // Seven ADDs then three DELs of the oldest: the node keeps growing and claims blocks as it goes.
      if (i % 10 >= 7 && held.length > 0) {
        const containerId = held.shift()!;
        await node.client.call('Release', { containerId, ifname: 'eth0', pools: ['pods'] });
        dels++;
        continue;
      }
      const containerId = `${round}-${node.name}-${i}`;
      const startedAt = Date.now();
      try {
        await node.client.call<AllocateReply>('Allocate', allocateRequest(containerId, 'pods'), 30_000);
        held.push(containerId);
        adds++;
      } catch (error) {
        onFailure(node, error, startedAt);
      }
    }
  }));
  return { adds, dels };
}

/** A few at a time: twenty node processes loading at once starve a busy 2-core machine. */
async function startAll(nodes: readonly ClusterNode[]): Promise<void> {
  for (let i = 0; i < nodes.length; i += 4) await Promise.all(nodes.slice(i, i + 4).map((node) => node.start()));
}

describe('20 cluster-mode nodes on a real 3-member etcd', () => {
  let cluster: EtcdCluster;
  const nodes: ClusterNode[] = [];
  useEtcdCluster({ members: 3 }, nodes, async (started) => {
    cluster = started;
    for (let i = 0; i < NODES; i++) nodes.push(createClusterNode(cluster, `storm-${String(i).padStart(2, '0')}`, CONFIG));
    await startAll(nodes);
  }, 180_000);

  it('a storm of 2,000 ADD/DEL: no address held twice, no block with two owners, in etcd and in every database', async () => {
    const failures: string[] = [];
    const { adds, dels } = await storm(nodes, 100, 'a', (node, error) => failures.push(`${node.name}: ${String(error)}`));
    expect(failures).toEqual([]);
    expect(adds + dels).toBe(2000);

    const blocks = await etcdBlocks(cluster);
    const ownerOf = new Map(blocks.map((block) => [block.cidr, block.node]));
    // Every address held is in a block etcd says its node owns; no address is held twice.
    const holders = new Map<string, string>();
    for (const node of nodes) {
      const { leases } = await node.client.call<{ leases: { address: string; pool: string }[] }>('ListLeases', { pool: 'pods' });
      expect(leases).toHaveLength(70 - 30);
      for (const lease of leases) {
        expect(holders.get(lease.address), `${lease.address} held by ${holders.get(lease.address)} and ${node.name}`).toBeUndefined();
        holders.set(lease.address, node.name);
        const block = blocks.find((candidate) => inside(lease.address, candidate.cidr));
        expect(block?.node, `${lease.address} on ${node.name}`).toBe(node.name);
      }
    }
    expect(holders.size).toBe(NODES * 40);

    // From the databases: each block recorded by exactly the node etcd names, none by two nodes.
    await Promise.all(nodes.map((node) => node.stop()));
    const recordedBy = new Map<string, string>();
    for (const node of nodes) {
      const saved = readNodeDatabase(node.daemon.dbPath);
      expect(saved.leases).toHaveLength(40);
      for (const block of saved.blocks.filter((b) => b.state === 'owned')) {
        expect(recordedBy.get(block.cidr), `${block.cidr} recorded by ${recordedBy.get(block.cidr)} and ${node.name}`).toBeUndefined();
        recordedBy.set(block.cidr, node.name);
        expect(ownerOf.get(block.cidr)).toBe(node.name);
      }
    }
    expect([...recordedBy.keys()].sort()).toEqual([...ownerOf.keys()].sort());
    await startAll(nodes);
  }, 240_000);

  it('quorum lost (2 of 3 members stopped for 30 s) during a storm: owned free addresses serve, the rest get 11 at once, claims resume within 5 s of quorum', async () => {
    const status = async (node: ClusterNode) => node.client.call<StatusReply>('Status', { pools: ['pods'] });
    await cluster.stopMember(1);
    await cluster.stopMember(2);
    const lostAt = Date.now();
    // Every node notices and says so.
    for (const node of nodes) {
      const deadline = Date.now() + 30_000;
      while ((await status(node)).cluster.connected) {
        expect(Date.now()).toBeLessThan(deadline);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    const degraded = await status(nodes[0]!);
    expect(degraded.cluster.outage).not.toBe('');
    // The storm goes on: each node fills what its blocks have free, then needs a block it cannot claim.
    const outcomes = await Promise.all(nodes.map(async (node) => {
      const free = Number((await status(node)).pools.find((pool) => pool.name === 'pods')!.free);
      const served: string[] = [];
      for (let i = 0; i < free; i++) {
        const reply = await node.client.call<AllocateReply>('Allocate', allocateRequest(`q-${node.name}-${i}`, 'pods'), 30_000);
        served.push(reply.allocations[0]!.address);
      }
      // DEL and CHECK work too, from the database alone.
      await node.client.call('Check', { containerId: `q-${node.name}-0`, ifname: 'eth0', pools: ['pods'], expectedAddresses: [] });
      await node.client.call('Release', { containerId: `q-${node.name}-0`, ifname: 'eth0', pools: ['pods'] });
      await node.client.call('Allocate', allocateRequest(`q-${node.name}-0`, 'pods'), 30_000);
      const refusals = [];
      for (let i = 0; i < 2; i++) refusals.push(await node.client.fail('Allocate', allocateRequest(`q-${node.name}-over-${i}`, 'pods')));
      return { node: node.name, free, served, refusals };
    }));
    for (const outcome of outcomes) {
      expect(outcome.served).toHaveLength(outcome.free);
      for (const refusal of outcome.refusals) {
        expect(refusal).toMatchObject({ reason: 'CLUSTER_UNAVAILABLE', cniCode: '11' });
        expect(refusal.details).toContain('cluster pool "pods"');
      }
    }
    // Quorum stays lost for 30 s in all.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, lostAt + 30_000 - Date.now())));
    cluster.startMember(1);
    cluster.startMember(2);
    await cluster.waitReady();
    const back = Date.now();
    // The first node that was refused gets a block (and its address) within 5 s of quorum.
    const node = nodes[0]!;
    let resumedAt: number | undefined;
    while (resumedAt === undefined && Date.now() - back < 20_000) {
      try {
        await node.client.call<AllocateReply>('Allocate', allocateRequest(`q-${node.name}-after`, 'pods'), 30_000);
        resumedAt = Date.now();
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    expect(resumedAt, 'no claim within 20 s of quorum').toBeDefined();
    expect(resumedAt! - back).toBeLessThan(5000);
    // Still one owner per block, and every address in its node's blocks.
    const blocks = await etcdBlocks(cluster);
    for (const current of nodes) {
      const { leases } = await current.client.call<{ leases: { address: string }[] }>('ListLeases', { pool: 'pods' });
      for (const lease of leases) expect(blocks.find((block) => inside(lease.address, block.cidr))?.node).toBe(current.name);
    }
  }, 240_000);
});
