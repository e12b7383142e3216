// etcd for the cluster bench: Debian's /usr/bin/etcd on loopback, random ports, its own data dir
// (under `parentDir` when given, so the bench's workDir cleanup removes it). One member, or three
// (a real quorum: every write is replicated and fsync'd by a majority before it is acknowledged).
// Tests use test/support/etcdCluster.ts, which also stops members and does TLS.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ETCD_BINARY = '/usr/bin/etcd';

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** One member, as the standalone simulation has always used. */
export function startEtcdMember(parentDir) {
  return startEtcdCluster({ members: 1, parentDir });
}

export async function startEtcdCluster({ members = 3, parentDir = tmpdir() } = {}) {
  if (!existsSync(ETCD_BINARY)) throw new Error(`${ETCD_BINARY} not found: apt-get install etcd-server`);
  const dir = mkdtempSync(join(parentDir, 'berth-cluster-bench-etcd-'));
  const specs = [];
  for (let i = 0; i < members; i++) {
    const [clientPort, peerPort] = [await freePort(), await freePort()];
    specs.push({ name: `bench${i}`, clientUrl: `http://127.0.0.1:${clientPort}`, peerUrl: `http://127.0.0.1:${peerPort}`, dataDir: join(dir, `m${i}`) });
  }
  const initialCluster = specs.map((s) => `${s.name}=${s.peerUrl}`).join(',');
  const children = specs.map((s) => {
    const child = spawn(ETCD_BINARY, [
      '--name', s.name, '--data-dir', s.dataDir,
      '--listen-client-urls', s.clientUrl, '--advertise-client-urls', s.clientUrl,
      '--listen-peer-urls', s.peerUrl, '--initial-advertise-peer-urls', s.peerUrl,
      '--initial-cluster', initialCluster, '--initial-cluster-state', 'new', '--initial-cluster-token', `berth-bench-${process.pid}`,
      '--logger', 'zap', '--log-outputs', 'stderr', '--log-level', 'warn',
      // A shared 2-core machine: a longer election timeout keeps the leader from flapping under load.
      ...(members > 1 ? ['--heartbeat-interval', '100', '--election-timeout', '1500'] : []),
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.output = '';
    child.stderr.on('data', (chunk) => { child.output = (child.output + chunk).slice(-10_000); });
    return child;
  });
  const stop = async () => {
    await Promise.all(children.map((child) => (child.exitCode !== null ? undefined : new Promise((resolve) => { child.once('exit', resolve); child.kill('SIGTERM'); }))));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitHealthy(specs, children);
  } catch (error) {
    await stop();
    throw error;
  }
  const clientUrls = specs.map((s) => s.clientUrl);
  return {
    members, endpoints: clientUrls, clientUrl: clientUrls[0],
    /** etcd's own gauges (bytes) for the largest member's backend file, and the part of it in use. */
    async dbSize() {
      const sizes = await Promise.all(clientUrls.map(async (url) => {
        const text = await (await fetch(`${url}/metrics`)).text();
        const gauge = (name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
        return { total: gauge('etcd_mvcc_db_total_size_in_bytes'), inUse: gauge('etcd_mvcc_db_total_size_in_use_in_bytes') };
      }));
      return sizes.reduce((a, b) => (b.total > a.total ? b : a));
    },
    /**
     * The store's revision (a linearizable range through the JSON gateway). It grows by one per
     * transaction that writes, however many keys it writes: the count of etcd writes in this bench.
     */
    async revision() {
      const response = await fetch(`${clientUrls[0]}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: Buffer.from('/berth-bench-revision').toString('base64') }) });
      return Number((await response.json()).header.revision);
    },
    /** How many keys start with `prefix` (a count-only range: nothing is transferred). */
    async countKeys(prefix) {
      const end = Buffer.from(prefix);
      end[end.length - 1] += 1;
      const body = { key: Buffer.from(prefix).toString('base64'), range_end: end.toString('base64'), count_only: true };
      const response = await fetch(`${clientUrls[0]}/v3/kv/range`, { method: 'POST', body: JSON.stringify(body) });
      return Number((await response.json()).count ?? 0);
    },
    stop,
  };
}

async function waitHealthy(specs, children) {
  const until = Date.now() + 60_000;
  for (;;) {
    const healthy = await Promise.all(specs.map(async (s) => {
      try {
        const res = await fetch(`${s.clientUrl}/health`);
        return res.ok && (await res.json()).health === 'true';
      } catch {
        return false; // not listening yet
      }
    }));
    if (healthy.every(Boolean)) return;
    const dead = children.find((child) => child.exitCode !== null);
    if (dead) throw new Error(`etcd exited: ${dead.output}`);
    if (Date.now() > until) throw new Error(`etcd not healthy after 60 s: ${children.map((c) => c.output.slice(-800)).join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
