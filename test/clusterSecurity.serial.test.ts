// Production etcd is never plaintext: client TLS with certificates made here by openssl, and
// etcd user/password auth (turned on with Debian's etcdctl).
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdCluster } from './support/etcdCluster.ts';
import { BlockClaimer, ClusterUnavailableError, EtcdClaimStore } from '../daemon/src/cluster/index.ts';

const pool = { name: 'secure', subnet: '10.30.0.0/24', blockSize: 26, exclude: [] };

describe('client TLS with client certificates', () => {
  let cluster: EtcdCluster;
  beforeAll(async () => { cluster = await EtcdCluster.start({ members: 1, tls: true }); });
  afterAll(async () => { await cluster?.stop(); });

  it('claims over mutual TLS', async () => {
    expect(cluster.endpoints[0]).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const store = cluster.store();
    try {
      const block = await new BlockClaimer({ store, node: 'tls-node' }).claimBlock(pool);
      expect(block.cidr).toMatch(/^10\.30\.0\.\d+\/26$/);
    } finally {
      await store.close();
    }
  });

  it('refuses a client without a certificate, or with one from another CA', async () => {
    const tls = cluster.tls!;
    const variants = [
      { ca: tls.ca },
      { ca: tls.ca, cert: tls.foreignCert, key: tls.foreignKey },
    ];
    for (const variant of variants) {
      const store = new EtcdClaimStore({ endpoints: cluster.endpoints, deadlineMs: 1500, tls: variant });
      try {
        await expect(store.get('/berth/pools/secure')).rejects.toThrow(ClusterUnavailableError);
      } finally {
        await store.close();
      }
    }
  });
});

describe('etcd user/password auth', () => {
  let cluster: EtcdCluster;
  beforeAll(async () => {
    cluster = await EtcdCluster.start({ members: 1 });
    const ctl = (...args: string[]) => execFileSync('/usr/bin/etcdctl', ['--endpoints', cluster.endpoints[0]!, ...args], { env: { ...process.env, ETCDCTL_API: '3' }, stdio: ['ignore', 'pipe', 'pipe'] });
    ctl('user', 'add', 'root:root-secret');
    ctl('role', 'add', 'berth');
    ctl('role', 'grant-permission', 'berth', '--prefix=true', 'readwrite', '/berth/');
    ctl('user', 'add', 'berthd:berthd-secret');
    ctl('user', 'grant-role', 'berthd', 'berth');
    ctl('auth', 'enable');
  });
  afterAll(async () => { await cluster?.stop(); });

  it('claims with the right password, and is refused with a wrong one or outside its prefix', async () => {
    const good = cluster.store({ auth: { username: 'berthd', password: 'berthd-secret' } });
    const wrong = cluster.store({ auth: { username: 'berthd', password: 'not-it' }, deadlineMs: 1500 });
    const anonymous = cluster.store({ deadlineMs: 1500 });
    try {
      const block = await new BlockClaimer({ store: good, node: 'auth-node' }).claimBlock(pool);
      expect(block.node).toBe('auth-node');
      await expect(wrong.get('/berth/pools/secure')).rejects.toThrow(/authentication failed/i);
      await expect(anonymous.get('/berth/pools/secure')).rejects.toThrow(/user name is empty|permission denied/i);
      await expect(new BlockClaimer({ store: good, node: 'auth-node', prefix: '/elsewhere' }).claimBlock(pool)).rejects.toThrow(/permission denied/i);
    } finally {
      await Promise.all([good.close(), wrong.close(), anonymous.close()]);
    }
  });
});
