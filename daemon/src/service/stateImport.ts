// Restoring a backup (berthctl import): address leases and prefix leases together, in one
// transaction, all or none. Anything already present exactly as given is skipped; any conflict
// refuses the whole import and names every conflict.
import type { Logger } from 'pino';
import { ImportConflictsError } from '../errors.ts';
import type { CommitQueue } from '../store/commitQueue.ts';
import type { ImportedLease, IpamService } from './ipamService.ts';
import type { ImportedPrefix, PrefixService } from './prefixService.ts';

export interface ImportResult {
  readonly imported: number;
  readonly alreadyPresent: number;
  readonly importedPrefixes: number;
  readonly prefixesAlreadyPresent: number;
}

export async function importState(
  services: { readonly ipam: IpamService; readonly prefixes: PrefixService; readonly commitQueue: CommitQueue },
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
