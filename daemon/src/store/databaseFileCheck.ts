// Notices when the database file berthd has open is no longer the one at --db: deleted, or
// replaced (restored from a copy, moved aside, another node's file copied over it). SQLite keeps
// writing to the open file, so every lease acknowledged from then on would vanish at the next
// restart. Compared by device and inode, which a replacement cannot keep.
import { statSync } from 'node:fs';

export class DatabaseFileCheck {
  private readonly identity: { dev: number; ino: number };

  constructor(private readonly path: string) {
    const stat = statSync(path);
    this.identity = { dev: stat.dev, ino: stat.ino };
  }

  /** Why the file at the path is not the open database, or undefined while it is. */
  problem(): string | undefined {
    let stat;
    try {
      stat = statSync(this.path);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'ENOENT') return `the lease database ${this.path} was deleted while berthd had it open`;
      return undefined; // Unreadable for a moment (EACCES, EIO): not evidence of a replacement.
    }
    if (stat.dev !== this.identity.dev || stat.ino !== this.identity.ino) {
      return `the lease database ${this.path} was replaced by another file while berthd had it open`;
    }
    return undefined;
  }
}
