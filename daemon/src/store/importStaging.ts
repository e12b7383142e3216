// A backup on its way in (ImportLeasesStream): entries wait in TEMP tables, on disk outside the
// lease database (SQLite's temp directory), until the stream ends and they are restored in one
// transaction. Address leases are staged as the rows they will become, so the restore is
// INSERT ... SELECT in steps instead of a million JavaScript objects: berthd's memory stays flat
// whatever the size of the backup. The staging table has no index (a million index inserts cost
// three times the appends); the lease table's own unique indexes find the conflicts: a row they
// refuse is skipped (OR IGNORE), and only when some were is each staged row looked up to tell a
// lease present already exactly so from a conflict.
// Prefix leases (one per owner and pool: few) wait as JSON text. The temp file is unlinked by
// SQLite at once, so nothing is left behind if berthd dies mid-stream.
import type Database from 'better-sqlite3';
import { OverloadedError } from '../errors.ts';
import { addressFromKey, addressKey, formatAddress, type IpFamily } from '../ip/address.ts';
import type { NewLease } from './leaseRecord.ts';

/** One address lease, checked against its pool, as it will be inserted. */
export interface StagedLease extends NewLease {
  readonly cooling?: { readonly ownerKey: string; readonly reusableAtMs: number };
}

/** A staged lease that cannot be restored; `index` is its place in the stream (leases[index]). */
export interface StagedConflict {
  readonly index: number;
  readonly problem: string;
}

const COLUMNS = `address_space, address, address_text, family, pool, container_id, ifname, network, pod_namespace, pod_name, pod_uid,
  netns, boot_id, created_at_ms, state, owner_key, reusable_at_ms`;

/** A staged lease, the lease holding its address (h_), else the active lease of its attachment (o_). */
interface HolderRow {
  seq: number; address: Buffer; family: number; container_id: string; ifname: string; pool: string;
  h_container_id: string | null; h_ifname: string | null; h_state: string | null; o_address: Buffer | null; o_family: number | null;
}

export class ImportStaging {
  private readonly leases: string;
  private readonly prefixes: string;
  private readonly insertLease: Database.Statement;
  private readonly insertPrefix: Database.Statement<[string]>;
  private readonly prefixPage: Database.Statement<[number, number], { seq: number; body: string }>;
  private dropped = false;

  constructor(private readonly db: Database.Database, id: number) {
    refuseDuringRestore(db);
    this.leases = `temp.import_leases_${id}`;
    this.prefixes = `temp.import_prefixes_${id}`;
    db.exec(`CREATE TABLE ${this.leases} (seq INTEGER PRIMARY KEY, ${COLUMNS.replace(/\s+/g, ' ')});
      CREATE TABLE ${this.prefixes} (seq INTEGER PRIMARY KEY, body TEXT NOT NULL)`);
    this.insertLease = db.prepare(`INSERT INTO ${this.leases} (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.insertPrefix = db.prepare(`INSERT INTO ${this.prefixes} (body) VALUES (?)`);
    this.prefixPage = db.prepare(`SELECT seq, body FROM ${this.prefixes} WHERE seq > ? ORDER BY seq LIMIT ?`);
  }

  /** Stages address leases, in stream order (the lease database is not touched). */
  addLeases(leases: readonly StagedLease[]): void {
    this.inTransaction(() => {
      for (const lease of leases) {
        this.insertLease.run(lease.addressSpace, addressKey(lease.address), formatAddress(lease.address, lease.family), lease.family, lease.pool,
          lease.containerId, lease.ifname, lease.network, lease.podNamespace, lease.podName, lease.podUid, lease.netns, lease.bootId,
          lease.createdAtMs, lease.cooling ? 'cooling' : 'active', lease.cooling?.ownerKey ?? '', lease.cooling?.reusableAtMs ?? 0);
      }
    });
  }

  /** Stages prefix leases (JSON text each). */
  addPrefixes(bodies: readonly string[]): void {
    this.inTransaction(() => { for (const body of bodies) this.insertPrefix.run(body); });
  }

  /** The staged prefix leases, in the order they came, `size` at a time. */
  *prefixPages(size: number): Generator<string[]> {
    for (let after = 0; ;) {
      const rows = this.prefixPage.all(after, size);
      if (rows.length === 0) return;
      yield rows.map((row) => row.body);
      after = rows.at(-1)!.seq;
    }
  }

  /** Highest stream position staged (leases are leases[0 .. count-1], seq = index + 1). */
  get leaseCount(): number {
    return (this.db.prepare(`SELECT max(seq) FROM ${this.leases}`).pluck().get() as number | null) ?? 0;
  }

  /** The staged addresses of a pool (index in the stream, address, family), `size` at a time. */
  *addressPages(pool: string, size: number): Generator<{ index: number; address: bigint; family: IpFamily }[]> {
    const page = this.db.prepare<[string, number, number], { seq: number; address: Buffer; family: number }>(
      `SELECT seq, address, family FROM ${this.leases} WHERE pool = ? AND seq > ? ORDER BY seq LIMIT ?`);
    for (let after = 0; ;) {
      const rows = page.all(pool, after, size);
      if (rows.length === 0) return;
      yield rows.map((row) => ({ index: row.seq - 1, address: addressFromKey(row.address), family: row.family as IpFamily }));
      after = rows.at(-1)!.seq;
    }
  }

  /** Pools named by staged leases. */
  pools(): string[] {
    return this.db.prepare(`SELECT DISTINCT pool FROM ${this.leases}`).pluck().all() as string[];
  }

  /**
   * Inside the restoring transaction: copies staged leases[from .. to) into the lease table,
   * skipping each one a unique index refuses (it is there already, or it conflicts: see
   * `conflicts`). Returns how many were inserted.
   */
  restoreRange(from: number, to: number): number {
    return this.db.prepare(`INSERT OR IGNORE INTO main.leases (${COLUMNS}) SELECT ${COLUMNS} FROM ${this.leases} WHERE seq > ? AND seq <= ? ORDER BY seq`)
      .run(from, to).changes;
  }

  /**
   * After restoreRange skipped some rows: every staged lease that is not in the lease table as
   * itself (same address, attachment and pool) conflicts with what is (the first `limit`; `total`
   * counts all). Leases present exactly so, in the database or earlier in the stream, are not
   * conflicts: they were skipped as already restored.
   */
  conflicts(limit: number): { listed: StagedConflict[]; total: number } {
    const listed: StagedConflict[] = [];
    let total = 0;
    const rows = this.db.prepare<[], HolderRow>(`SELECT a.seq, a.address, a.family, a.container_id, a.ifname, a.pool,
        h.container_id AS h_container_id, h.ifname AS h_ifname, h.state AS h_state, o.address AS o_address, o.family AS o_family
      FROM ${this.leases} a
      LEFT JOIN main.leases h ON h.address_space = a.address_space AND h.address = a.address
      LEFT JOIN main.leases o ON h.id IS NULL AND a.state = 'active' AND o.container_id = a.container_id AND o.ifname = a.ifname AND o.pool = a.pool AND o.state = 'active'
      WHERE h.id IS NULL OR h.container_id != a.container_id OR h.ifname != a.ifname OR h.pool != a.pool`).iterate();
    for (const row of rows) {
      total++;
      if (listed.length >= limit) continue;
      const problem = row.h_container_id !== null
        ? `${text(row.address, row.family)} is ${row.h_state === 'cooling' ? 'cooling down after' : 'leased to'} container ${row.h_container_id} ifname ${row.h_ifname}`
        : row.o_address !== null
          ? `container ${row.container_id} ifname ${row.ifname} already holds ${text(row.o_address, row.o_family!)} in pool "${row.pool}"`
          : `${text(row.address, row.family)} could not be restored`;
      listed.push({ index: row.seq - 1, problem });
    }
    return { listed, total };
  }

  drop(): void {
    if (this.dropped || !this.db.open) return;
    this.dropped = true;
    this.db.exec(`DROP TABLE IF EXISTS ${this.leases}; DROP TABLE IF EXISTS ${this.prefixes}`);
  }

  private inTransaction(run: () => void): void {
    refuseDuringRestore(this.db);
    this.db.transaction(run)();
  }
}

/**
 * Between event-loop turns a transaction is open only while another import is being restored
 * (CommitQueue.submitStepwise): rows staged now would join it and vanish if it were rolled back.
 */
function refuseDuringRestore(db: Database.Database): void {
  if (db.inTransaction) throw new OverloadedError('another import is being restored; nothing of this one was kept: run it again when that one has finished');
}

function text(key: Buffer, family: number): string {
  return formatAddress(addressFromKey(key), family as IpFamily);
}
