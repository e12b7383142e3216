// The commit queue on a real SQLite file: stepwise work (a large restore) runs alone in its own
// transaction, a turn per step, while other work waits and the event loop stays free; work whose
// deadline passed before it started is not run at all.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeadlineExceededError } from '../errors.ts';
import { CommitQueue } from './commitQueue.ts';
import { LeaseStore } from './leaseStore.ts';

let dir: string;
let store: LeaseStore;
let queue: CommitQueue;

const lease = (n: number) => ({
  pool: 'p', addressSpace: 'default', family: 4 as const, address: 0x0a000000n + BigInt(n), containerId: `c${n}`, ifname: 'eth0',
  network: 'n', podNamespace: '', podName: '', podUid: '', netns: '', bootId: '', createdAtMs: 1,
});
const containers = () => store.listLeases({}).map((record) => record.containerId).sort();

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-commit-queue-'));
  store = LeaseStore.open(join(dir, 'leases.db'));
  queue = new CommitQueue(store, { maxQueued: 100, maxBatch: 16 });
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('CommitQueue', () => {
  it('runs stepwise work alone, a step per turn, and queued work after it commits', async () => {
    const order: string[] = [];
    const restore = queue.submitStepwise(function* () {
      for (let n = 0; n < 5; n++) {
        store.insertLease(lease(n));
        order.push(`step ${n}`);
        // Anything else waiting for the event loop runs between two steps.
        if (n === 0) setImmediate(() => order.push('other callback'));
        yield;
      }
      return 'restored';
    });
    await new Promise((resolve) => setImmediate(resolve));
    const add = queue.submit(() => { order.push('add'); store.insertLease(lease(99)); return 'added'; });
    expect(await restore).toBe('restored');
    expect(await add).toBe('added');
    expect(order).toEqual(['step 0', 'other callback', 'step 1', 'step 2', 'step 3', 'step 4', 'add']);
    expect(containers()).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'c99']);
  });

  it('rolls stepwise work back as a whole, undoing what it did in memory, and goes on', async () => {
    const undone: string[] = [];
    const restore = queue.submitStepwise(function* (unit) {
      unit.onRollback(() => undone.push('undo'));
      store.insertLease(lease(1));
      yield;
      store.insertLease(lease(2));
      yield;
      throw new Error('conflict found late');
    });
    await expect(restore).rejects.toThrow('conflict found late');
    expect(undone).toEqual(['undo']);
    expect(containers()).toEqual([]);
    await queue.submit(() => store.insertLease(lease(3)));
    expect(containers()).toEqual(['c3']);
  });

  it('does not run work whose deadline passed while it waited', async () => {
    let ran = false;
    // A restore that takes turns until released, past the short deadline.
    let released = false;
    const restore = queue.submitStepwise(function* () { while (!released) yield; return 1; });
    const late = queue.submit(() => { ran = true; store.insertLease(lease(7)); }, { deadlineMs: Date.now() + 1 }).catch((error: unknown) => error);
    const patient = queue.submit(() => store.insertLease(lease(8)), { deadlineMs: Date.now() + 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    released = true;
    await restore;
    expect(await late).toBeInstanceOf(DeadlineExceededError);
    await patient;
    expect(ran).toBe(false);
    expect(containers()).toEqual(['c8']);
    await expect(queue.submitStepwise(function* () { yield; return 1; }, { deadlineMs: Date.now() - 1 })).rejects.toBeInstanceOf(DeadlineExceededError);
  });
});
