import { execFileSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { copyFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AddressInUseError, OverloadedError, ShuttingDownError, StoreFailureError } from '../errors.ts';
import { CommitQueue } from './commitQueue.ts';
import type { LeaseRecord } from './leaseRecord.ts';
import { ADDRESS_PAGE_ROWS, LeaseStore } from './leaseStore.ts';
import { migrations, schemaVersion } from './migrations.ts';
import { addressKey } from '../ip/address.ts';

let dir: string;
let dbPath: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-store-'));
  dbPath = join(dir, 'state', 'leases.db');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const lease = (overrides: Partial<LeaseRecord> = {}): LeaseRecord => ({
  pool: 'p4', family: 4, address: 0x0a000005n, containerId: 'c1', ifname: 'eth0', network: 'net',
  podNamespace: 'ns', podName: 'pod', podUid: 'uid', netns: '/var/run/netns/x', bootId: 'boot', createdAtMs: 1000,
  addressSpace: 'default', state: 'active', reusableAtMs: 0, ...overrides,
});

describe('LeaseStore', () => {
  it('creates the database 0600 with the current schema and round-trips leases', () => {
    const store = LeaseStore.open(dbPath);
    expect(statSync(dbPath).mode & 0o777).toBe(0o600);
    store.insertLease(lease());
    store.insertLease(lease({ pool: 'p6', family: 6, address: 0x20010db8000000000000000000000001n }));
    expect(store.leasesOfAttachment('c1', 'eth0').map((l) => l.pool)).toEqual(['p4', 'p6']);
    expect(store.leaseAt('default', 0x0a000005n)).toEqual(lease());
    expect(store.leaseAt('other', 0x0a000005n)).toBeUndefined();
    expect(store.listLeases({ pool: 'p6' })).toHaveLength(1);
    expect(store.listLeases({ network: 'other' })).toHaveLength(0);
    expect(store.activeLeaseCount()).toBe(2);
    store.coolLease('p6', 'c1', 'eth0', 'owner', 5000);
    expect(store.activeLeaseCount()).toBe(1);
    store.close();
    const db = execFileSync('node', ['-e', `const D=require('better-sqlite3');const d=new D(${JSON.stringify(dbPath)});console.log(d.pragma('user_version',{simple:true}), d.pragma('journal_mode',{simple:true}))`], { cwd: process.cwd() }).toString().trim();
    expect(db).toBe(`${schemaVersion} wal`);
  });

  it('refuses a second lease of the same address (the last line of defence)', () => {
    const store = LeaseStore.open(dbPath);
    store.insertLease(lease());
    expect(() => store.insertLease(lease({ containerId: 'c2' }))).toThrow(AddressInUseError);
    expect(() => store.insertLease(lease({ containerId: 'c2' }))).toThrow(/10\.0\.0\.5 .* leased to container c1/);
    store.close();
  });

  it.each([
    { name: 'IPv4, exactly two pages', first: 0x0a000000n, count: 2 * ADDRESS_PAGE_ROWS, step: 1n },
    { name: 'IPv4, a page and one, every other address', first: 0x0a000000n, count: ADDRESS_PAGE_ROWS + 1, step: 2n },
    { name: 'IPv4, less than a page', first: 0x0a000000n, count: ADDRESS_PAGE_ROWS - 1, step: 3n },
    { name: 'IPv6, ending at the top of the address space', first: (1n << 128n) - BigInt(3 * ADDRESS_PAGE_ROWS), count: 3 * ADDRESS_PAGE_ROWS, step: 1n },
  ])('streams held addresses across page boundaries: $name', ({ first, count, step }) => {
    const store = LeaseStore.open(dbPath);
    const held = Array.from({ length: count }, (_, i) => first + BigInt(i) * step);
    const family = first > 0xffffffffn ? 6 : 4;
    store.transaction(() => held.forEach((address, i) => store.insertLease(lease({ address, family, containerId: `c${i}` }))));
    const last = held[held.length - 1]!;
    expect([...store.addressesWithin('default', first, last)]).toEqual(held);
    expect([...store.addressesWithin('default', first + 1n, last - 1n)]).toEqual(held.slice(1, -1));
    expect([...store.addressesWithin('default', last, last)]).toEqual([last]);
    store.close();
  });

  it('deletes by attachment and pool, returning the lease', () => {
    const store = LeaseStore.open(dbPath);
    store.insertLease(lease());
    expect(store.deleteLease('p4', 'c1', 'eth0')).toEqual(lease());
    expect(store.deleteLease('p4', 'c1', 'eth0')).toBeUndefined();
    store.close();
  });

  it('streams held addresses of a subnet in order and keeps the cursor', () => {
    const store = LeaseStore.open(dbPath);
    for (const [i, address] of [9n, 3n, 7n, 100n].entries()) store.insertLease(lease({ address, containerId: `c${i}` }));
    expect([...store.addressesWithin('default', 0n, 50n)]).toEqual([3n, 7n, 9n]);
    expect([...store.addressesWithin('other', 0n, 50n)]).toEqual([]);
    store.setCursor('p4', 9n);
    store.setCursor('p4', 7n);
    expect(store.cursor('p4')).toBe(7n);
    expect(store.cursor('other')).toBeUndefined();
    store.close();
  });

  it('keeps leases across reopen', () => {
    const first = LeaseStore.open(dbPath);
    first.insertLease(lease());
    first.close();
    const second = LeaseStore.open(dbPath);
    expect(second.listLeases()).toEqual([lease()]);
    second.close();
  });

  it('holds the database lock while open, so no other process can write it', () => {
    const first = LeaseStore.open(dbPath);
    const other = (): string => execFileSync('node', ['-e', `const D=require('better-sqlite3');
      try { const d=new D(${JSON.stringify(dbPath)},{timeout:0}); d.exec('BEGIN IMMEDIATE; COMMIT'); console.log('wrote'); }
      catch (e) { console.log(e.code); }`]).toString().trim();
    expect(other()).toMatch(/^SQLITE_BUSY/);
    first.close();
    expect(other()).toBe('wrote');
  });

  it.each([
    ['garbage', Buffer.from('this is not a database at all, just text '.repeat(200))],
    ['truncated header', Buffer.from('SQLite format 3\u0000')],
  ])('refuses a corrupt database (%s) and leaves it in place', (_name, content) => {
    writeFileSync(dbPath.replace('state/', ''), content);
    const path = dbPath.replace('state/', '');
    expect(() => LeaseStore.open(path)).toThrow(/not a valid berth lease database.*will not replace it/);
    expect(statSync(path).size).toBe(content.length);
  });

  it('refuses a database from a newer schema', () => {
    const store = LeaseStore.open(dbPath);
    store.close();
    execFileSync('node', ['-e', `const D=require('better-sqlite3');const d=new D(${JSON.stringify(dbPath)});d.pragma('user_version = 99');d.close()`]);
    expect(() => LeaseStore.open(dbPath)).toThrow(/schema version 99 is newer/);
  });
});

describe('CommitQueue', () => {
  it('commits concurrent work in one transaction and isolates a failing job', async () => {
    const store = LeaseStore.open(dbPath);
    const batches: number[] = [];
    const queue = new CommitQueue(store, { maxQueued: 100, maxBatch: 100, onCommit: (n) => batches.push(n) });
    const undone: string[] = [];
    const results = await Promise.allSettled([
      queue.submit(() => { store.insertLease(lease()); return 'a'; }),
      queue.submit((unit) => {
        unit.onRollback(() => undone.push('b'));
        store.insertLease(lease({ containerId: 'c2', address: 6n }));
        throw new Error('boom');
      }),
      queue.submit(() => { store.insertLease(lease({ containerId: 'c3', address: 7n })); return 'c'; }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(batches).toEqual([3]);
    expect(undone).toEqual(['b']);
    expect(store.listLeases().map((l) => l.containerId).sort()).toEqual(['c1', 'c3']);
    await queue.close();
    await expect(queue.submit(() => 1)).rejects.toThrow(ShuttingDownError);
    store.close();
  });

  it('refuses work beyond its bound', async () => {
    const store = LeaseStore.open(dbPath);
    const queue = new CommitQueue(store, { maxQueued: 2, maxBatch: 10 });
    const accepted = [queue.submit(() => 1), queue.submit(() => 2)];
    await expect(queue.submit(() => 3)).rejects.toThrow(OverloadedError);
    expect(await Promise.all(accepted)).toEqual([1, 2]);
    store.close();
  });

  it('turns SQLite failures into StoreFailureError', async () => {
    const store = LeaseStore.open(dbPath);
    const queue = new CommitQueue(store, { maxQueued: 10, maxBatch: 10 });
    await expect(queue.submit(() => store.insertLease(lease({ family: 5 as 4 })))).rejects.toThrow(StoreFailureError);
    store.close();
  });
});

describe('schema migration', () => {
  it('upgrades a database written by the previous berthd (schema 1) and keeps every lease', () => {
    // fixtures/leases-v1.db was written by berthd's LeaseStore at schema 1 (commit 6faa741):
    // 20 IPv4 leases in pool v4, one IPv6 lease, and a round-robin cursor.
    copyFileSync(new URL('./fixtures/leases-v1.db', import.meta.url), join(dir, 'v1.db'));
    const before = new Database(join(dir, 'v1.db'), { readonly: true });
    expect(before.pragma('user_version', { simple: true })).toBe(1);
    before.close();

    const store = LeaseStore.open(join(dir, 'v1.db'));
    const leases = store.listLeases();
    expect(leases).toHaveLength(21);
    expect(leases.every((l) => l.state === 'active' && l.addressSpace === 'default' && l.reusableAtMs === 0)).toBe(true);
    expect(store.leasesOfAttachment('c0', 'eth0').map((l) => l.pool)).toEqual(['v4', 'v6']);
    expect(store.leaseAt('default', 0x0a580002n)).toMatchObject({ containerId: 'c0', podName: 'p0', bootId: 'boot-v1', createdAtMs: 1700000000000 });
    expect([...store.addressesWithin('default', 0x0a580000n, 0x0a58ffffn)]).toHaveLength(20);
    expect(store.cursor('v4')).toBe(0x0a580015n);
    // The new rules hold on migrated data: one address per network, one active lease per attachment and pool.
    expect(() => store.insertLease({ ...lease({ pool: 'v4', address: 0x0a580002n, containerId: 'other' }) })).toThrow(AddressInUseError);
    expect(() => store.insertLease({ ...lease({ pool: 'v4', address: 0x0a580099n, containerId: 'c1' }) })).toThrow(/UNIQUE/);
    store.insertLease(lease({ pool: 'v4', address: 0x0a580002n, containerId: 'other', addressSpace: 'blue' }));
    store.close();
    const after = new Database(join(dir, 'v1.db'), { readonly: true });
    expect(after.pragma('user_version', { simple: true })).toBe(schemaVersion);
    expect(after.pragma('integrity_check', { simple: true })).toBe('ok');
    after.close();
  });
});

describe('schema migration from 2', () => {
  it('upgrades a schema-2 database (pool model, before prefix allocation): every lease and its state stay', () => {
    // Schema 2 exactly as its migrations leave it, with an active and a cooling lease.
    const v2 = new Database(join(dir, 'v2.db'));
    v2.pragma('journal_mode = WAL');
    for (const [version, sql] of migrations.slice(0, 2).entries()) {
      v2.exec(sql);
      v2.pragma(`user_version = ${version + 1}`);
    }
    const insert = v2.prepare(`INSERT INTO leases (address_space, address, address_text, family, pool, container_id, ifname, created_at_ms, state, owner_key, reusable_at_ms)
      VALUES ('blue', ?, ?, 4, 'b4', ?, 'eth0', 1, ?, ?, ?)`);
    insert.run(addressKey(0x0a000002n), '10.0.0.2', 'c-active', 'active', '', 0);
    insert.run(addressKey(0x0a000003n), '10.0.0.3', 'c-gone', 'cooling', 'pod:ns/web-0/eth0', 99_000);
    v2.close();

    const store = LeaseStore.open(join(dir, 'v2.db'));
    expect(store.listLeases().map((l) => `${l.containerId} ${l.state} ${l.addressSpace} ${l.reusableAtMs}`)).toEqual(['c-active active blue 0', 'c-gone cooling blue 99000']);
    expect(store.coolingLeaseOf('b4', 'pod:ns/web-0/eth0')?.address).toBe(0x0a000003n);
    // The new prefix table works, with its overlap check.
    store.prefixes.insert({ pool: 'px', addressSpace: 'blue', family: 4, first: 0x0b000000n, prefixLength: 24, owner: 'o1', createdAtMs: 1 });
    expect(store.prefixes.overlapping('blue', 0x0b000080n, 0x0b000080n)?.owner).toBe('o1');
    store.close();
    const after = new Database(join(dir, 'v2.db'), { readonly: true });
    expect(after.pragma('user_version', { simple: true })).toBe(schemaVersion);
    expect(after.pragma('integrity_check', { simple: true })).toBe('ok');
    after.close();
  });
});

describe('cooling leases', () => {
  it('cools a lease for its owner, keeps its address held, and deletes it once the delay is over', () => {
    const store = LeaseStore.open(dbPath);
    store.insertLease(lease());
    expect(store.coolLease('p4', 'c1', 'eth0', 'pod:ns/pod/eth0', 5000)).toMatchObject({ state: 'cooling', reusableAtMs: 5000 });
    expect(store.leasesOfAttachment('c1', 'eth0')).toEqual([]);
    expect(store.leaseAt('default', 0x0a000005n)).toMatchObject({ state: 'cooling', reusableAtMs: 5000 });
    expect([...store.addressesWithin('default', 0n, 0xffffffffn)]).toEqual([0x0a000005n]);
    expect(store.coolingLeaseOf('p4', 'pod:ns/pod/eth0')?.address).toBe(0x0a000005n);
    expect(store.coolingLeaseOf('p4', 'pod:ns/other/eth0')).toBeUndefined();
    expect(store.coolingCount('p4')).toBe(1);
    expect(store.activeLeaseCount()).toBe(0);
    // The same attachment may hold a new active lease while its old address cools.
    store.insertLease(lease({ address: 0x0a000006n }));
    expect(store.listLeases({ state: 'cooling' })).toHaveLength(1);
    expect(store.deleteCooledLeases(4999)).toEqual([]);
    expect(store.deleteCooledLeases(5000).map((l) => l.address)).toEqual([0x0a000005n]);
    expect(store.listLeases({ state: 'cooling' })).toEqual([]);
    store.close();
  });
});
