// A node's presence in the cluster: a leased liveness key (name, labels, last seen) that vanishes
// when the node stops renewing it, and a per-node usage record written at a bounded rate. Block
// ownership never depends on either, so an outage or a lost lease never loses a block.
import type { ClaimStore, LivenessHandle } from './claimStore.ts';
import { ClusterDataError } from './clusterErrors.ts';
import { ClusterKeys, decodeEntries, decodeNodeEntry, decodeUsageEntry, encodeRecord, isNodeName, type BlockUsage, type NodeRecord, type UsageRecord } from './clusterRecords.ts';

export interface NodePresenceOptions {
  readonly store: ClaimStore;
  readonly node: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly prefix?: string;
  /** Liveness lease time-to-live (default 15 s). */
  readonly ttlSeconds?: number;
  /** At most one usage write per this many ms (default 10 000). */
  readonly usageIntervalMs?: number;
  readonly now?: () => Date;
  /** Called for every write (the bench counts them). */
  readonly onWrite?: (kind: 'liveness' | 'usage') => void;
}

export class NodePresence {
  readonly keys: ClusterKeys;
  private readonly options: NodePresenceOptions;
  private liveness: LivenessHandle | undefined;
  private pending: readonly BlockUsage[] | undefined;
  private lastWritten = '';
  private lastWriteAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private stopped = false;
  private usageRevision: string | undefined;

  constructor(options: NodePresenceOptions) {
    if (!isNodeName(options.node)) throw new Error(`node name "${options.node}" is not valid`);
    this.options = options;
    this.keys = new ClusterKeys(options.prefix);
  }

  /** Puts the liveness key (leased; re-created by the store after a lost lease). Throws ClusterUnavailableError. */
  async start(): Promise<void> {
    this.options.onWrite?.('liveness');
    this.liveness = await this.options.store.keepAlive(this.keys.node(this.options.node), this.nodeValue(), this.options.ttlSeconds ?? 15);
  }

  /** True while the liveness key is believed present. */
  get alive(): boolean {
    return this.liveness?.alive ?? false;
  }

  /**
   * Records the node's current per-block usage. Cheap: call it as often as you like (e.g. after
   * every ADD); the store is written at most once per usageIntervalMs, and only when it changed.
   */
  reportUsage(blocks: readonly BlockUsage[]): void {
    this.pending = blocks;
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.stopped) return;
    const wait = Math.max(0, this.lastWriteAt + (this.options.usageIntervalMs ?? 10_000) - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // A failed write (etcd unreachable) stays pending and is tried again an interval later.
      this.flush().catch(() => this.schedule());
    }, wait);
    this.timer.unref();
  }

  /** Writes the pending usage now (if changed). Rejects with ClusterUnavailableError; the report stays pending. */
  async flush(): Promise<void> {
    this.writing = this.writing.catch(() => {}).then(async () => {
      const blocks = this.pending;
      if (!blocks) return;
      const sorted = [...blocks].sort((a, b) => (a.pool + a.cidr < b.pool + b.cidr ? -1 : 1));
      const fingerprint = JSON.stringify(sorted);
      if (fingerprint === this.lastWritten) { this.pending = undefined; return; }
      const record: UsageRecord = { node: this.options.node, reportedAt: this.now().toISOString(), blocks: sorted };
      this.options.onWrite?.('usage');
      this.lastWriteAt = Date.now();
      this.usageRevision = await putOwnKey(this.options.store, this.keys.usage(this.options.node), encodeRecord(record), this.usageRevision);
      this.lastWritten = fingerprint;
      if (this.pending === blocks) this.pending = undefined;
    });
    return this.writing;
  }

  /** Stops reporting and deletes the liveness key (the node is going away cleanly). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.liveness?.close();
    this.liveness = undefined;
  }

  private now(): Date {
    return (this.options.now ?? (() => new Date()))();
  }

  private nodeValue(): string {
    return encodeRecord({ name: this.options.node, labels: this.options.labels ?? {}, lastSeen: this.now().toISOString() } satisfies NodeRecord);
  }
}

/**
 * The usage key has one writer (its node), so last-writer-wins is right. One round trip in the
 * usual case: a swap on the revision this node wrote last (or a create); a mismatch hands back the
 * current revision to swap on.
 */
async function putOwnKey(store: ClaimStore, key: string, value: string, knownRevision: string | undefined): Promise<string> {
  let revision = knownRevision;
  for (let attempt = 0; attempt < 5; attempt++) {
    const outcome = revision === undefined ? await store.create(key, value) : await store.compareAndSwap(key, value, revision);
    if (outcome.ok) return outcome.revision;
    revision = outcome.current?.revision;
  }
  throw new ClusterDataError(key, 'changed by another writer on every attempt');
}

/** Live nodes (liveness keys present), and a problem for every key that is not a berth node record. */
export async function listNodes(store: ClaimStore, prefix?: string): Promise<{ nodes: NodeRecord[]; problems: ClusterDataError[] }> {
  const keys = new ClusterKeys(prefix);
  const { records, problems } = decodeEntries(await store.list(keys.nodesPrefix()), (entry) => decodeNodeEntry(keys, entry));
  return { nodes: records, problems };
}

/** The last usage report of every node (also of nodes no longer alive). */
export async function listUsage(store: ClaimStore, prefix?: string): Promise<{ usage: UsageRecord[]; problems: ClusterDataError[] }> {
  const keys = new ClusterKeys(prefix);
  const { records, problems } = decodeEntries(await store.list(keys.usagePrefix()), (entry) => decodeUsageEntry(keys, entry));
  return { usage: records, problems };
}
