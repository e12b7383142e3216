// A backup on its way in (ImportLeasesStream): entries wait in a TEMP table, on disk outside the
// lease database (SQLite's temp directory), until the stream ends and they are restored in one
// transaction. A million leases would not fit berthd's memory as objects; here they cost a temp
// file, which SQLite unlinks at once, so nothing is left behind if berthd dies mid-stream.
import type Database from 'better-sqlite3';

export type StagedKind = 'lease' | 'prefix';
const KIND_CODE: Record<StagedKind, number> = { lease: 0, prefix: 1 };

export class ImportStaging {
  private readonly table: string;
  private readonly insert: Database.Statement<[number, string]>;
  private readonly page: Database.Statement<[number, number, number], { seq: number; body: string }>;
  private dropped = false;

  constructor(private readonly db: Database.Database, id: number) {
    this.table = `temp.import_staging_${id}`;
    db.exec(`CREATE TABLE ${this.table} (seq INTEGER PRIMARY KEY, kind INTEGER NOT NULL, body TEXT NOT NULL)`);
    this.insert = db.prepare(`INSERT INTO ${this.table} (kind, body) VALUES (?, ?)`);
    this.page = db.prepare(`SELECT seq, body FROM ${this.table} WHERE kind = ? AND seq > ? ORDER BY seq LIMIT ?`);
  }

  /** Stages entries (JSON text each) in one temp-table transaction; the lease database is not touched. */
  add(kind: StagedKind, bodies: readonly string[]): void {
    if (bodies.length === 0) return;
    const code = KIND_CODE[kind];
    const run = () => { for (const body of bodies) this.insert.run(code, body); };
    if (this.db.inTransaction) run();
    else this.db.transaction(run)();
  }

  /** The staged entries of a kind, in the order they came, `size` at a time. */
  *pages(kind: StagedKind, size: number): Generator<string[]> {
    for (let after = 0; ;) {
      const rows = this.page.all(KIND_CODE[kind], after, size);
      if (rows.length === 0) return;
      yield rows.map((row) => row.body);
      after = rows.at(-1)!.seq;
      if (rows.length < size) return;
    }
  }

  drop(): void {
    if (this.dropped || !this.db.open) return;
    this.dropped = true;
    this.db.exec(`DROP TABLE IF EXISTS ${this.table}`);
  }
}
