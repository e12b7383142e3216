// One etcd member for the cluster bench: Debian's /usr/bin/etcd on loopback, random ports, its
// own temp data dir. (Tests use test/support/etcdCluster.ts, which also does 3 members and TLS.)
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

export async function startEtcdMember() {
  if (!existsSync(ETCD_BINARY)) throw new Error(`${ETCD_BINARY} not found: apt-get install etcd-server`);
  const dir = mkdtempSync(join(tmpdir(), 'berth-cluster-bench-etcd-'));
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const child = spawn(ETCD_BINARY, [
    '--name', 'bench', '--data-dir', join(dir, 'data'),
    '--listen-client-urls', clientUrl, '--advertise-client-urls', clientUrl,
    '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl,
    '--initial-cluster', `bench=${peerUrl}`, '--initial-cluster-state', 'new',
    '--logger', 'zap', '--log-outputs', 'stderr', '--log-level', 'warn',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr.on('data', (chunk) => { output = (output + chunk).slice(-10_000); });
  const until = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`${clientUrl}/health`);
      if (res.ok && (await res.json()).health === 'true') break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null) throw new Error(`etcd exited: ${output}`);
    if (Date.now() > until) throw new Error(`etcd not healthy after 30 s: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    clientUrl,
    dataDir: join(dir, 'data'),
    /** etcd's own gauges (bytes): the backend file, and the part of it in use. */
    async dbSize() {
      const text = await (await fetch(`${clientUrl}/metrics`)).text();
      const gauge = (name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
      return { total: gauge('etcd_mvcc_db_total_size_in_bytes'), inUse: gauge('etcd_mvcc_db_total_size_in_use_in_bytes') };
    },
    async stop() {
      if (child.exitCode === null) {
        await new Promise((resolve) => { child.once('exit', resolve); child.kill('SIGTERM'); });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
