// The lease database (store/ is the only folder that imports better-sqlite3). WAL with synchronous=FULL,
// so a committed transaction is on disk before the caller acknowledges anything.
import Database from 'better-sqlite3';
import { AddressInUseError } from '../errors.ts';
import { addressFromKey, addressKey, formatAddress, type IpFamily } from '../ip/address.ts';
import type { LeaseFilter, LeaseRecord, LeaseState, NewLease } from './leaseRecord.ts';
import { ImportStaging } from './importStaging.ts';
import { ClusterBlockStore } from './clusterBlockStore.ts';
import { PrefixLeaseStore } from './prefixLeaseStore.ts';
import { openDatabase } from './openDatabase.ts';

interface LeaseRow {
  pool: string;
  family: number;
  address: Buffer;
  container_id: string;
  ifname: string;
  network: string;
  pod_namespace: string;
  pod_name: string;
  pod_uid: string;
  netns: string;
  boot_id: string;
  created_at_ms: number;
  address_space: string;
  state: LeaseState;
  reusable_at_ms: number;
}

const LEASE_COLUMNS = `pool, family, address, container_id, ifname, network, pod_namespace, pod_name, pod_uid, netns, boot_id, created_at_ms,
  address_space, state, reusable_at_ms`;
const ACTIVE = "state = 'active'";
/**
 * Rows per query when streaming addresses. Small pages keep little garbage alive at each
 * young-generation GC: a million leases start at ~115 MB RSS with 1024, ~145 MB with 16384,
 * in about the same time.
 */
export const ADDRESS_PAGE_ROWS = 1024;

export class LeaseStore {
  private readonly statements;
  private stagingCount = 0;
  /** Prefix leases, in the same database and transactions. */
  readonly prefixes: PrefixLeaseStore;
  /** Blocks of cluster pools this node owns, in the same database and transactions. */
  readonly clusterBlocks: ClusterBlockStore;

  private constructor(private readonly db: Database.Database, readonly path: string) {
    this.prefixes = new PrefixLeaseStore(db);
    this.clusterBlocks = new ClusterBlockStore(db);
    this.statements = {
      insert: db.prepare(`INSERT INTO leases (address_space, address, address_text, family, pool, container_id, ifname, network,
          pod_namespace, pod_name, pod_uid, netns, boot_id, created_at_ms, state, owner_key, reusable_at_ms)
        VALUES (@addressSpace, @address, @addressText, @family, @pool, @containerId, @ifname, @network,
          @podNamespace, @podName, @podUid, @netns, @bootId, @createdAtMs, @state, @ownerKey, @reusableAtMs)`),
      deleteOne: db.prepare<[string, string, string], LeaseRow>(
        `DELETE FROM leases WHERE container_id = ? AND ifname = ? AND pool = ? AND ${ACTIVE} RETURNING ${LEASE_COLUMNS}`),
      coolOne: db.prepare<[string, number, string, string, string], LeaseRow>(
        `UPDATE leases SET state = 'cooling', owner_key = ?, reusable_at_ms = ?
          WHERE container_id = ? AND ifname = ? AND pool = ? AND ${ACTIVE} RETURNING ${LEASE_COLUMNS}`),
      coolingOfOwner: db.prepare<[string, string], LeaseRow>(
        `SELECT ${LEASE_COLUMNS} FROM leases WHERE pool = ? AND owner_key = ? AND state = 'cooling' ORDER BY reusable_at_ms DESC LIMIT 1`),
      deleteAt: db.prepare<[string, Buffer], LeaseRow>(`DELETE FROM leases WHERE address_space = ? AND address = ? RETURNING ${LEASE_COLUMNS}`),
      deleteCooled: db.prepare<[number], LeaseRow>(
        `DELETE FROM leases WHERE state = 'cooling' AND reusable_at_ms <= ? RETURNING ${LEASE_COLUMNS}`),
      byAttachment: db.prepare<[string, string], LeaseRow>(
        `SELECT ${LEASE_COLUMNS} FROM leases WHERE container_id = ? AND ifname = ? AND ${ACTIVE} ORDER BY pool`),
      byAddress: db.prepare<[string, Buffer], LeaseRow>(
        `SELECT ${LEASE_COLUMNS} FROM leases WHERE address_space = ? AND address = ?`),
      addressPageWithin: db.prepare<[string, Buffer, Buffer, number], string>(
        'SELECT hex(address) FROM leases WHERE address_space = ? AND address BETWEEN ? AND ? ORDER BY address LIMIT ?').pluck(),
      distinctNetns: db.prepare<[], [string]>(`SELECT DISTINCT netns FROM leases WHERE netns != '' AND ${ACTIVE}`).raw(),
      byNetns: db.prepare<[string], LeaseRow>(`SELECT ${LEASE_COLUMNS} FROM leases WHERE netns = ? AND ${ACTIVE}`),
      fromOtherBoots: db.prepare<[string], LeaseRow>(`SELECT ${LEASE_COLUMNS} FROM leases WHERE boot_id != '' AND boot_id != ? AND ${ACTIVE}`),
      coolingCount: db.prepare<[string], [number]>("SELECT count(*) FROM leases WHERE pool = ? AND state = 'cooling'").raw(),
      activeCount: db.prepare<[], [number]>(`SELECT count(*) FROM leases WHERE ${ACTIVE}`).raw(),
      cursor: db.prepare<[string], { last_address: Buffer }>('SELECT last_address FROM pool_cursors WHERE pool = ?'),
      begin: db.prepare('BEGIN'),
      commit: db.prepare('COMMIT'),
      rollback: db.prepare('ROLLBACK'),
      savepoint: db.prepare('SAVEPOINT request'),
      releaseSavepoint: db.prepare('RELEASE request'),
      rollbackToSavepoint: db.prepare('ROLLBACK TO request'),
      setCursor: db.prepare('INSERT INTO pool_cursors (pool, last_address) VALUES (?, ?) ON CONFLICT (pool) DO UPDATE SET last_address = excluded.last_address'),
    };
  }

  /**
   * Opens (or creates) the database. Refuses, with a message that says what to do, a file that
   * is unreadable, corrupt, from a newer berth, or held by another berthd; never recreates one.
   */
  static open(path: string): LeaseStore {
    return new LeaseStore(openDatabase(path), path);
  }

  /** Runs fn in a transaction (a savepoint when nested); it commits when fn returns. */
  transaction<T>(fn: () => T): T {
    if (this.db.inTransaction) return this.savepoint(fn);
    this.statements.begin.run();
    try {
      const result = fn();
      this.statements.commit.run();
      return result;
    } catch (error) {
      // A failed COMMIT (disk full) or fn's own error: nothing of it stays.
      if (this.db.inTransaction) this.statements.rollback.run();
      throw error;
    }
  }

  /** Begins a transaction that spans event-loop turns (the commit queue's stepwise work). */
  openTransaction(): { commit(): void; rollback(): void } {
    this.statements.begin.run();
    return {
      commit: () => this.statements.commit.run(),
      rollback: () => { if (this.db.inTransaction) this.statements.rollback.run(); },
    };
  }

  /**
   * Runs fn inside a savepoint of the current transaction: its changes are undone if it throws,
   * the rest of the transaction is not. Statements are prepared once (this runs per request).
   */
  private savepoint<T>(fn: () => T): T {
    this.statements.savepoint.run();
    try {
      const result = fn();
      this.statements.releaseSavepoint.run();
      return result;
    } catch (error) {
      if (this.db.inTransaction) {
        this.statements.rollbackToSavepoint.run();
        this.statements.releaseSavepoint.run();
      }
      throw error;
    }
  }

  /** Inserts an active lease, or (restoring a backup) a cooling one. */
  insertLease(lease: NewLease, cooling?: { readonly ownerKey: string; readonly reusableAtMs: number }): void {
    try {
      this.statements.insert.run({
        addressSpace: lease.addressSpace,
        address: addressKey(lease.address),
        addressText: formatAddress(lease.address, lease.family),
        family: lease.family,
        pool: lease.pool,
        containerId: lease.containerId,
        ifname: lease.ifname,
        network: lease.network,
        podNamespace: lease.podNamespace,
        podName: lease.podName,
        podUid: lease.podUid,
        netns: lease.netns,
        bootId: lease.bootId,
        createdAtMs: lease.createdAtMs,
        state: cooling ? 'cooling' : 'active',
        ownerKey: cooling?.ownerKey ?? '',
        reusableAtMs: cooling?.reusableAtMs ?? 0,
      });
    } catch (error) {
      const holder = this.leaseAt(lease.addressSpace, lease.address);
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' && holder) {
        throw new AddressInUseError(formatAddress(lease.address, lease.family), holder.pool, holder);
      }
      throw error;
    }
  }

  /** Deletes the lease of an attachment in a pool; returns it, or undefined when there was none. */
  deleteLease(pool: string, containerId: string, ifname: string): LeaseRecord | undefined {
    const row = this.statements.deleteOne.get(containerId, ifname, pool);
    return row ? toRecord(row) : undefined;
  }

  /**
   * Moves the active lease of an attachment in a pool to cooling until reusableAtMs, remembering
   * its owner; returns it as it is now (cooling), or undefined when there was none.
   */
  coolLease(pool: string, containerId: string, ifname: string, ownerKey: string, reusableAtMs: number): LeaseRecord | undefined {
    const row = this.statements.coolOne.get(ownerKey, reusableAtMs, containerId, ifname, pool);
    return row ? toRecord(row) : undefined;
  }

  /** The cooling lease a returning owner may take back in a pool, if any. */
  coolingLeaseOf(pool: string, ownerKey: string): LeaseRecord | undefined {
    const row = this.statements.coolingOfOwner.get(pool, ownerKey);
    return row ? toRecord(row) : undefined;
  }

  /** Deletes whatever lease (active or cooling) holds an address of an address space. */
  deleteLeaseAt(addressSpace: string, address: bigint): LeaseRecord | undefined {
    const row = this.statements.deleteAt.get(addressSpace, addressKey(address));
    return row ? toRecord(row) : undefined;
  }

  /** Deletes the cooling leases whose delay is over by nowMs; returns them. */
  deleteCooledLeases(nowMs: number): LeaseRecord[] {
    return this.statements.deleteCooled.all(nowMs).map(toRecord);
  }

  leasesOfAttachment(containerId: string, ifname: string): LeaseRecord[] {
    return this.statements.byAttachment.all(containerId, ifname).map(toRecord);
  }

  /** The lease, active or cooling, holding an address of an address space. */
  leaseAt(addressSpace: string, address: bigint): LeaseRecord | undefined {
    const row = this.statements.byAddress.get(addressSpace, addressKey(address));
    return row ? toRecord(row) : undefined;
  }

  listLeases(filter: LeaseFilter = {}): LeaseRecord[] {
    const where: string[] = [];
    const params: string[] = [];
    if (filter.pool) { where.push('pool = ?'); params.push(filter.pool); }
    if (filter.containerId) { where.push('container_id = ?'); params.push(filter.containerId); }
    if (filter.network) { where.push('network = ?'); params.push(filter.network); }
    if (filter.addressSpace) { where.push('address_space = ?'); params.push(filter.addressSpace); }
    if (filter.state) { where.push('state = ?'); params.push(filter.state); }
    const sql = `SELECT ${LEASE_COLUMNS} FROM leases ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY pool, address`;
    return this.db.prepare<string[], LeaseRow>(sql).all(...params).map(toRecord);
  }

  /**
   * One page of leases in (pool, address, id) order, starting after `after` (keyset paging: the
   * leases_by_pool index serves the order, so each page costs its own rows, never an offset).
   */
  leasePage(filter: LeaseFilter, after: LeasePageKey | undefined, limit: number): { leases: LeaseRecord[]; last?: LeasePageKey } {
    const where: string[] = [];
    const params: (string | number | Buffer)[] = [];
    if (filter.pool) { where.push('pool = ?'); params.push(filter.pool); }
    if (filter.containerId) { where.push('container_id = ?'); params.push(filter.containerId); }
    // Unary + keeps SQLite off the network indexes: through them, every page of a million-lease
    // network would sort the whole network again; along leases_by_pool a page reads its own rows.
    if (filter.network) { where.push('+network = ?'); params.push(filter.network); }
    if (filter.addressSpace) { where.push('+address_space = ?'); params.push(filter.addressSpace); }
    if (filter.state) { where.push('state = ?'); params.push(filter.state); }
    // With the pool fixed, SQLite seeks the index only on (address, id); on the triple it would
    // scan the pool from its start at every page.
    if (after && filter.pool === after.pool) { where.push('(address, id) > (?, ?)'); params.push(addressKey(after.address), after.id); }
    else if (after) { where.push('(pool, address, id) > (?, ?, ?)'); params.push(after.pool, addressKey(after.address), after.id); }
    const sql = `SELECT id, ${LEASE_COLUMNS} FROM leases ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY pool, address, id LIMIT ?`;
    const rows = this.db.prepare<(string | number | Buffer)[], LeaseRow & { id: number }>(sql).all(...params, limit);
    const tail = rows.at(-1);
    return { leases: rows.map(toRecord), ...(tail ? { last: { pool: tail.pool, address: addressFromKey(tail.address), id: tail.id } } : {}) };
  }

  /**
   * Held addresses (active or cooling) of an address space in [first, last] in ascending order,
   * streamed page by page (a subnet may hold millions). By address, not by pool name: a lease
   * left by a renamed or removed pool still blocks its address. Read as hex text: SQLite hands
   * out a short string several times faster than a Buffer per row (a million rows: ~0.3 s
   * instead of ~0.9 s).
   */
  *addressesWithin(addressSpace: string, first: bigint, last: bigint): Generator<bigint> {
    for (let from = first; from <= last;) {
      const page = this.statements.addressPageWithin.all(addressSpace, addressKey(from), addressKey(last), ADDRESS_PAGE_ROWS);
      let address = from;
      for (const hex of page) {
        address = BigInt(`0x${hex}`);
        yield address;
      }
      if (page.length < ADDRESS_PAGE_ROWS) return;
      from = address + 1n;
    }
  }

  /** Every netns path some lease records. */
  netnsPaths(): string[] {
    return this.statements.distinctNetns.all().map(([path]) => path);
  }

  leasesInNetns(path: string): LeaseRecord[] {
    return this.statements.byNetns.all(path).map(toRecord);
  }

  /** Leases made during another boot of this node (bootId recorded and different). */
  leasesFromOtherBoots(bootId: string): LeaseRecord[] {
    return this.statements.fromOtherBoots.all(bootId).map(toRecord);
  }

  coolingCount(pool: string): number {
    return this.statements.coolingCount.get(pool)?.[0] ?? 0;
  }

  /** Active leases in all pools: counted on the partial attachment index, without reading a row (~20 ms per million). */
  activeLeaseCount(): number {
    return this.statements.activeCount.get()?.[0] ?? 0;
  }

  /** The last address handed out in a pool (round-robin position), if any. */
  cursor(pool: string): bigint | undefined {
    const row = this.statements.cursor.get(pool);
    return row ? addressFromKey(row.last_address) : undefined;
  }

  setCursor(pool: string, address: bigint): void {
    this.statements.setCursor.run(pool, addressKey(address));
  }

  /** Writes a consistent copy of the open database to a new file (VACUUM INTO). */
  saveCopy(path: string): void {
    this.db.prepare('VACUUM INTO ?').run(path);
  }

  /** A place for a streamed backup to wait until it is restored in one transaction. */
  openImportStaging(): ImportStaging {
    return new ImportStaging(this.db, ++this.stagingCount);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  get isOpen(): boolean {
    return this.db.open;
  }
}

/** Where a page of leases ended: the next page starts after this row. */
export interface LeasePageKey {
  readonly pool: string;
  readonly address: bigint;
  readonly id: number;
}

function toRecord(row: LeaseRow): LeaseRecord {
  return {
    pool: row.pool,
    family: row.family as IpFamily,
    address: addressFromKey(row.address),
    containerId: row.container_id,
    ifname: row.ifname,
    network: row.network,
    podNamespace: row.pod_namespace,
    podName: row.pod_name,
    podUid: row.pod_uid,
    netns: row.netns,
    bootId: row.boot_id,
    createdAtMs: row.created_at_ms,
    addressSpace: row.address_space,
    state: row.state,
    reusableAtMs: row.reusable_at_ms,
  };
}
