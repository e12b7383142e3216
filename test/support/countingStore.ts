// A ClaimStore wrapper that counts the writes sent through it (the real store does the work).
import type { ClaimStore, DeleteOutcome, LivenessHandle, StoredEntry, WatchHandle, WatchListener, WriteOutcome } from '../../daemon/src/cluster/claimStore.ts';

export class CountingStore implements ClaimStore {
  writes = 0;
  constructor(private readonly inner: ClaimStore) {}
  create(key: string, value: string): Promise<WriteOutcome> { this.writes++; return this.inner.create(key, value); }
  compareAndSwap(key: string, value: string, revision: string): Promise<WriteOutcome> { this.writes++; return this.inner.compareAndSwap(key, value, revision); }
  compareAndDelete(key: string, revision: string): Promise<DeleteOutcome> { this.writes++; return this.inner.compareAndDelete(key, revision); }
  get(key: string): Promise<StoredEntry | undefined> { return this.inner.get(key); }
  list(prefix: string): Promise<StoredEntry[]> { return this.inner.list(prefix); }
  listKeys(prefix: string): Promise<string[]> { return this.inner.listKeys(prefix); }
  watch(prefix: string, listener: WatchListener): Promise<WatchHandle> { return this.inner.watch(prefix, listener); }
  keepAlive(key: string, value: string, ttlSeconds: number): Promise<LivenessHandle> { this.writes++; return this.inner.keepAlive(key, value, ttlSeconds); }
  close(): Promise<void> { return this.inner.close(); }
}
