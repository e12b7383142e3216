// Restoring a backup (berthctl import): address leases and prefix leases together, in one
// transaction, all or none. Anything already present exactly as given is skipped; any conflict
// refuses the whole import and names every conflict. Each entry is checked against its pool
// first (no database access), then, inside the transaction, against what the database holds.
import type { Logger } from 'pino';
import type { AddressInterval } from '../config/types.ts';
import { AddressOutsidePoolError, ImportConflictsError, InvalidArgumentError, UnknownPoolError } from '../errors.ts';
import { formatAddress, formatCidr } from '../ip/address.ts';
import { parseRequestedAddress } from './ipamService.ts';
import type { PoolKind, ServedPool, ServiceDeps } from './poolCatalogue.ts';
import { prefixInterval } from './prefixPoolState.ts';
import { parseWantedPrefix, requireOwner } from './prefixService.ts';
import { requireContainerId, requireIfname } from './validateCommand.ts';

/** A lease as exported by berthctl (text address). */
export interface ImportedLease {
  readonly pool: string; readonly address: string; readonly containerId: string; readonly ifname: string; readonly network: string;
  readonly podNamespace: string; readonly podName: string; readonly podUid: string; readonly netns: string; readonly bootId: string;
  readonly createdAtUnixMs: number; readonly addressSpace: string;
}

/** A prefix lease as exported by berthctl (text prefix). */
export interface ImportedPrefix {
  readonly pool: string;
  readonly prefix: string;
  readonly owner: string;
  readonly addressSpace: string;
  readonly createdAtUnixMs: number;
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
    const counts = { address: { imported: 0, present: 0 }, prefix: { imported: 0, present: 0 } };
    const conflicts: string[] = [];
    for (const entry of prepared) {
      const conflict = entry.conflict();
      if (conflict === 'present') counts[entry.kind].present++;
      else if (conflict !== undefined) conflicts.push(`${entry.field}: ${conflict}`);
      else {
        entry.insert();
        entry.pool.hold(entry.span);
        unit.onRollback(() => entry.pool.unhold(entry.span));
        counts[entry.kind].imported++;
      }
    }
    if (conflicts.length > 0) throw new ImportConflictsError(conflicts);
    return {
      imported: counts.address.imported, alreadyPresent: counts.address.present,
      importedPrefixes: counts.prefix.imported, prefixesAlreadyPresent: counts.prefix.present,
    };
  });
  log.info({ event: 'leases.imported', ...result }, 'leases imported');
  return result;
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
  return {
    kind: 'address', field, pool, span: { start: record.address, end: record.address },
    conflict() {
      const holder = store.leaseAt(record.addressSpace, record.address);
      if (holder && holder.containerId === record.containerId && holder.ifname === record.ifname && holder.pool === record.pool) return 'present';
      if (holder) return `${formatAddress(record.address, record.family)} is ${holder.state === 'cooling' ? 'cooling down after' : 'leased to'} container ${holder.containerId} ifname ${holder.ifname}`;
      const other = store.leasesOfAttachment(record.containerId, record.ifname).find((held) => held.pool === record.pool);
      if (other) return `container ${record.containerId} ifname ${record.ifname} already holds ${formatAddress(other.address, other.family)} in pool "${record.pool}"`;
      return undefined;
    },
    insert: () => store.insertLease(record),
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
  return {
    kind: 'prefix', field, pool, span,
    conflict() {
      const holder = store.prefixes.overlapping(record.addressSpace, span.start, span.end);
      if (holder && holder.pool === record.pool && holder.owner === record.owner && holder.first === first && holder.prefixLength === record.prefixLength && holder.state === 'active') return 'present';
      if (holder) {
        return `${formatCidr(first, record.prefixLength, family)} overlaps ${formatCidr(holder.first, holder.prefixLength, holder.family)} ${holder.state === 'cooling' ? 'cooling down after' : 'held by'} owner "${holder.owner}"`;
      }
      const other = store.prefixes.activeOf(record.pool, record.owner);
      if (other) return `owner "${record.owner}" already holds ${formatCidr(other.first, other.prefixLength, other.family)} in pool "${record.pool}"`;
      return undefined;
    },
    insert: () => { store.prefixes.insert(record); },
  };
}

function requireSameAddressSpace(addressSpace: string, pool: ServedPool, field: string): void {
  if (addressSpace !== '' && addressSpace !== pool.addressSpace) {
    throw new InvalidArgumentError(`${field}: "${addressSpace}" is not the address space of pool "${pool.name}" ("${pool.addressSpace}")`);
  }
}
