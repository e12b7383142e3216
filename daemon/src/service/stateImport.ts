// Restoring a backup (berthctl import): address leases and prefix leases together, in one
// transaction, all or none. Anything already present exactly as given is skipped; any conflict
// refuses the whole import and names every conflict. Each entry is checked against its pool
// first (no database access), then, inside the transaction, against what the database holds.
import type { Logger } from 'pino';
import type { AddressInterval } from '../config/types.ts';
import { AddressOutsidePoolError, ImportConflictsError, InvalidArgumentError, UnknownPoolError } from '../errors.ts';
import { formatAddress, formatCidr } from '../ip/address.ts';
import type { UnitOfWork } from '../store/commitQueue.ts';
import type { ImportStaging } from '../store/importStaging.ts';
import { ownerKeyOf, parseRequestedAddress } from './ipamService.ts';
import type { PoolKind, ServedPool, ServiceDeps } from './poolCatalogue.ts';
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

  result(): ImportResult {
    if (this.conflicts > 0) throw new ImportConflictsError(this.listed, this.conflicts);
    return {
      imported: this.counts.address.imported, alreadyPresent: this.counts.address.present,
      importedPrefixes: this.counts.prefix.imported, prefixesAlreadyPresent: this.counts.prefix.present,
    };
  }
}

/** Conflicts kept for the error message. */
const LISTED_CONFLICTS = 20;
/** Entries restored per step inside the streamed import's transaction. */
const STREAM_PAGE = 2000;

/**
 * A backup arriving as a stream (ImportLeasesStream): each message is checked as it comes (so a
 * malformed entry fails the stream at once, named by its index across the stream) and staged on
 * disk; `commit` restores everything in one transaction, all or none, without ever holding the
 * whole backup in memory.
 */
export class StreamedImport {
  private leaseCount = 0;
  private prefixCount = 0;
  private readonly staging: ImportStaging;

  constructor(private readonly deps: ServiceDeps) {
    this.staging = deps.store.openImportStaging();
  }

  add(chunk: { readonly leases: readonly ImportedLease[]; readonly prefixes: readonly ImportedPrefix[] }): void {
    const now = this.deps.now ?? Date.now;
    chunk.leases.forEach((lease, i) => prepareLease(this.deps, lease, `leases[${this.leaseCount + i}]`, now));
    chunk.prefixes.forEach((entry, i) => preparePrefix(this.deps, entry, `prefixes[${this.prefixCount + i}]`, now));
    this.staging.add('lease', chunk.leases.map((lease) => JSON.stringify(lease)));
    this.staging.add('prefix', chunk.prefixes.map((entry) => JSON.stringify(entry)));
    this.leaseCount += chunk.leases.length;
    this.prefixCount += chunk.prefixes.length;
  }

  async commit(log: Logger): Promise<ImportResult> {
    const now = this.deps.now ?? Date.now;
    try {
      const result = await this.deps.commitQueue.submit((unit) => {
        const outcome = new ImportOutcome();
        // Checked again here: the pools may have been reloaded while the stream was arriving.
        let index = 0;
        for (const page of this.staging.pages('lease', STREAM_PAGE)) {
          outcome.apply(page.map((body) => prepareLease(this.deps, JSON.parse(body) as ImportedLease, `leases[${index++}]`, now)), unit);
        }
        index = 0;
        for (const page of this.staging.pages('prefix', STREAM_PAGE)) {
          outcome.apply(page.map((body) => preparePrefix(this.deps, JSON.parse(body) as ImportedPrefix, `prefixes[${index++}]`, now)), unit);
        }
        return outcome.result();
      });
      log.info({ event: 'leases.imported', streamed: true, ...result }, 'leases imported');
      return result;
    } finally {
      this.staging.drop();
    }
  }

  /** The stream failed or was cancelled: nothing of it is kept. */
  discard(): void {
    this.staging.drop();
  }
}

function prepareLease({ store, pools }: ServiceDeps, lease: ImportedLease, field: string, now: () => number): PreparedEntry {
  requireContainerId(lease.containerId, `${field}.container_id`);
  requireIfname(lease.ifname, `${field}.ifname`);
  const pool = pools.find('address', lease.pool);
  if (!pool) throw new UnknownPoolError(lease.pool, pools.names('address'));
  requireSameAddressSpace(lease.addressSpace, pool, `${field}.address_space`);
  const address = parseRequestedAddress(lease.address, `${field}.address`);
  if (!pool.contains(address.value, address.family) || !pool.canAssign(address.value)) {
    throw new AddressOutsidePoolError(`${field}.address: ${lease.address} cannot be handed out by pool "${pool.name}"`, { pool: pool.name });
  }
  const record = {
    pool: pool.name, addressSpace: pool.addressSpace, family: address.family, address: address.value, containerId: lease.containerId, ifname: lease.ifname,
    network: lease.network, podNamespace: lease.podNamespace, podName: lease.podName, podUid: lease.podUid,
    netns: lease.netns, bootId: lease.bootId, createdAtMs: lease.createdAtUnixMs || now(),
  };
  const cooling = lease.state === 'COOLING' ? { ownerKey: ownerKeyOf(record), reusableAtMs: Number(lease.reusableAtUnixMs ?? 0) } : undefined;
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
