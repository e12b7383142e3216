// Restoring a backup (berthctl import): address leases and prefix leases together, in one
// transaction, all or none. Anything already present exactly as given is skipped; any conflict
// refuses the whole import and names every conflict. Each entry is checked against its pool
// first (no database access), then, inside the transaction, against what the database holds.
import type { Logger } from 'pino';
import type { AddressInterval } from '../config/types.ts';
import { AddressOutsidePoolError, ImportConflictsError, InvalidArgumentError, UnknownPoolError } from '../errors.ts';
import { formatAddress, formatCidr } from '../ip/address.ts';
import type { UnitOfWork } from '../store/commitQueue.ts';
import type { IpFamily } from '../ip/address.ts';
import type { ImportStaging } from '../store/importStaging.ts';
import { ownerKeyOf, parseRequestedAddress } from './ipamService.ts';
import type { PoolKind, ServedPool, ServiceDeps } from './poolCatalogue.ts';
import type { PoolState } from './poolState.ts';
import { prefixInterval } from './prefixPoolState.ts';
import { parseWantedPrefix, requireOwner } from './prefixService.ts';
import { requireContainerId, requireIfname } from './validateCommand.ts';

/** A lease as exported by berthctl (text address). */
export interface ImportedLease {
  readonly pool: string; readonly address: string; readonly containerId: string; readonly ifname: string; readonly network: string;
  readonly podNamespace: string; readonly podName: string; readonly podUid: string; readonly netns: string; readonly bootId: string;
  readonly createdAtUnixMs: number; readonly addressSpace: string;
  /** 'COOLING' restores the lease cooling, for the same owner, until reusableAtUnixMs; anything else, active. */
  readonly state?: string; readonly reusableAtUnixMs?: number;
}

/** A prefix lease as exported by berthctl (text prefix). */
export interface ImportedPrefix {
  readonly pool: string;
  readonly prefix: string;
  readonly owner: string;
  readonly addressSpace: string;
  readonly createdAtUnixMs: number;
  /** 'COOLING' restores the prefix cooling until reusableAtUnixMs; anything else, active. */
  readonly state?: string;
  readonly reusableAtUnixMs?: number;
}

export interface ImportResult {
  readonly imported: number;
  readonly alreadyPresent: number;
  readonly importedPrefixes: number;
  readonly prefixesAlreadyPresent: number;
}

/** One entry checked against its pool, ready to compare with the database and insert. */
interface PreparedEntry {
  readonly kind: PoolKind;
  readonly field: string;
  readonly pool: ServedPool;
  readonly span: AddressInterval;
  /** Inside the transaction: 'present' when stored exactly so, else the conflict, else undefined (insertable). */
  conflict(): 'present' | string | undefined;
  insert(): void;
  readonly cooling: boolean;
}

export async function importState(
  deps: ServiceDeps,
  backup: { readonly leases: readonly ImportedLease[]; readonly prefixes: readonly ImportedPrefix[] },
  log: Logger,
): Promise<ImportResult> {
  const now = deps.now ?? Date.now;
  const prepared = [
    ...backup.leases.map((lease, i) => prepareLease(deps, lease, `leases[${i}]`, now)),
    ...backup.prefixes.map((entry, i) => preparePrefix(deps, entry, `prefixes[${i}]`, now)),
  ];
  const result = await deps.commitQueue.submit((unit) => {
    const outcome = new ImportOutcome();
    outcome.apply(prepared, unit);
    return outcome.result();
  });
  log.info({ event: 'leases.imported', ...result }, 'leases imported');
  return result;
}

/** What an import did inside its transaction; throws the conflicts, all or none. */
class ImportOutcome {
  private readonly counts = { address: { imported: 0, present: 0 }, prefix: { imported: 0, present: 0 } };
  /** The first few conflicts, for the message; the rest are counted (a streamed import may hold a million). */
  private readonly listed: string[] = [];
  private conflicts = 0;

  apply(prepared: readonly PreparedEntry[], unit: UnitOfWork): void {
    // One undo per call, not one closure per entry, and only what the undo needs (pool, span):
    // the prepared entries (records, closures) of a million-lease stream would not fit in memory.
    const added: { readonly pool: ServedPool; readonly span: AddressInterval; readonly cooling: boolean }[] = [];
    unit.onRollback(() => {
      for (const entry of added) {
        entry.pool.unhold(entry.span);
        if (entry.cooling) entry.pool.coolingCount--;
      }
    });
    for (const entry of prepared) {
      const conflict = entry.conflict();
      if (conflict === 'present') this.counts[entry.kind].present++;
      else if (conflict !== undefined) {
        this.conflicts++;
        if (this.listed.length < LISTED_CONFLICTS) this.listed.push(`${entry.field}: ${conflict}`);
      } else {
        entry.insert();
        entry.pool.hold(entry.span);
        if (entry.cooling) entry.pool.coolingCount++;
        added.push({ pool: entry.pool, span: entry.span, cooling: entry.cooling });
        this.counts[entry.kind].imported++;
      }
    }
  }

  /** Conflicts found elsewhere (the streamed import's joins): `listed` are the first of `total`. */
  noteConflicts(listed: readonly string[], total: number): void {
    for (const conflict of listed) if (this.listed.length < LISTED_CONFLICTS) this.listed.push(conflict);
    this.conflicts += total;
  }

  /** Address leases restored set-wise (the streamed import). */
  countRestored(imported: number, present: number): void {
    this.counts.address.imported += imported;
    this.counts.address.present += present;
  }

  /** All or none: any conflict refuses the whole import. */
  throwConflicts(): void {
    if (this.conflicts > 0) throw new ImportConflictsError(this.listed, this.conflicts);
  }

  result(): ImportResult {
    this.throwConflicts();
    return {
      imported: this.counts.address.imported, alreadyPresent: this.counts.address.present,
      importedPrefixes: this.counts.prefix.imported, prefixesAlreadyPresent: this.counts.prefix.present,
    };
  }
}

/** Conflicts kept for the error message. */
const LISTED_CONFLICTS = 20;
/** Prefix entries (or addresses) handled per step of the streamed import's restore. */
const STREAM_PAGE = 2000;
/** Staged leases copied into the lease table per step (one event-loop turn each). */
const RESTORE_STEP = 20_000;

/**
 * A backup arriving as a stream (ImportLeasesStream): each message is checked as it comes (so a
 * malformed entry fails the stream at once, named by its index across the stream) and staged on
 * disk as the rows it will become; `commit` restores everything in one transaction, all or none,
 * a step per event-loop turn, without ever holding the backup in memory.
 */
export class StreamedImport {
  private leaseCount = 0;
  private prefixCount = 0;
  private readonly staging: ImportStaging;
  /** The pool object each staged lease was checked against: a config reload replaces a changed pool. */
  private readonly checkedAgainst = new Map<string, ServedPool>();
  private committing = false;
  private abandoned = false;

  constructor(private readonly deps: ServiceDeps) {
    this.staging = deps.store.openImportStaging();
  }

  add(chunk: { readonly leases: readonly ImportedLease[]; readonly prefixes: readonly ImportedPrefix[] }): void {
    const now = this.deps.now ?? Date.now;
    const staged = chunk.leases.map((lease, i) => {
      const { pool, record, cooling } = checkLease(this.deps, lease, `leases[${this.leaseCount + i}]`, now);
      this.checkedAgainst.set(pool.name, pool);
      return cooling ? { ...record, cooling } : record;
    });
    chunk.prefixes.forEach((entry, i) => preparePrefix(this.deps, entry, `prefixes[${this.prefixCount + i}]`, now));
    this.staging.addLeases(staged);
    this.staging.addPrefixes(chunk.prefixes.map((entry) => JSON.stringify(entry)));
    this.leaseCount += chunk.leases.length;
    this.prefixCount += chunk.prefixes.length;
  }

  async commit(log: Logger): Promise<ImportResult> {
    this.committing = true;
    try {
      const result = await this.deps.commitQueue.submitStepwise((unit) => this.restore(unit));
      log.info({ event: 'leases.imported', streamed: true, ...result }, 'leases imported');
      return result;
    } finally {
      this.staging.drop();
    }
  }

  /**
   * The stream failed or was cancelled: nothing of it is kept. grpc-js may report a cancelled
   * stream's end first, so its restore may be queued or under way: it stops at its next step and
   * is rolled back (and `commit` drops the staging).
   */
  discard(): void {
    this.abandoned = true;
    if (!this.committing) this.staging.drop();
  }

  /** Inside the restoring transaction, a step per turn (see CommitQueue.submitStepwise). */
  private *restore(unit: UnitOfWork): Generator<void, ImportResult> {
    const { pools, store } = this.deps;
    const names = [...this.checkedAgainst.keys()];
    // Rolled back: the pools' held addresses are read again from the database as it is now.
    unit.onRollback(() => { for (const name of names) pools.find('address', name)?.reloadHeld(store); });
    for (const [name, checked] of this.checkedAgainst) {
      const pool = pools.find('address', name);
      if (!pool) throw new UnknownPoolError(name, pools.names('address'));
      if (pool === checked) continue;
      // The pool was reloaded while the stream arrived: its leases are checked again.
      requireSameAddressSpace(checked.addressSpace, pool, `leases (pool "${name}").address_space`);
      for (const page of this.staging.addressPages(name, STREAM_PAGE)) {
        for (const entry of page) requireAssignable(pool, entry.address, entry.family, formatAddress(entry.address, entry.family), `leases[${entry.index}].address`);
        yield* this.turn();
      }
    }
    const outcome = new ImportOutcome();
    yield* this.turn();
    const now = this.deps.now ?? Date.now;
    let index = 0;
    for (const page of this.staging.prefixPages(STREAM_PAGE)) {
      outcome.apply(page.map((body) => preparePrefix(this.deps, JSON.parse(body) as ImportedPrefix, `prefixes[${index++}]`, now)), unit);
      yield* this.turn();
    }
    let inserted = 0;
    for (let from = 0; from < this.leaseCount; from += RESTORE_STEP) {
      inserted += this.staging.restoreRange(from, Math.min(this.leaseCount, from + RESTORE_STEP));
      yield* this.turn();
    }
    if (inserted < this.leaseCount) {
      const conflicts = this.staging.conflicts(LISTED_CONFLICTS);
      outcome.noteConflicts(conflicts.listed.map((conflict) => `leases[${conflict.index}]: ${conflict.problem}`), conflicts.total);
      yield* this.turn();
    }
    outcome.throwConflicts();
    // The pools' held addresses as the database now has them: one ordered read per pool, cheaper
    // than a million single inserts into the set.
    for (const name of names) {
      pools.find('address', name)!.reloadHeld(store);
      yield* this.turn();
    }
    outcome.countRestored(inserted, this.leaseCount - inserted);
    return outcome.result();
  }

  /** One step's end: the next runs in a later turn, unless the client has gone (then nothing is kept). */
  private *turn(): Generator<void, void> {
    yield;
    if (this.abandoned) throw new InvalidArgumentError('the client cancelled the import before it was restored; nothing was imported');
  }
}

/** A lease checked against its pool (no database access): the row to insert. */
function checkLease({ pools }: ServiceDeps, lease: ImportedLease, field: string, now: () => number) {
  requireContainerId(lease.containerId, `${field}.container_id`);
  requireIfname(lease.ifname, `${field}.ifname`);
  const pool = pools.find('address', lease.pool);
  if (!pool) throw new UnknownPoolError(lease.pool, pools.names('address'));
  requireSameAddressSpace(lease.addressSpace, pool, `${field}.address_space`);
  const address = parseRequestedAddress(lease.address, `${field}.address`);
  requireAssignable(pool, address.value, address.family, lease.address, `${field}.address`);
  const record = {
    pool: pool.name, addressSpace: pool.addressSpace, family: address.family, address: address.value, containerId: lease.containerId, ifname: lease.ifname,
    network: lease.network, podNamespace: lease.podNamespace, podName: lease.podName, podUid: lease.podUid,
    netns: lease.netns, bootId: lease.bootId, createdAtMs: lease.createdAtUnixMs || now(),
  };
  const cooling = lease.state === 'COOLING' ? { ownerKey: ownerKeyOf(record), reusableAtMs: Number(lease.reusableAtUnixMs ?? 0) } : undefined;
  return { pool, record, cooling };
}

function requireAssignable(pool: PoolState, address: bigint, family: IpFamily, text: string, field: string): void {
  if (!pool.contains(address, family) || !pool.canAssign(address)) {
    throw new AddressOutsidePoolError(`${field}: ${text} cannot be handed out by pool "${pool.name}"`, { pool: pool.name });
  }
}

function prepareLease(deps: ServiceDeps, lease: ImportedLease, field: string, now: () => number): PreparedEntry {
  const { store } = deps;
  const { pool, record, cooling } = checkLease(deps, lease, field, now);
  return {
    kind: 'address', field, pool, span: { start: record.address, end: record.address }, cooling: cooling !== undefined,
    conflict() {
      const holder = store.leaseAt(record.addressSpace, record.address);
      if (holder && holder.containerId === record.containerId && holder.ifname === record.ifname && holder.pool === record.pool) return 'present';
      if (holder) return `${formatAddress(record.address, record.family)} is ${holder.state === 'cooling' ? 'cooling down after' : 'leased to'} container ${holder.containerId} ifname ${holder.ifname}`;
      // Only active leases are one per attachment and pool; cooling ones may sit beside them.
      const other = cooling ? undefined : store.leasesOfAttachment(record.containerId, record.ifname).find((held) => held.pool === record.pool);
      if (other) return `container ${record.containerId} ifname ${record.ifname} already holds ${formatAddress(other.address, other.family)} in pool "${record.pool}"`;
      return undefined;
    },
    insert: () => store.insertLease(record, cooling),
  };
}

function preparePrefix({ store, pools }: ServiceDeps, entry: ImportedPrefix, field: string, now: () => number): PreparedEntry {
  requireOwner(entry.owner, `${field}.owner`);
  const pool = pools.find('prefix', entry.pool);
  if (!pool) throw pools.unknownPrefixPool(entry.pool, `${field}.pool: `);
  requireSameAddressSpace(entry.addressSpace, pool, `${field}.address_space`);
  if (entry.prefix === '') throw new InvalidArgumentError(`${field}.prefix is required`);
  const wanted = parseWantedPrefix({ prefixLength: 0, requestedPrefix: entry.prefix }, pool, `${field}.prefix`);
  const family = pool.config.family;
  const first = wanted.first ?? pool.bounds.start;
  const span = prefixInterval(first, wanted.length, family);
  if (pool.touchesReserved(span)) {
    throw new AddressOutsidePoolError(`${field}.prefix: ${entry.prefix} overlaps a reserved subnet of pool "${pool.name}"`, { pool: pool.name });
  }
  const record = { pool: pool.name, addressSpace: pool.addressSpace, family, first, prefixLength: wanted.length, owner: entry.owner, createdAtMs: entry.createdAtUnixMs || now() };
  const coolingUntil = entry.state === 'COOLING' ? Number(entry.reusableAtUnixMs ?? 0) : undefined;
  return {
    kind: 'prefix', field, pool, span, cooling: coolingUntil !== undefined,
    conflict() {
      const holder = store.prefixes.overlapping(record.addressSpace, span.start, span.end);
      if (holder && holder.pool === record.pool && holder.owner === record.owner && holder.first === first && holder.prefixLength === record.prefixLength && holder.state === (coolingUntil === undefined ? 'active' : 'cooling')) return 'present';
      if (holder) {
        return `${formatCidr(first, record.prefixLength, family)} overlaps ${formatCidr(holder.first, holder.prefixLength, holder.family)} ${holder.state === 'cooling' ? 'cooling down after' : 'held by'} owner "${holder.owner}"`;
      }
      // One active prefix per owner and pool; cooling ones may sit beside it.
      const other = coolingUntil === undefined ? store.prefixes.activeOf(record.pool, record.owner) : undefined;
      if (other) return `owner "${record.owner}" already holds ${formatCidr(other.first, other.prefixLength, other.family)} in pool "${record.pool}"`;
      return undefined;
    },
    insert: () => {
      const inserted = store.prefixes.insert(record);
      if (coolingUntil !== undefined) store.prefixes.cool(inserted.id, coolingUntil);
    },
  };
}

function requireSameAddressSpace(addressSpace: string, pool: ServedPool, field: string): void {
  if (addressSpace !== '' && addressSpace !== pool.addressSpace) {
    throw new InvalidArgumentError(`${field}: "${addressSpace}" is not the address space of pool "${pool.name}" ("${pool.addressSpace}")`);
  }
}
