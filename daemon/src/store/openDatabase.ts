// Opening the lease database file: berthd's only way in. Refuses a file it cannot trust (unreadable,
// corrupt, from a newer berth, held by another berthd) with what to do, and never recreates one.
import Database from 'better-sqlite3';
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { migrate } from './migrations.ts';
import { StoreOpenError } from './storeOpenError.ts';

/** The database at path, locked for this process, checked, and migrated to this berthd's schema. */
export function openDatabase(path: string): Database.Database {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  if (existsSync(path)) {
    try {
      accessSync(path, constants.R_OK | constants.W_OK);
    } catch (error) {
      throw new StoreOpenError(path, `cannot read and write it (${errorText(error)}); fix its ownership or mode (0600, owned by the user running berthd)`);
    }
  } else {
    closeSync(openSync(path, 'a', 0o600));
  }
  let db: Database.Database;
  try {
    db = new Database(path, { fileMustExist: true });
  } catch (error) {
    throw new StoreOpenError(path, `cannot open it (${errorText(error)})`);
  }
  try {
    // Exclusive locking: one daemon per database, enforced by SQLite's own file lock, which
    // the kernel drops when the process dies.
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('busy_timeout = 0');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec('BEGIN EXCLUSIVE; COMMIT');
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new CorruptDatabase(String(check));
    migrate(db, path);
  } catch (error) {
    db.close();
    if (error instanceof StoreOpenError) throw error;
    const code = (error as { code?: string }).code ?? '';
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
      throw new StoreOpenError(path, 'it is locked by another process: another berthd is running on this node (one daemon per database)');
    }
    if (error instanceof CorruptDatabase || code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
      throw new StoreOpenError(path, `it is not a valid berth lease database (${errorText(error)}). berthd will not start on it and will not replace it: move it aside, then restore the last backup with "berthctl import" or start empty knowing that running containers keep addresses berth no longer knows about`);
    }
    throw new StoreOpenError(path, `cannot prepare it (${errorText(error)})`);
  }
  return db;
}

class CorruptDatabase extends Error {}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
