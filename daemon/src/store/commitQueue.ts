// Group commit: requests that arrive together run in one SQLite transaction, each inside its own
// savepoint, so one fsync covers many leases and one failing request does not undo the others.
// A promise resolves only after the transaction holding its work has committed.
//
// Work too large for one event-loop turn (restoring a million-lease backup) is stepwise: it runs
// alone in its own transaction, one step per turn, so berthd goes on reading requests, answering
// reads and health checks while it runs; writes queue behind it. Work whose caller's deadline
// passed while it waited is dropped before it enters the transaction (DeadlineExceededError).
import { BerthError, DeadlineExceededError, OverloadedError, ShuttingDownError, StoreFailureError } from '../errors.ts';
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

/** Work done a step per event-loop turn: each `yield` lets other callbacks run; the return value is the result. */
export type StepwiseWork<T> = (unit: UnitOfWork) => Iterator<unknown, T>;

export interface SubmitOptions {
  /** Epoch ms after which the caller no longer waits: the work is then not done at all. */
  readonly deadlineMs?: number;
}

interface Job {
  readonly work: (unit: UnitOfWork) => unknown;
  readonly stepwise?: StepwiseWork<unknown>;
  readonly deadlineMs: number;
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
  /** A stepwise job holds the transaction: nothing else runs until it ends. */
  private stepping = false;
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

  submit<T>(work: (unit: UnitOfWork) => T, options: SubmitOptions = {}): Promise<T> {
    return this.enqueue(work, undefined, options);
  }

  /** Work too large for one turn (see StepwiseWork): all or none, in a transaction of its own. */
  submitStepwise<T>(work: StepwiseWork<T>, options: SubmitOptions = {}): Promise<T> {
    return this.enqueue(() => undefined, work, options);
  }

  private enqueue<T>(work: (unit: UnitOfWork) => unknown, stepwise: StepwiseWork<T> | undefined, options: SubmitOptions): Promise<T> {
    if (this.writesRefused !== undefined) {
      return Promise.reject(new StoreFailureError(`${this.writesRefused}; berthd refuses every change until it is restarted (nothing was changed)`));
    }
    if (this.closed) return Promise.reject(new ShuttingDownError('berthd is shutting down; retry against the restarted daemon'));
    if (this.queue.length >= this.options.maxQueued) {
      return Promise.reject(new OverloadedError(`berthd has ${this.queue.length} requests waiting (limit ${this.options.maxQueued}); retry shortly`));
    }
    return new Promise<T>((resolve, reject) => {
      this.queue.push({
        work, ...(stepwise ? { stepwise } : {}), deadlineMs: options.deadlineMs ?? Number.POSITIVE_INFINITY,
        resolve: resolve as (value: unknown) => void, reject, undos: [], finalWrites: new Map(),
      });
      this.schedule();
    });
  }

  /** Stops taking new work; resolves when everything already queued has been committed. */
  close(): Promise<void> {
    this.closed = true;
    if (this.queue.length === 0 && !this.scheduled && !this.stepping) return Promise.resolve();
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
    if (this.stepping) return;
    const head = this.queue[0];
    if (head?.stepwise) {
      this.queue.shift();
      this.runStepwise(head, head.stepwise);
      return;
    }
    // A batch stops before the next stepwise job, which runs alone.
    const stepwiseAt = this.queue.findIndex((job) => job.stepwise !== undefined);
    const batch = this.queue.splice(0, Math.min(this.batchLimit, stepwiseAt < 0 ? Infinity : stepwiseAt));
    if (batch.length > 0) this.commit(batch);
    this.afterWork();
  }

  private afterWork(): void {
    if (this.queue.length > 0) this.schedule();
    else for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /** True (and the job rejected) when the caller's deadline passed before its work started. */
  private expired(job: Job): boolean {
    if (Date.now() < job.deadlineMs) return false;
    job.outcome = { ok: false, error: new DeadlineExceededError('the request deadline passed while it waited for the lease database; nothing was done') };
    return true;
  }

  private runStepwise(job: Job, stepwise: StepwiseWork<unknown>): void {
    if (this.expired(job)) {
      job.reject((job.outcome as { error: unknown }).error);
      this.afterWork();
      return;
    }
    this.stepping = true;
    const started = process.hrtime.bigint();
    const unit: UnitOfWork = { onRollback: (undo) => job.undos.push(undo), beforeCommit: (key, write) => job.finalWrites.set(key, write) };
    let transaction: { commit(): void; rollback(): void } | undefined;
    const end = (ok: boolean, value: unknown) => {
      this.stepping = false;
      this.options.onCommit?.(1, Number(process.hrtime.bigint() - started) / 1e9, ok);
      if (ok) job.resolve(value);
      else job.reject(asStoreFailure(value));
      this.afterWork();
    };
    const step = (steps: Iterator<unknown, unknown>) => {
      try {
        const next = steps.next();
        if (!next.done) { setImmediate(() => step(steps)); return; }
        for (const write of job.finalWrites.values()) write();
        transaction!.commit();
        end(true, next.value);
      } catch (error) {
        try { transaction?.rollback(); } catch { /* the database is closing */ }
        undoAll(job);
        end(false, error);
      }
    };
    try {
      transaction = this.store.openTransaction();
      step(stepwise(unit));
    } catch (error) {
      undoAll(job);
      end(false, error);
    }
  }

  private commit(batch: Job[]): void {
    const started = process.hrtime.bigint();
    let committed = true;
    let commitError: unknown;
    try {
      this.store.transaction(() => {
        for (const job of batch) if (!this.expired(job)) this.runInSavepoint(job);
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
