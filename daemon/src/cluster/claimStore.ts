// The one seam between the claim protocol and the cluster store. etcd implements it now
// (etcdClaimStore.ts); a Kubernetes API store (objects with resourceVersion) can implement it
// later without touching the claim logic. Revisions are opaque strings for that reason.

/** A key as the store holds it. `revision` is the key's modification revision (etcd mod_revision, k8s resourceVersion). */
export interface StoredEntry {
  readonly key: string;
  readonly value: string;
  readonly revision: string;
}

/** Outcome of a conditional write. When `ok` is false, `current` is what the store holds now (undefined: no such key). */
export type WriteOutcome =
  | { readonly ok: true; readonly revision: string }
  | { readonly ok: false; readonly current: StoredEntry | undefined };

export type DeleteOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly current: StoredEntry | undefined };

export type WatchEvent =
  | { readonly type: 'put'; readonly entry: StoredEntry }
  | { readonly type: 'delete'; readonly key: string; readonly revision: string };

export interface WatchListener {
  /** One change under the prefix, in store order. */
  onEvent(event: WatchEvent): void;
  /**
   * The full current contents of the prefix. Called once at the start and again whenever the
   * watch had to be re-established from a fresh list (compaction, cancelled watch): replace what
   * you knew, do not merge.
   */
  onResync(entries: readonly StoredEntry[]): void;
  /** The watch is broken and being retried (e.g. the store is unreachable). Informational. */
  onError?(error: Error): void;
}

export interface WatchHandle {
  close(): Promise<void>;
}

/** A key kept alive by the store while this process lives (etcd: a lease). */
export interface LivenessHandle {
  /** Replaces the value of the live key (same lease). */
  update(value: string): Promise<void>;
  /** True while the key is believed present (lease granted and not lost). */
  readonly alive: boolean;
  /** Stops keeping the key alive and deletes it now (best effort within the deadline). */
  close(): Promise<void>;
}

/**
 * Every method has a deadline (the store's `deadlineMs`); past it the call rejects with
 * ClusterUnavailableError. A rejected *write* may still have committed: the error says
 * `ambiguous: true` then, and callers resolve it by reading the key back (values carry a
 * claim token), never by guessing.
 *
 * Writes are safe to repeat: `create` and `compareAndSwap` report ok when the key already holds
 * exactly the value being written (an earlier attempt of the same call committed), so stores may
 * retry them internally.
 */
export interface ClaimStore {
  /** Writes `value` at `key` only if the key does not exist. */
  create(key: string, value: string): Promise<WriteOutcome>;
  /** Replaces the value only if the key's revision is still `revision`. */
  compareAndSwap(key: string, value: string, revision: string): Promise<WriteOutcome>;
  /** Deletes the key only if its revision is still `revision`. A key already gone is `ok: false, current: undefined`. */
  compareAndDelete(key: string, revision: string): Promise<DeleteOutcome>;
  get(key: string): Promise<StoredEntry | undefined>;
  /** Every key under `prefix`, sorted by key, read at one store revision. */
  list(prefix: string): Promise<StoredEntry[]>;
  /** Only the keys under `prefix`, sorted: a claimer needs no values to know which blocks are taken. */
  listKeys(prefix: string): Promise<string[]>;
  /** Follows every change under `prefix`; re-lists (onResync) when the store cannot resume. */
  watch(prefix: string, listener: WatchListener): Promise<WatchHandle>;
  /**
   * Keeps `key` = `value` present while this process is alive, with a time-to-live of `ttlSeconds`.
   * If the store reports the liveness lost (expired during an outage), it is re-created on its own
   * once the store is back.
   */
  keepAlive(key: string, value: string, ttlSeconds: number): Promise<LivenessHandle>;
  /** Releases connections; pending calls reject. */
  close(): Promise<void>;
}
