// A ClaimStore wrapper that loses replies, to reproduce an ambiguous write deterministically: the
// real etcd commits the write, and the caller gets "unavailable, may have committed" instead.
import type { ClaimStore, DeleteOutcome, LivenessHandle, StoredEntry, WatchHandle, WatchListener, WriteOutcome } from '../../daemon/src/cluster/claimStore.ts';
import { ClusterUnavailableError } from '../../daemon/src/cluster/clusterErrors.ts';

export class ReplyDroppingStore implements ClaimStore {
  /** Creates whose reply is dropped after the write committed. */
  dropCommittedCreates = 0;
  /** Creates that fail as if the request was lost on its way (nothing committed), reported as ambiguous. */
  dropUnsentCreates = 0;
  dropCommittedDeletes = 0;
  /** Reads that fail as unavailable (the store went away right after a lost reply). */
  failGets = 0;
  readonly committedButDropped: string[] = [];

  constructor(private readonly inner: ClaimStore) {}

  async create(key: string, value: string): Promise<WriteOutcome> {
    if (this.dropUnsentCreates > 0) {
      this.dropUnsentCreates -= 1;
      throw new ClusterUnavailableError('create', 'reply lost (test)', true);
    }
    const outcome = await this.inner.create(key, value);
    if (this.dropCommittedCreates > 0) {
      this.dropCommittedCreates -= 1;
      if (outcome.ok) this.committedButDropped.push(key);
      throw new ClusterUnavailableError('create', 'reply lost after commit (test)', true);
    }
    return outcome;
  }
  compareAndSwap(key: string, value: string, revision: string): Promise<WriteOutcome> {
    return this.inner.compareAndSwap(key, value, revision);
  }
  async compareAndDelete(key: string, revision: string): Promise<DeleteOutcome> {
    const outcome = await this.inner.compareAndDelete(key, revision);
    if (this.dropCommittedDeletes > 0) {
      this.dropCommittedDeletes -= 1;
      throw new ClusterUnavailableError('compare-and-delete', 'reply lost after commit (test)', true);
    }
    return outcome;
  }
  async get(key: string): Promise<StoredEntry | undefined> {
    if (this.failGets > 0) {
      this.failGets -= 1;
      throw new ClusterUnavailableError('get', 'no answer within the deadline (test)');
    }
    return this.inner.get(key);
  }
  list(prefix: string): Promise<StoredEntry[]> { return this.inner.list(prefix); }
  listKeys(prefix: string): Promise<string[]> { return this.inner.listKeys(prefix); }
  watch(prefix: string, listener: WatchListener): Promise<WatchHandle> { return this.inner.watch(prefix, listener); }
  keepAlive(key: string, value: string, ttlSeconds: number): Promise<LivenessHandle> { return this.inner.keepAlive(key, value, ttlSeconds); }
  close(): Promise<void> { return this.inner.close(); }
}
