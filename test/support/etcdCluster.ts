// A real etcd cluster for tests: Debian's /usr/bin/etcd (3.4), three members (or one) on loopback
// with random free ports and their own temp data dirs. Members can be stopped and started one at
// a time to lose and regain quorum. TLS mode makes a CA, a server certificate (SAN 127.0.0.1) and
// a client certificate with openssl, and requires client certificates.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdClaimStore, type EtcdClaimStoreOptions } from '../../daemon/src/cluster/etcdClaimStore.ts';

export const ETCD_BINARY = '/usr/bin/etcd';

export interface EtcdTls {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
  /** A client certificate signed by another CA: etcd must refuse it. */
  readonly foreignCert: Buffer;
  readonly foreignKey: Buffer;
}

export interface EtcdMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  process: ChildProcess | undefined;
  output: string;
}

export interface EtcdClusterOptions {
  /** 1 or 3 (default 3). */
  readonly members?: number;
  readonly tls?: boolean;
}

export class EtcdCluster {
  readonly members: EtcdMember[];
  readonly tls: EtcdTls | undefined;
  private constructor(readonly dir: string, members: EtcdMember[], tls: EtcdTls | undefined) {
    this.members = members;
    this.tls = tls;
  }

  /**
   * Starts the members and waits until the cluster answers a linearizable read. A port found free
   * can be taken (by an outgoing connection's ephemeral port) before etcd binds it: then the
   * members are stopped and started again on other ports, up to three times.
   */
  static async start(options: EtcdClusterOptions = {}): Promise<EtcdCluster> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await EtcdCluster.startOnce(options);
      } catch (error) {
        if (attempt >= 3 || !/address already in use/.test((error as Error).message)) throw error;
      }
    }
  }

  private static async startOnce(options: EtcdClusterOptions): Promise<EtcdCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'berth-cluster-etcd-'));
    let cluster: EtcdCluster | undefined;
    try {
      const count = options.members ?? 3;
      const tls = options.tls ? makeCertificates(join(dir, 'pki')) : undefined;
      const scheme = tls ? 'https' : 'http';
      const members: EtcdMember[] = [];
      for (let i = 0; i < count; i++) {
        const [clientPort, peerPort] = [await freePort(), await freePort()];
        members.push({ name: `m${i}`, clientUrl: `${scheme}://127.0.0.1:${clientPort}`, peerUrl: `http://127.0.0.1:${peerPort}`, dataDir: join(dir, `m${i}`), process: undefined, output: '' });
      }
      cluster = new EtcdCluster(dir, members, tls);
      for (const member of members) cluster.spawnMember(member);
      await cluster.waitReady();
      return cluster;
    } catch (error) {
      // The members that did start must not outlive a failed start.
      if (cluster) await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  /** A store on this cluster (TLS client certificate included in TLS mode). Close it yourself. */
  store(options: Partial<EtcdClaimStoreOptions> = {}): EtcdClaimStore {
    return new EtcdClaimStore({
      endpoints: this.endpoints,
      deadlineMs: 3000,
      ...(this.tls ? { tls: { ca: this.tls.ca, cert: this.tls.cert, key: this.tls.key } } : {}),
      ...options,
    });
  }

  /** Stops one member (SIGTERM, then waits for its exit). */
  async stopMember(index: number): Promise<void> {
    const member = this.members[index]!;
    const child = member.process;
    if (!child || child.exitCode !== null) return;
    member.process = undefined;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }

  /** Starts a stopped member again on its data dir (it rejoins the cluster). */
  startMember(index: number): void {
    const member = this.members[index]!;
    if (member.process) return;
    this.spawnMember(member);
  }

  /**
   * Polls until a linearizable read succeeds (quorum and a leader), or throws after `timeoutMs`.
   * The read goes through a fresh client, or through `through` when the caller's own long-lived
   * store must answer again: after members restart, its connections to them reconnect with
   * back-off, and a call can fail for a few seconds after a fresh client already gets answers.
   */
  async waitReady(timeoutMs = 30_000, through?: EtcdClaimStore): Promise<void> {
    const store = through ?? this.store({ deadlineMs: 1000 });
    const until = Date.now() + timeoutMs;
    try {
      for (;;) {
        try {
          await store.get('/berth-test-ready');
          return;
        } catch (error) {
          const dead = this.members.find((m) => m.process && m.process.exitCode !== null);
          if (dead) throw new Error(`etcd member ${dead.name} exited: ${dead.output.slice(-2000)}`);
          if (Date.now() > until) throw new Error(`etcd not ready after ${timeoutMs} ms: ${(error as Error).message}\n${this.members.map((m) => m.output.slice(-800)).join('\n')}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    } finally {
      if (!through) await store.close();
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((_, i) => this.stopMember(i)));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private spawnMember(member: EtcdMember): void {
    const initialCluster = this.members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
    const args = [
      '--name', member.name,
      '--data-dir', member.dataDir,
      '--listen-client-urls', member.clientUrl,
      '--advertise-client-urls', member.clientUrl,
      '--listen-peer-urls', member.peerUrl,
      '--initial-advertise-peer-urls', member.peerUrl,
      '--initial-cluster', initialCluster,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', `berth-cluster-${process.pid}-${this.dir.slice(-6)}`,
      '--listen-metrics-urls', '',
      '--logger', 'zap',
      '--log-outputs', 'stderr',
      '--log-level', 'warn',
      // A busy 2-core machine: a longer election timeout avoids leader flapping under test load.
      '--heartbeat-interval', '100',
      '--election-timeout', '1500',
    ];
    if (this.tls) {
      const pki = join(this.dir, 'pki');
      args.push('--cert-file', join(pki, 'server.crt'), '--key-file', join(pki, 'server.key'), '--trusted-ca-file', join(pki, 'ca.crt'), '--client-cert-auth');
    }
    const child = spawn(ETCD_BINARY, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    member.process = child;
    member.output = '';
    const keep = (chunk: Buffer) => { member.output = (member.output + chunk.toString()).slice(-20_000); };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    liveChildren.add(child);
    child.once('exit', () => liveChildren.delete(child));
  }
}

// Members must not outlive a test worker that dies before its afterAll.
const liveChildren = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** CA, server cert (SAN IP 127.0.0.1) and client cert, all P-256; plus a client cert of a foreign CA. */
function makeCertificates(pki: string): EtcdTls {
  mkdirSync(pki, { recursive: true });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = (name: string) => openssl(['req', '-x509', ...ec, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`], pki);
  const leaf = (name: string, caName: string, ext: string) => {
    writeFileSync(join(pki, `${name}.ext`), ext);
    openssl(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], pki);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.crt`, '-CAkey', `${caName}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`], pki);
  };
  ca('ca');
  ca('foreign-ca');
  leaf('server', 'ca', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
  leaf('client', 'ca', 'extendedKeyUsage=clientAuth\n');
  leaf('foreign-client', 'foreign-ca', 'extendedKeyUsage=clientAuth\n');
  const read = (file: string) => readFileSync(join(pki, file));
  return { ca: read('ca.crt'), cert: read('client.crt'), key: read('client.key'), foreignCert: read('foreign-client.crt'), foreignKey: read('foreign-client.key') };
}
