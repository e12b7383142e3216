// Restoring a backup (berthctl import): address leases and prefix leases together, in one
// transaction, all or none. Anything already present exactly as given is skipped; any conflict
// refuses the whole import and names every conflict.
import type { Logger } from 'pino';
import { ImportConflictsError } from '../errors.ts';
import type { CommitQueue } from '../store/commitQueue.ts';
import type { ImportStaging } from '../store/importStaging.ts';
import type { LeaseStore } from '../store/leaseStore.ts';
import type { ImportedLease, IpamService } from './ipamService.ts';
import type { ImportedPrefix, PrefixService } from './prefixService.ts';

export interface ImportResult {
  readonly imported: number;
  readonly alreadyPresent: number;
  readonly importedPrefixes: number;
  readonly prefixesAlreadyPresent: number;
}

export interface ImportServices {
  readonly ipam: IpamService;
  readonly prefixes: PrefixService;
  readonly commitQueue: CommitQueue;
  readonly store: LeaseStore;
}

export async function importState(
  services: ImportServices,
  backup: { readonly leases: readonly ImportedLease[]; readonly prefixes: readonly ImportedPrefix[] },
  log: Logger,
): Promise<ImportResult> {
  const leases = services.ipam.prepareImport(backup.leases);
  const prefixes = services.prefixes.prepareImport(backup.prefixes);
  const result = await services.commitQueue.submit((unit) => {
    const leaseOutcome = services.ipam.importInTransaction(leases, unit);
    const prefixOutcome = services.prefixes.importInTransaction(prefixes, unit);
    const conflicts = [...leaseOutcome.conflicts, ...prefixOutcome.conflicts];
    if (conflicts.length > 0) throw new ImportConflictsError(conflicts);
    return {
      imported: leaseOutcome.imported, alreadyPresent: leaseOutcome.alreadyPresent,
      importedPrefixes: prefixOutcome.imported, prefixesAlreadyPresent: prefixOutcome.alreadyPresent,
    };
  });
  log.info({ event: 'leases.imported', ...result }, 'leases imported');
  return result;
}

/** Entries restored per step inside the streamed import's transaction. */
const STREAM_PAGE = 2000;
/** Conflicts kept for the error message; the rest are counted. */
const LISTED_CONFLICTS = 20;

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

  constructor(private readonly services: ImportServices) {
    this.staging = services.store.openImportStaging();
  }

  add(chunk: { readonly leases: readonly ImportedLease[]; readonly prefixes: readonly ImportedPrefix[] }): void {
    this.services.ipam.prepareImport(chunk.leases, this.leaseCount);
    this.services.prefixes.prepareImport(chunk.prefixes, this.prefixCount);
    this.staging.add('lease', chunk.leases.map((lease) => JSON.stringify(lease)));
    this.staging.add('prefix', chunk.prefixes.map((prefix) => JSON.stringify(prefix)));
    this.leaseCount += chunk.leases.length;
    this.prefixCount += chunk.prefixes.length;
  }

  async commit(log: Logger): Promise<ImportResult> {
    const { ipam, prefixes, commitQueue } = this.services;
    try {
      const result = await commitQueue.submit((unit) => {
        const listed: string[] = [];
        let conflicts = 0;
        const note = (found: readonly string[]) => {
          conflicts += found.length;
          for (const text of found) if (listed.length < LISTED_CONFLICTS) listed.push(text);
        };
        const totals = { imported: 0, alreadyPresent: 0, importedPrefixes: 0, prefixesAlreadyPresent: 0 };
        let index = 0;
        for (const page of this.staging.pages('lease', STREAM_PAGE)) {
          // Checked again here: the pools may have been reloaded while the stream was arriving.
          const outcome = ipam.importInTransaction(ipam.prepareImport(page.map((body) => JSON.parse(body) as ImportedLease), index), unit);
          index += page.length;
          totals.imported += outcome.imported;
          totals.alreadyPresent += outcome.alreadyPresent;
          note(outcome.conflicts);
        }
        index = 0;
        for (const page of this.staging.pages('prefix', STREAM_PAGE)) {
          const outcome = prefixes.importInTransaction(prefixes.prepareImport(page.map((body) => JSON.parse(body) as ImportedPrefix), index), unit);
          index += page.length;
          totals.importedPrefixes += outcome.imported;
          totals.prefixesAlreadyPresent += outcome.alreadyPresent;
          note(outcome.conflicts);
        }
        if (conflicts > 0) throw new ImportConflictsError(listed, conflicts);
        return totals;
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
