// A backup on its way in (ImportLeasesStream): entries wait in TEMP tables, on disk outside the
// lease database (SQLite's temp directory), until the stream ends and they are restored in one
// transaction. Address leases are staged as the rows they will become, so the restore is a few
// set-wise statements (conflicts found by joins, rows copied by INSERT ... SELECT) instead of a
// million JavaScript objects: berthd's memory stays flat whatever the size of the backup.
// Prefix leases (one per owner and pool: few) wait as JSON text. The temp file is unlinked by
// SQLite at once, so nothing is left behind if berthd dies mid-stream.
import type Database from 'better-sqlite3';
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

interface HolderRow {
  seq: number; address: Buffer; family: number; container_id: string; ifname: string; pool: string;
  h_container_id: string; h_ifname: string; h_pool: string; h_state: string; h_address: Buffer; h_family: number;
}

export class ImportStaging {
  private readonly leases: string;
  private readonly prefixes: string;
  private readonly insertLease: Database.Statement;
  private readonly insertPrefix: Database.Statement<[string]>;
  private readonly prefixPage: Database.Statement<[number, number], { seq: number; body: string }>;
  private dropped = false;

  constructor(private readonly db: Database.Database, id: number) {
    this.leases = `temp.import_leases_${id}`;
    this.prefixes = `temp.import_prefixes_${id}`;
    const bare = `import_leases_${id}`;
    // `skip`: present already exactly so (in the database or earlier in the stream); not inserted.
    db.exec(`CREATE TABLE ${this.leases} (seq INTEGER PRIMARY KEY, ${COLUMNS.replace(/\s+/g, ' ')}, skip INTEGER NOT NULL DEFAULT 0);
      CREATE INDEX temp.${bare}_by_address ON ${bare} (address_space, address);
      CREATE INDEX temp.${bare}_by_attachment ON ${bare} (container_id, ifname, pool) WHERE state = 'active';
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

  /** The staged addresses of a pool (index in the stream, address, family), `size` at a time; with `restored`, only those not skipped. */
  *addressPages(pool: string, size: number, restored = false): Generator<{ index: number; address: bigint; family: IpFamily }[]> {
    const page = this.db.prepare<[string, number, number], { seq: number; address: Buffer; family: number }>(
      `SELECT seq, address, family FROM ${this.leases} WHERE pool = ? AND seq > ? ${restored ? 'AND skip = 0' : ''} ORDER BY seq LIMIT ?`);
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
   * Inside the restoring transaction: marks what is present already exactly so (same address,
   * attachment and pool, in the database or earlier in the stream) and reports every conflict
   * (the first `limit` of them; `total` counts all). Each check is one join over indexes.
   */
  conflicts(limit: number): { listed: StagedConflict[]; total: number } {
    const listed: StagedConflict[] = [];
    let total = 0;
    const S = this.leases;
    const holderSelect = `a.seq, a.address, a.family, a.container_id, a.ifname, a.pool,
      h.container_id AS h_container_id, h.ifname AS h_ifname, h.pool AS h_pool, h.state AS h_state, h.address AS h_address, h.family AS h_family`;
    const sameHolder = 'h.container_id = a.container_id AND h.ifname = a.ifname AND h.pool = a.pool';
    // Rows are only counted while a query is open (better-sqlite3 runs one statement at a time).
    const report = (sql: string, problem: (row: HolderRow) => string) => {
      for (const row of this.db.prepare<[], HolderRow>(sql).iterate()) {
        total++;
        if (listed.length < limit) listed.push({ index: row.seq - 1, problem: problem(row) });
      }
    };
    const heldBy = (row: HolderRow) => `${text(row.address, row.family)} is ${row.h_state === 'cooling' ? 'cooling down after' : 'leased to'} container ${row.h_container_id} ifname ${row.h_ifname}`;
    const holds = (row: HolderRow) => `container ${row.container_id} ifname ${row.ifname} already holds ${text(row.h_address, row.h_family)} in pool "${row.pool}"`;
    // An address twice in the stream: the rest are compared with its first.
    const firstOfAddress = `FROM ${S} a JOIN ${S} h ON h.address_space = a.address_space AND h.address = a.address AND h.seq < a.seq
      WHERE NOT EXISTS (SELECT 1 FROM ${S} f WHERE f.address_space = a.address_space AND f.address = a.address AND f.seq < h.seq)`;
    this.db.prepare(`UPDATE ${S} SET skip = 1 WHERE seq IN (SELECT a.seq ${firstOfAddress} AND ${sameHolder})`).run();
    report(`SELECT ${holderSelect} ${firstOfAddress} AND NOT (${sameHolder})`, heldBy);
    // An address the database holds.
    this.db.prepare(`UPDATE ${S} AS a SET skip = 1 WHERE a.skip = 0 AND EXISTS (SELECT 1 FROM main.leases h
      WHERE h.address_space = a.address_space AND h.address = a.address AND ${sameHolder})`).run();
    report(`SELECT ${holderSelect} FROM ${S} a JOIN main.leases h ON h.address_space = a.address_space AND h.address = a.address WHERE a.skip = 0`, heldBy);
    // Only active leases are one per attachment and pool; cooling ones may sit beside them.
    report(`SELECT ${holderSelect} FROM ${S} a JOIN main.leases h ON ${sameHolder} AND h.state = 'active' WHERE a.state = 'active' AND a.skip = 0`, holds);
    report(`SELECT ${holderSelect} FROM ${S} a JOIN ${S} h ON ${sameHolder} AND h.state = 'active' AND h.skip = 0 AND h.seq < a.seq
      WHERE a.state = 'active' AND a.skip = 0`, holds);
    return { listed, total };
  }

  /** Inside the restoring transaction: copies staged leases[from .. to) not skipped into the lease table. */
  restoreRange(from: number, to: number): void {
    this.db.prepare(`INSERT INTO main.leases (${COLUMNS}) SELECT ${COLUMNS} FROM ${this.leases} WHERE seq > ? AND seq <= ? AND skip = 0 ORDER BY seq`).run(from, to);
  }

  /** Per pool: leases restored (not skipped), and of them cooling. */
  restoredCounts(): { pool: string; restored: number; cooling: number; skipped: number }[] {
    return this.db.prepare<[], { pool: string; restored: number; cooling: number; skipped: number }>(
      `SELECT pool, sum(skip = 0) AS restored, sum(skip = 0 AND state = 'cooling') AS cooling, sum(skip) AS skipped FROM ${this.leases} GROUP BY pool`).all();
  }

  drop(): void {
    if (this.dropped || !this.db.open) return;
    this.dropped = true;
    this.db.exec(`DROP TABLE IF EXISTS ${this.leases}; DROP TABLE IF EXISTS ${this.prefixes}`);
  }

  private inTransaction(run: () => void): void {
    // Inside a transaction already (a restore stepping through its turns): the rows join it.
    if (this.db.inTransaction) run();
    else this.db.transaction(run)();
  }
}

function text(key: Buffer, family: number): string {
  return formatAddress(addressFromKey(key), family as IpFamily);
}
