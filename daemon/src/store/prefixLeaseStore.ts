// Prefix leases (whole subnets held by an owner) in the lease database. Shares the database and
// its transactions with LeaseStore, which creates it.
import type Database from 'better-sqlite3';
import { PrefixInUseError } from '../errors.ts';
import { addressFromKey, addressKey, cidrBounds, formatCidr, type IpFamily } from '../ip/address.ts';
import type { LeaseState } from './leaseRecord.ts';
import type { NewPrefixLease, PrefixLeaseFilter, PrefixLeaseRecord } from './prefixLeaseRecord.ts';

interface PrefixRow {
  id: number;
  pool: string;
  address_space: string;
  family: number;
  first_address: Buffer;
  prefix_length: number;
  owner: string;
  created_at_ms: number;
  state: LeaseState;
  reusable_at_ms: number;
}

const COLUMNS = 'id, pool, address_space, family, first_address, prefix_length, owner, created_at_ms, state, reusable_at_ms';

export class PrefixLeaseStore {
  private readonly statements;

  constructor(private readonly db: Database.Database) {
    this.statements = {
      insert: db.prepare(`INSERT INTO prefix_leases (address_space, pool, family, first_address, last_address, prefix_length, prefix_text, owner, created_at_ms)
        VALUES (@addressSpace, @pool, @family, @first, @last, @prefixLength, @prefixText, @owner, @createdAtMs)`),
      // Prefixes of one network never overlap, so the only one that can overlap [first, last] is
      // the one starting last at or before `last`.
      lastStartingAtOrBefore: db.prepare<[string, Buffer], PrefixRow & { last_address: Buffer }>(
        `SELECT ${COLUMNS}, last_address FROM prefix_leases WHERE address_space = ? AND first_address <= ? ORDER BY first_address DESC LIMIT 1`),
      activeOf: db.prepare<[string, string], PrefixRow>(`SELECT ${COLUMNS} FROM prefix_leases WHERE pool = ? AND owner = ? AND state = 'active'`),
      coolingOf: db.prepare<[string, string], PrefixRow>(
        `SELECT ${COLUMNS} FROM prefix_leases WHERE pool = ? AND owner = ? AND state = 'cooling' ORDER BY reusable_at_ms DESC`),
      within: db.prepare<[string, Buffer, Buffer], PrefixRow>(
        `SELECT ${COLUMNS} FROM prefix_leases WHERE address_space = ? AND first_address BETWEEN ? AND ? ORDER BY first_address`),
      cool: db.prepare<[number, number]>("UPDATE prefix_leases SET state = 'cooling', reusable_at_ms = ? WHERE id = ? AND state = 'active'"),
      reactivate: db.prepare<[number]>("UPDATE prefix_leases SET state = 'active', reusable_at_ms = 0 WHERE id = ? AND state = 'cooling'"),
      deleteById: db.prepare<[number]>('DELETE FROM prefix_leases WHERE id = ?'),
      deleteCooled: db.prepare<[number], PrefixRow>(
        `DELETE FROM prefix_leases WHERE state = 'cooling' AND reusable_at_ms <= ? RETURNING ${COLUMNS}`),
      coolingCount: db.prepare<[string], [number]>("SELECT count(*) FROM prefix_leases WHERE pool = ? AND state = 'cooling'").raw(),
    };
  }

  /**
   * Records a new active prefix lease and returns it. The overlap check here is the last line of
   * defence: the service has already picked a free prefix.
   */
  insert(lease: NewPrefixLease): PrefixLeaseRecord {
    const { last } = cidrBounds({ family: lease.family, network: lease.first, prefixLength: lease.prefixLength });
    const holder = this.overlapping(lease.addressSpace, lease.first, last);
    const prefixText = formatCidr(lease.first, lease.prefixLength, lease.family);
    if (holder) throw new PrefixInUseError(prefixText, holder.pool, { owner: holder.owner, prefix: formatCidr(holder.first, holder.prefixLength, holder.family) });
    const result = this.statements.insert.run({
      addressSpace: lease.addressSpace, pool: lease.pool, family: lease.family, first: addressKey(lease.first), last: addressKey(last),
      prefixLength: lease.prefixLength, prefixText, owner: lease.owner, createdAtMs: lease.createdAtMs,
    });
    return { ...lease, id: Number(result.lastInsertRowid), state: 'active', reusableAtMs: 0 };
  }

  /** The prefix lease (active or cooling) of an address space overlapping [first, last], if any. */
  overlapping(addressSpace: string, first: bigint, last: bigint): PrefixLeaseRecord | undefined {
    const row = this.statements.lastStartingAtOrBefore.get(addressSpace, addressKey(last));
    return row && addressFromKey(row.last_address) >= first ? toRecord(row) : undefined;
  }

  activeOf(pool: string, owner: string): PrefixLeaseRecord | undefined {
    const row = this.statements.activeOf.get(pool, owner);
    return row ? toRecord(row) : undefined;
  }

  /** The owner's cooling prefixes in a pool, most recently released first. */
  coolingOf(pool: string, owner: string): PrefixLeaseRecord[] {
    return this.statements.coolingOf.all(pool, owner).map(toRecord);
  }

  /** Prefixes (active or cooling) of an address space starting inside [first, last], ascending. */
  within(addressSpace: string, first: bigint, last: bigint): PrefixLeaseRecord[] {
    return this.statements.within.all(addressSpace, addressKey(first), addressKey(last)).map(toRecord);
  }

  cool(id: number, reusableAtMs: number): void {
    this.statements.cool.run(reusableAtMs, id);
  }

  reactivate(id: number): void {
    this.statements.reactivate.run(id);
  }

  delete(id: number): void {
    this.statements.deleteById.run(id);
  }

  /** Deletes the cooling prefix leases whose delay is over by nowMs; returns them. */
  deleteCooled(nowMs: number): PrefixLeaseRecord[] {
    return this.statements.deleteCooled.all(nowMs).map(toRecord);
  }

  coolingCount(pool: string): number {
    return this.statements.coolingCount.get(pool)?.[0] ?? 0;
  }

  list(filter: PrefixLeaseFilter = {}): PrefixLeaseRecord[] {
    const where: string[] = [];
    const params: string[] = [];
    if (filter.pool) { where.push('pool = ?'); params.push(filter.pool); }
    if (filter.owner) { where.push('owner = ?'); params.push(filter.owner); }
    const sql = `SELECT ${COLUMNS} FROM prefix_leases ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY pool, first_address`;
    return this.db.prepare<string[], PrefixRow>(sql).all(...params).map(toRecord);
  }
}

function toRecord(row: PrefixRow): PrefixLeaseRecord {
  return {
    id: row.id,
    pool: row.pool,
    addressSpace: row.address_space,
    family: row.family as IpFamily,
    first: addressFromKey(row.first_address),
    prefixLength: row.prefix_length,
    owner: row.owner,
    createdAtMs: row.created_at_ms,
    state: row.state,
    reusableAtMs: row.reusable_at_ms,
  };
}
