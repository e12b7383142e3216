import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addressKey } from '../ip/address.ts';
import { LeaseStore } from './leaseStore.ts';
import { migrations, schemaVersion } from './migrations.ts';

let dir: string;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'berth-clusterpool-blocks-')); });
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const block = { pool: 'pods', addressSpace: 'default', family: 4 as const, first: 0x0af40040n, prefixLength: 26, token: 'node-a/1', revision: '7', claimedAtMs: 10 };

describe('cluster blocks', () => {
  it('records owned blocks durably, marks a reclaimed one lost, and a new claim of it owned again', () => {
    const path = join(dir, 'leases.db');
    let store = LeaseStore.open(path);
    store.transaction(() => store.clusterBlocks.record(block));
    store.transaction(() => store.clusterBlocks.record({ ...block, first: 0x0af40000n, token: 'node-a/2' }));
    store.close();
    store = LeaseStore.open(path);
    expect(store.clusterBlocks.list('pods').map((b) => `${b.first.toString(16)}/${b.prefixLength} ${b.state} ${b.token}`))
      .toEqual(['af40000/26 owned node-a/2', 'af40040/26 owned node-a/1']);
    expect(store.clusterBlocks.markLost('default', 0x0af40040n, 99)).toBe(true);
    expect(store.clusterBlocks.markLost('default', 0x0af40040n, 100)).toBe(false);
    expect(store.clusterBlocks.list().find((b) => b.first === 0x0af40040n)).toMatchObject({ state: 'lost', lostAtMs: 99 });
    store.clusterBlocks.record({ ...block, token: 'node-a/3' });
    expect(store.clusterBlocks.list().find((b) => b.first === 0x0af40040n)).toMatchObject({ state: 'owned', token: 'node-a/3', lostAtMs: 0 });
    expect(store.clusterBlocks.remove('default', 0x0af40040n)).toBe(true);
    expect(store.clusterBlocks.list()).toHaveLength(1);
    store.close();
  });
});

describe('schema migration from 3', () => {
  it('adds the cluster block table to a schema-3 database and keeps its leases', () => {
    const v3 = new Database(join(dir, 'v3.db'));
    v3.pragma('journal_mode = WAL');
    for (const [version, sql] of migrations.slice(0, 3).entries()) {
      v3.exec(sql);
      v3.pragma(`user_version = ${version + 1}`);
    }
    v3.prepare(`INSERT INTO leases (address_space, address, address_text, family, pool, container_id, ifname, created_at_ms)
      VALUES ('default', ?, '10.0.0.2', 4, 'p4', 'c1', 'eth0', 1)`).run(addressKey(0x0a000002n));
    v3.close();
    const store = LeaseStore.open(join(dir, 'v3.db'));
    expect(store.listLeases().map((lease) => lease.containerId)).toEqual(['c1']);
    store.clusterBlocks.record(block);
    expect(store.clusterBlocks.list()).toHaveLength(1);
    store.close();
    const after = new Database(join(dir, 'v3.db'), { readonly: true });
    expect(after.pragma('user_version', { simple: true })).toBe(schemaVersion);
    expect(after.pragma('integrity_check', { simple: true })).toBe('ok');
    after.close();
  });
});
