// Watches the ownership key of each block this node owns (not the pool's whole prefix: a claim
// elsewhere in the cluster wakes nobody), and says when one stops holding this node's claim token:
// released or re-assigned by an operator while the node runs. The caller reconciles at once
// instead of at its next periodic round, so such a block stops being served within a round trip.
import type { Cidr } from '../ip/address.ts';
import type { ClaimStore, StoredEntry, WatchHandle } from './claimStore.ts';
import { ClusterDataError } from './clusterErrors.ts';
import { ClusterKeys, decodeBlockRecord } from './clusterRecords.ts';

export interface WatchedBlock {
  readonly pool: string;
  readonly cidr: Pick<Cidr, 'family' | 'network' | 'prefixLength'>;
  readonly token: string;
}

export class OwnedBlockWatch {
  private readonly keys: ClusterKeys;
  /** Key -> the claim token it should hold. */
  private readonly expected = new Map<string, string>();
  private readonly watches = new Map<string, Promise<WatchHandle | undefined>>();
  private closed = false;

  constructor(private readonly store: ClaimStore, private readonly onChanged: (key: string) => void, prefix?: string) {
    this.keys = new ClusterKeys(prefix);
  }

  /** Watches exactly these blocks from now on (cheap when nothing changed: a diff of keys). */
  update(blocks: readonly WatchedBlock[]): void {
    if (this.closed) return;
    const wanted = new Map(blocks.map((block) => [this.keys.block(block.pool, block.cidr), block.token]));
    for (const [key, watch] of this.watches) {
      if (wanted.has(key)) continue;
      this.watches.delete(key);
      this.expected.delete(key);
      void watch.then((handle) => handle?.close()).catch(() => undefined);
    }
    for (const [key, token] of wanted) {
      this.expected.set(key, token);
      if (this.watches.has(key)) continue;
      // A watch that cannot start (store unreachable) is retried by the next update.
      const started = this.store.watch(key, {
        onEvent: (event) => {
          if (event.type === 'delete' ? event.key === key : event.entry.key === key && !this.holdsToken(event.entry)) this.onChanged(key);
        },
        onResync: (entries) => {
          const entry = entries.find((candidate) => candidate.key === key);
          if (!entry || !this.holdsToken(entry)) this.onChanged(key);
        },
      }).catch(() => {
        this.watches.delete(key);
        return undefined;
      });
      this.watches.set(key, started);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const handles = await Promise.all(this.watches.values());
    this.watches.clear();
    await Promise.allSettled(handles.map((handle) => handle?.close()));
  }

  private holdsToken(entry: StoredEntry): boolean {
    try {
      return decodeBlockRecord(entry.key, entry.value).token === this.expected.get(entry.key);
    } catch (error) {
      // Garbage at the key: not our claim any more (the reconcile reports the bad record).
      if (error instanceof ClusterDataError) return false;
      throw error;
    }
  }
}
