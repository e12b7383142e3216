// A berthd in cluster mode on a real etcd cluster (see etcdCluster.ts): own temp dir, database,
// socket and node name; the same config file text as every other node, as a ConfigMap would give.
import Database from 'better-sqlite3';
import { addressFromKey, formatAddress, formatCidr, type IpFamily } from '../../daemon/src/ip/address.ts';
import { createDaemon, type DaemonHandle } from './daemonProcess.ts';
import { EtcdCluster, type EtcdClusterOptions } from './etcdCluster.ts';
import { afterAll, beforeAll, expect } from 'vitest';
import { BlockClaimer, type ClusterBlock } from '../../daemon/src/cluster/index.ts';
import { ipamClient, type IpamTestClient } from './ipamTestClient.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ClusterNode {
  readonly name: string;
  readonly daemon: DaemonHandle;
  client: IpamTestClient;
  /** Starts (again) with the cluster flags, waiting up to `timeoutMs` (default 90 s) for it to serve. */
  start(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
  dispose(): Promise<void>;
}

export interface ClusterNodeOptions {
  readonly labels?: string;
  readonly blockIdleSeconds?: number;
  readonly prefix?: string;
  readonly extraArgs?: readonly string[];
}

export function createClusterNode(cluster: EtcdCluster, name: string, config: string, options: ClusterNodeOptions = {}): ClusterNode {
  const dir = mkdtempSync(join(tmpdir(), `berth-clusterpool-${name}-`));
  const daemon = createDaemon(dir, config);
  const args = ['--node-name', name, '--etcd-endpoints', cluster.endpoints.join(','), '--etcd-prefix', options.prefix ?? '/berth',
    '--etcd-timeout-ms', '3000', '--block-idle-seconds', String(options.blockIdleSeconds ?? 0), '--netns-grace-seconds', '0', '--log-level', 'info',
    ...(options.labels ? ['--node-labels', options.labels] : []), ...(options.extraArgs ?? [])];
  let client: IpamTestClient | undefined;
  const node: ClusterNode = {
    name, daemon,
    get client() { return client!; },
    set client(value) { client = value; },
    async start(timeoutMs = 90_000) {
      try {
        // Generous: twenty of these start on a 2-core machine other test suites share.
        await daemon.start(args, timeoutMs);
      } catch (error) {
        throw new Error(`${name} did not start: ${String(error)}\n${daemon.logs().slice(-3000)}`);
      }
      client = ipamClient(daemon.socketPath);
    },
    async stop() {
      client?.close();
      await daemon.stop();
    },
    async dispose() {
      client?.close();
      await daemon.dispose();
    },
  };
  return node;
}

export interface StoredState {
  readonly blocks: { pool: string; cidr: string; state: string; token: string }[];
  readonly leases: { address: string; containerId: string; pool: string }[];
}

/** What a stopped node's database holds (the daemon holds an exclusive lock while it runs). */
export function readNodeDatabase(dbPath: string): StoredState {
  const db = new Database(dbPath, { readonly: true });
  try {
    const blocks = db.prepare('SELECT pool, family, first_address, prefix_length, state, token FROM cluster_blocks').all() as
      { pool: string; family: IpFamily; first_address: Buffer; prefix_length: number; state: string; token: string }[];
    const leases = db.prepare("SELECT pool, family, address, container_id FROM leases WHERE state = 'active'").all() as
      { pool: string; family: IpFamily; address: Buffer; container_id: string }[];
    return {
      blocks: blocks.map((b) => ({ pool: b.pool, cidr: formatCidr(addressFromKey(b.first_address), b.prefix_length, b.family), state: b.state, token: b.token })),
      leases: leases.map((l) => ({ pool: l.pool, address: formatAddress(addressFromKey(l.address), l.family), containerId: l.container_id })),
    };
  } finally {
    db.close();
  }
}

export function allocateRequest(containerId: string, pool: string) {
  return { containerId, ifname: 'eth0', pools: [pool], requestedIps: [], podNamespace: 'ns', podName: containerId, podUid: '', netns: '', network: 'cluster-net', podLabels: {} };
}

/**
 * Waits until the node serves at least one block of `pool` (it claims its first at start, in the
 * background). For benches: after this, ADDs from the pool never touch etcd.
 */
export async function waitForBlocks(node: ClusterNode, pool: string, timeoutMs = 30_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reply = await node.client.call<{ cluster?: { pools: { pool: string; blocks: string[] }[] } }>('Status', { pools: [pool] });
    const blocks = reply.cluster?.pools.find((entry) => entry.pool === pool)?.blocks ?? [];
    if (blocks.length > 0) return blocks;
    if (Date.now() > deadline) throw new Error(`${node.name} serves no block of "${pool}" after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * A real etcd for one describe block, and the berthd nodes its tests push into `nodes`: all are
 * ended after the block. `started` gets the cluster (and may start nodes) before any test runs.
 */
export function useEtcdCluster(options: EtcdClusterOptions, nodes: ClusterNode[],
  started: (cluster: EtcdCluster) => void | Promise<void>, timeoutMs?: number): void {
  let cluster: EtcdCluster | undefined;
  beforeAll(async () => {
    cluster = await EtcdCluster.start(options);
    await started(cluster);
  }, timeoutMs);
  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.dispose()));
    await cluster?.stop();
  });
}

/** The blocks of a cluster pool as etcd holds them; every key under it must decode. */
export async function etcdBlocks(cluster: EtcdCluster, pool = 'pods'): Promise<ClusterBlock[]> {
  // Generous: the test's own reads share a busy machine with many daemons and etcd.
  const store = cluster.store({ deadlineMs: 10_000 });
  try {
    const { blocks, problems } = await new BlockClaimer({ store, node: 'test-reader' }).listBlocks(pool);
    expect(problems).toEqual([]);
    return blocks;
  } finally {
    await store.close();
  }
}
