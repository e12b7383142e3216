// Blocks of cluster pools this node owns, in the lease database. A block is recorded here, in
// the same kind of transaction as a lease, before any address of it is handed out: a restart
// serves from these rows without asking the cluster store.
import type Database from 'better-sqlite3';
import { addressFromKey, addressKey, formatCidr, type IpFamily } from '../ip/address.ts';

export type BlockState = 'owned' | 'lost';

export interface ClusterBlockRecord {
  readonly pool: string;
  readonly addressSpace: string;
  readonly family: IpFamily;
  readonly first: bigint;
  readonly prefixLength: number;
  /** Claim token written with the block in the cluster store. */
  readonly token: string;
  /** Revision of the ownership key in the cluster store (a release compares on it). */
  readonly revision: string;
  readonly claimedAtMs: number;
  readonly state: BlockState;
  readonly lostAtMs: number;
}

interface BlockRow {
  pool: string;
  address_space: string;
  family: number;
  first_address: Buffer;
  prefix_length: number;
  token: string;
  revision: string;
  claimed_at_ms: number;
  state: BlockState;
  lost_at_ms: number;
}

const COLUMNS = 'pool, address_space, family, first_address, prefix_length, token, revision, claimed_at_ms, state, lost_at_ms';

export class ClusterBlockStore {
  private readonly statements;

  constructor(db: Database.Database) {
    this.statements = {
      insert: db.prepare(`INSERT INTO cluster_blocks (address_space, first_address, pool, family, prefix_length, cidr_text, token, revision, claimed_at_ms)
        VALUES (@addressSpace, @first, @pool, @family, @prefixLength, @cidrText, @token, @revision, @claimedAtMs)
        ON CONFLICT (address_space, first_address) DO UPDATE SET pool = excluded.pool, prefix_length = excluded.prefix_length,
          cidr_text = excluded.cidr_text, token = excluded.token, revision = excluded.revision, claimed_at_ms = excluded.claimed_at_ms, state = 'owned', lost_at_ms = 0`),
      all: db.prepare<[], BlockRow>(`SELECT ${COLUMNS} FROM cluster_blocks ORDER BY pool, first_address`),
      ofPool: db.prepare<[string], BlockRow>(`SELECT ${COLUMNS} FROM cluster_blocks WHERE pool = ? ORDER BY first_address`),
      markLost: db.prepare<[number, string, Buffer]>("UPDATE cluster_blocks SET state = 'lost', lost_at_ms = ? WHERE address_space = ? AND first_address = ? AND state = 'owned'"),
      setRevision: db.prepare<[string, string, Buffer, string]>('UPDATE cluster_blocks SET revision = ? WHERE address_space = ? AND first_address = ? AND token = ?'),
      remove: db.prepare<[string, Buffer]>('DELETE FROM cluster_blocks WHERE address_space = ? AND first_address = ?'),
    };
  }

  /** Records an owned block (again, after a reclaim: the new token replaces the old). */
  record(block: Omit<ClusterBlockRecord, 'state' | 'lostAtMs'>): void {
    this.statements.insert.run({
      addressSpace: block.addressSpace, first: addressKey(block.first), pool: block.pool, family: block.family,
      prefixLength: block.prefixLength, cidrText: formatCidr(block.first, block.prefixLength, block.family), token: block.token, revision: block.revision, claimedAtMs: block.claimedAtMs,
    });
  }

  list(pool?: string): ClusterBlockRecord[] {
    return (pool === undefined ? this.statements.all.all() : this.statements.ofPool.all(pool)).map(toRecord);
  }

  /** The block is no longer ours in the cluster; its leases stay until DEL, but nothing new comes from it. */
  markLost(addressSpace: string, first: bigint, atMs: number): boolean {
    return this.statements.markLost.run(atMs, addressSpace, addressKey(first)).changes > 0;
  }

  /** The store's current revision of a block still held under the same token. */
  setRevision(addressSpace: string, first: bigint, token: string, revision: string): void {
    this.statements.setRevision.run(revision, addressSpace, addressKey(first), token);
  }

  remove(addressSpace: string, first: bigint): boolean {
    return this.statements.remove.run(addressSpace, addressKey(first)).changes > 0;
  }
}

function toRecord(row: BlockRow): ClusterBlockRecord {
  return {
    pool: row.pool, addressSpace: row.address_space, family: row.family as IpFamily, first: addressFromKey(row.first_address),
    prefixLength: row.prefix_length, token: row.token, revision: row.revision, claimedAtMs: row.claimed_at_ms, state: row.state, lostAtMs: row.lost_at_ms,
  };
}
