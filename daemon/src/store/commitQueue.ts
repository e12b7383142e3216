// Group commit: requests that arrive together run in one SQLite transaction, each inside its own
// savepoint, so one fsync covers many leases and one failing request does not undo the others.
// A promise resolves only after the transaction holding its work has committed.
import { BerthError, OverloadedError, ShuttingDownError, StoreFailureError } from '../errors.ts';
import { nextBatchLimit } from './batchLimit.ts';
import type { LeaseStore } from './leaseStore.ts';

/** Lets work undo in-memory changes if its database changes are rolled back. */
export interface UnitOfWork {
  onRollback(undo: () => void): void;
  /**
   * Runs `write` once at the end of the transaction, after every request in it, however many
   * requests asked under the same key (and only if the asking request's work stood).
   */
  beforeCommit(key: string, write: () => void): void;
}

interface Job {
  readonly work: (unit: UnitOfWork) => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  readonly undos: (() => void)[];
  readonly finalWrites: Map<string, () => void>;
  outcome?: { ok: true; value: unknown } | { ok: false; error: unknown };
}

export interface CommitQueueOptions {
  /** Requests waiting beyond this are refused with OverloadedError (flow control). */
  readonly maxQueued: number;
  /** Most requests committed in one transaction. */
  readonly maxBatch: number;
  /**
   * Fewest requests the batch limit adapts down to (see batchLimit.ts); absent: every batch
   * takes up to maxBatch.
   */
  readonly minBatch?: number;
  /** Called after each commit attempt, for metrics. */
  readonly onCommit?: (batchSize: number, seconds: number, ok: boolean) => void;
}

export class CommitQueue {
  private queue: Job[] = [];
  private scheduled = false;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private batchLimit: number;

  constructor(private readonly store: LeaseStore, private readonly options: CommitQueueOptions) {
    this.batchLimit = options.minBatch ?? options.maxBatch;
  }

  get depth(): number {
    return this.queue.length;
  }

  /** Why writes are refused (the database file is gone), or undefined. */
  private writesRefused: string | undefined;

  /**
   * From now on every write fails with STORE_FAILURE saying why; reads go on. For a database
   * file that is no longer the one at --db: acknowledging a write into it would lose it later.
   */
  refuseWrites(reason: string): void {
    this.writesRefused = reason;
  }

  submit<T>(work: (unit: UnitOfWork) => T): Promise<T> {
    if (this.writesRefused !== undefined) {
      return Promise.reject(new StoreFailureError(`${this.writesRefused}; berthd refuses every change until it is restarted (nothing was changed)`));
    }
    if (this.closed) return Promise.reject(new ShuttingDownError('berthd is shutting down; retry against the restarted daemon'));
    if (this.queue.length >= this.options.maxQueued) {
      return Promise.reject(new OverloadedError(`berthd has ${this.queue.length} requests waiting (limit ${this.options.maxQueued}); retry shortly`));
    }
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject, undos: [], finalWrites: new Map() });
      this.schedule();
    });
  }

  /** Stops taking new work; resolves when everything already queued has been committed. */
  close(): Promise<void> {
    this.closed = true;
    if (this.queue.length === 0 && !this.scheduled) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate runs after the I/O callbacks of this loop turn: everything that arrived
    // together lands in one batch.
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue.splice(0, this.batchLimit);
    if (batch.length > 0) this.commit(batch);
    if (this.queue.length > 0) this.schedule();
    else for (const wake of this.idleWaiters.splice(0)) wake();
  }

  private commit(batch: Job[]): void {
    const started = process.hrtime.bigint();
    let committed = true;
    let commitError: unknown;
    try {
      this.store.transaction(() => {
        for (const job of batch) this.runInSavepoint(job);
        const finalWrites = new Map<string, () => void>();
        for (const job of batch) if (job.outcome?.ok) for (const [key, write] of job.finalWrites) finalWrites.set(key, write);
        for (const write of finalWrites.values()) write();
      });
    } catch (error) {
      committed = false;
      commitError = error;
      // The whole batch is rolled back: undo every in-memory change, newest first.
      for (const job of [...batch].reverse()) if (job.outcome?.ok) undoAll(job);
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.options.onCommit?.(batch.length, seconds, committed);
    if (this.options.minBatch !== undefined) {
      this.batchLimit = nextBatchLimit(this.batchLimit, batch.length, seconds, { min: this.options.minBatch, max: this.options.maxBatch });
    }
    for (const job of batch) {
      if (!committed) job.reject(asStoreFailure(commitError));
      else if (job.outcome?.ok) job.resolve(job.outcome.value);
      else job.reject(job.outcome?.error);
    }
  }

  private runInSavepoint(job: Job): void {
    const unit: UnitOfWork = { onRollback: (undo) => job.undos.push(undo), beforeCommit: (key, write) => job.finalWrites.set(key, write) };
    try {
      job.outcome = { ok: true, value: this.store.transaction(() => job.work(unit)) };
    } catch (error) {
      undoAll(job);
      job.outcome = { ok: false, error: asStoreFailure(error) };
    }
  }
}

function undoAll(job: Job): void {
  for (const undo of job.undos.splice(0).reverse()) undo();
}

/** SQLite failures (disk full, I/O error) become StoreFailureError; domain errors pass through. */
function asStoreFailure(error: unknown): unknown {
  if (error instanceof BerthError) return error;
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && code.startsWith('SQLITE_')) {
    return new StoreFailureError(`lease database write failed (${code}: ${(error as Error).message}); nothing was changed`);
  }
  return error;
}
