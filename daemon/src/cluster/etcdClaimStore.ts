// ClaimStore on etcd v3: the only module that imports etcd3. Every unary call gets a deadline;
// etcd3's own retry and circuit breaker are off, because a retried write that had committed
// would report a failed compare (and an open breaker would delay recovery after an outage).
// This store retries by itself within the deadline, which is safe: create and compareAndSwap
// recognise their own value (it carries a claim token) in the else branch.
import { createRequire } from 'node:module';
import type { Etcd3, IKeyValue, IOptions, Lease, Watcher } from 'etcd3';
import type { IBackoff } from 'cockatiel';

// etcd3 and its gRPC stack take ~300 ms to load: required on first use, so file mode and every
// berthctl command but `cluster` never pay for them (a static import would, once bundled).
const requireModule = createRequire(import.meta.url);
let modules: { etcd3: typeof import('etcd3'); cockatiel: typeof import('cockatiel') } | undefined;
function etcdModules(): NonNullable<typeof modules> {
  return (modules ??= { etcd3: requireModule('etcd3'), cockatiel: requireModule('cockatiel') });
}
import type { ClaimStore, DeleteOutcome, LivenessHandle, StoredEntry, WatchHandle, WatchListener, WriteOutcome } from './claimStore.ts';
import { ClusterUnavailableError } from './clusterErrors.ts';

export interface EtcdClaimStoreOptions {
  /** Client URLs, e.g. ["https://10.0.0.1:2379", "https://10.0.0.2:2379"]; a bare host:port means http, or https when `tls` is set. */
  readonly endpoints: readonly string[];
  /** Deadline of every call, retries included (default 3000 ms). */
  readonly deadlineMs?: number;
  /** Client TLS: CA bundle, and a client certificate and key for mutual TLS (PEM). */
  readonly tls?: { readonly ca: Buffer; readonly cert?: Buffer; readonly key?: Buffer };
  /** etcd user/password authentication. */
  readonly auth?: { readonly username: string; readonly password: string };
}

const RETRY_PAUSE_MS = 50;

/**
 * Parses `--etcd-endpoints` ("https://10.0.0.1:2379,10.0.0.2:2379"): each is [http[s]://]host:port.
 * The error names the flag and the endpoint.
 */
export function parseEtcdEndpoints(text: string, flag = '--etcd-endpoints'): string[] {
  const endpoints = text.split(',').map((e) => e.trim()).filter((e) => e.length > 0);
  if (endpoints.length === 0) throw new Error(`${flag}: at least one endpoint is needed`);
  for (const endpoint of endpoints) {
    const match = /^(?:https?:\/\/)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})\/?$/.exec(endpoint);
    if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) throw new Error(`${flag}: "${endpoint}" is not [http[s]://]host:port`);
  }
  return endpoints;
}

export class EtcdClaimStore implements ClaimStore {
  readonly deadlineMs: number;
  private readonly client: Etcd3;
  private closed = false;
  private readonly watches = new Set<PrefixWatch>();
  private readonly livenessKeys = new Set<EtcdLiveness>();

  constructor(options: EtcdClaimStoreOptions) {
    if (options.endpoints.length === 0) throw new Error('etcd endpoints: at least one is needed');
    this.deadlineMs = options.deadlineMs ?? 3000;
    const scheme = options.tls ? 'https' : 'http';
    const hosts = options.endpoints.map((endpoint) => (/^https?:\/\//.test(endpoint) ? endpoint : `${scheme}://${endpoint}`));
    const { etcd3, cockatiel } = etcdModules();
    const noop = cockatiel.noop;
    const clientOptions: IOptions = {
      hosts,
      dialTimeout: this.deadlineMs,
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + this.deadlineMs }),
      // etcd3 types watchBackoff as an IBackoff but calls next() on it first, as its own default (a factory) shows.
      faultHandling: { host: () => noop, global: noop, watchBackoff: new cockatiel.ExponentialBackoff({ initialDelay: 100, maxDelay: 2000 }) as unknown as IBackoff<unknown> },
    };
    if (options.tls) clientOptions.credentials = { rootCertificate: options.tls.ca, ...(options.tls.key ? { privateKey: options.tls.key } : {}), ...(options.tls.cert ? { certChain: options.tls.cert } : {}) };
    if (options.auth) clientOptions.auth = { username: options.auth.username, password: options.auth.password };
    this.client = new etcd3.Etcd3(clientOptions);
  }

  create(key: string, value: string): Promise<WriteOutcome> {
    return this.call('create', true, async (deadline) => {
      const res = await this.client.if(key, 'Create', '==', 0).then(this.client.put(key).value(value)).else(this.client.get(key)).options({ deadline }).commit();
      if (res.succeeded) return { ok: true, revision: String(res.header.revision) };
      const current = toEntry(res.responses[0]?.response_range?.kvs?.[0]);
      // An earlier attempt of this very call committed (its reply was lost): the value is ours.
      if (current?.value === value) return { ok: true, revision: current.revision };
      return { ok: false, current };
    });
  }

  compareAndSwap(key: string, value: string, revision: string): Promise<WriteOutcome> {
    return this.call('compare-and-swap', true, async (deadline) => {
      const res = await this.client.if(key, 'Mod', '==', revision).then(this.client.put(key).value(value)).else(this.client.get(key)).options({ deadline }).commit();
      if (res.succeeded) return { ok: true, revision: String(res.header.revision) };
      const current = toEntry(res.responses[0]?.response_range?.kvs?.[0]);
      if (current?.value === value) return { ok: true, revision: current.revision };
      return { ok: false, current };
    });
  }

  compareAndDelete(key: string, revision: string): Promise<DeleteOutcome> {
    return this.call('compare-and-delete', true, async (deadline) => {
      const res = await this.client.if(key, 'Mod', '==', revision).then(this.client.delete().key(key)).else(this.client.get(key)).options({ deadline }).commit();
      if (res.succeeded) return { ok: true };
      return { ok: false, current: toEntry(res.responses[0]?.response_range?.kvs?.[0]) };
    });
  }

  get(key: string): Promise<StoredEntry | undefined> {
    return this.call('get', false, async (deadline) => toEntry((await this.client.get(key).options({ deadline }).exec()).kvs[0]));
  }

  list(prefix: string): Promise<StoredEntry[]> {
    return this.call('list', false, async (deadline) => (await this.listAt(prefix, deadline)).entries);
  }

  listKeys(prefix: string): Promise<string[]> {
    return this.call('list keys', false, (deadline) => this.client.getAll().prefix(prefix).sort('Key', 'Ascend').options({ deadline }).keys());
  }

  async watch(prefix: string, listener: WatchListener): Promise<WatchHandle> {
    const watch = new PrefixWatch(this, prefix, listener);
    this.watches.add(watch);
    await watch.start();
    return { close: async () => { this.watches.delete(watch); await watch.close(); } };
  }

  async keepAlive(key: string, value: string, ttlSeconds: number): Promise<LivenessHandle> {
    const liveness = new EtcdLiveness(this, key, value, ttlSeconds);
    this.livenessKeys.add(liveness);
    await liveness.establish();
    return liveness;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.watches].map((w) => w.close()));
    await Promise.allSettled([...this.livenessKeys].map((l) => l.close()));
    this.client.close();
  }

  /** @internal for PrefixWatch: a list plus the store revision it was read at. */
  async listAt(prefix: string, deadline: number): Promise<{ entries: StoredEntry[]; revision: string }> {
    const res = await this.client.getAll().prefix(prefix).sort('Key', 'Ascend').options({ deadline }).exec();
    return { entries: res.kvs.map((kv) => toEntry(kv)!), revision: String(res.header.revision) };
  }

  /** @internal */
  get etcd(): Etcd3 {
    return this.client;
  }

  /** @internal */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Runs `attempt` until it succeeds or the deadline passes, moving to another endpoint after a
   * transient failure. Past the deadline: ClusterUnavailableError (ambiguous for writes).
   */
  async call<T>(operation: string, write: boolean, attempt: (deadline: number) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.deadlineMs;
    let lastError: unknown;
    while (!this.closed) {
      try {
        return await attempt(deadline);
      } catch (error) {
        lastError = error;
        if (!isTransient(error) || Date.now() + RETRY_PAUSE_MS >= deadline) break;
        await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
      }
    }
    const detail = this.closed ? 'client closed' : describe(lastError);
    throw new ClusterUnavailableError(operation, detail, write);
  }
}

function isTransient(error: unknown): boolean {
  return error instanceof Error && etcdModules().etcd3.isRecoverableError(error);
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (/deadline/i.test(error.message) || error.name === 'GRPCDeadlineExceededError') return 'no answer within the deadline (no quorum, or etcd unreachable)';
  return `${error.name}: ${error.message}`;
}

function toEntry(kv: IKeyValue | undefined): StoredEntry | undefined {
  if (!kv) return undefined;
  return { key: kv.key.toString('utf8'), value: kv.value.toString('utf8'), revision: String(kv.mod_revision) };
}

/** A watch that survives compaction and cancellation by re-listing (onResync) and watching again. */
class PrefixWatch {
  private watcher: Watcher | undefined;
  private closed = false;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(private readonly store: EtcdClaimStore, private readonly prefix: string, private readonly listener: WatchListener) {}

  async start(): Promise<void> {
    const { entries, revision } = await this.store.call('list', false, (deadline) => this.store.listAt(this.prefix, deadline));
    if (this.closed) return;
    safely(() => this.listener.onResync(entries));
    const watcher = await this.store.etcd.watch().prefix(this.prefix).startRevision(String(BigInt(revision) + 1n)).create();
    if (this.closed) { await watcher.cancel(); return; }
    this.watcher = watcher;
    watcher.on('put', (kv) => safely(() => this.listener.onEvent({ type: 'put', entry: toEntry(kv)! })));
    watcher.on('delete', (kv) => safely(() => this.listener.onEvent({ type: 'delete', key: kv.key.toString('utf8'), revision: String(kv.mod_revision) })));
    watcher.on('disconnected', (error) => safely(() => this.listener.onError?.(error)));
    // etcd3 drops a cancelled watcher (compacted start revision, revoked permission): list and watch again.
    watcher.on('error', (error) => {
      safely(() => this.listener.onError?.(error));
      this.scheduleRestart(0);
    });
  }

  private scheduleRestart(failures: number): void {
    if (this.closed || this.restartTimer) return;
    const old = this.watcher;
    this.watcher = undefined;
    void old?.cancel().catch(() => {});
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.start().catch((error: unknown) => {
        safely(() => this.listener.onError?.(error as Error));
        this.scheduleRestart(failures + 1);
      });
    }, Math.min(2000, 100 * 2 ** failures));
    this.restartTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.watcher?.cancel().catch(() => {});
  }
}

/** A leased key; when etcd reports the lease lost, a new lease is granted and the key put again. */
class EtcdLiveness implements LivenessHandle {
  private lease: Lease | undefined;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  alive = false;

  constructor(private readonly store: EtcdClaimStore, private readonly key: string, private value: string, private readonly ttlSeconds: number) {}

  /** Grants a lease and puts the key, retrying with a fresh lease (a failed grant kills a Lease) within one deadline. */
  async establish(): Promise<void> {
    const lease = await this.store.call('liveness lease grant', true, async (deadline) => {
      const candidate = this.store.etcd.lease(this.ttlSeconds, { autoKeepAlive: true, deadline });
      candidate.on('lost', () => this.onLost(candidate));
      try {
        await candidate.grant();
        await candidate.put(this.key).value(this.value).options({ deadline }).exec();
        return candidate;
      } catch (error) {
        candidate.release();
        throw error;
      }
    });
    if (this.closed) { await lease.revoke().catch(() => {}); return; }
    this.lease = lease;
    this.alive = true;
  }

  private onLost(lease: Lease): void {
    if (this.lease !== lease) return;
    this.alive = false;
    this.lease = undefined;
    this.scheduleRetry(0);
  }

  private scheduleRetry(failures: number): void {
    if (this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.establish().catch(() => this.scheduleRetry(failures + 1));
    }, Math.min(2000, 100 * 2 ** failures));
    this.retryTimer.unref();
  }

  async update(value: string): Promise<void> {
    this.value = value;
    const lease = this.lease;
    if (!lease) return; // put with the new value once the lease is re-granted
    await this.store.call('liveness put', true, (deadline) => lease.put(this.key).value(value).options({ deadline }).exec());
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const lease = this.lease;
    this.lease = undefined;
    this.alive = false;
    if (lease) await lease.revoke({ deadline: Date.now() + this.store.deadlineMs }).catch(() => lease.release());
  }
}

function safely(run: () => void): void {
  try {
    run();
  } catch {
    // A listener's own failure must not break the watch stream (etcd3 would rethrow it later).
  }
}
