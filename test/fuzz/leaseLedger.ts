// The fuzz invariant "leases changed only through valid requests": the daemon's lease and prefix
// sets before and after a case. A failed case must leave them exactly as they were; every lease
// that exists must be made of values the field rules accept (nothing malformed got stored).
import {
  containerIdProblem, ifnameProblem, netnsProblem, networkNameProblem, podNameProblem, podNamespaceProblem, podUidProblem, poolNameProblem,
} from '../../daemon/src/fieldRules.ts';
import { statSync } from 'node:fs';
import type { IpamTestClient } from '../support/ipamTestClient.ts';

interface Lease { pool: string; address: string; containerId: string; ifname: string; network: string; podNamespace: string; podName: string; podUid: string; netns: string; state: string }
interface Prefix { pool: string; prefix: string; owner: string; state: string }

export class LeaseLedger {
  private last = '';
  private lastFiles = '';
  /** dbPath: the daemon's database; a case that wrote nothing to it (or its WAL) changed nothing. */
  constructor(private readonly client: IpamTestClient, private readonly dbPath: string) {}

  /** Size and mtime of the database and its WAL: every commit changes at least one of them. */
  private files(): string {
    return [this.dbPath, `${this.dbPath}-wal`].map((path) => {
      try {
        const stat = statSync(path, { bigint: true });
        return `${stat.size}:${stat.mtimeNs}`;
      } catch {
        return 'none';
      }
    }).join(' ');
  }

  /** Reads the current sets; returns the problems of malformed stored leases (empty when all are well-formed). */
  async read(): Promise<{ snapshot: string; malformed: string[] }> {
    const { leases } = await this.client.call<{ leases: Lease[] }>('ListLeases', {}, 20_000);
    const { prefixes } = await this.client.call<{ prefixes: Prefix[] }>('ListPrefixes', {}, 20_000);
    const malformed: string[] = [];
    for (const lease of leases) {
      const problems = [poolNameProblem(lease.pool), containerIdProblem(lease.containerId), ifnameProblem(lease.ifname), networkNameProblem(lease.network),
        podNamespaceProblem(lease.podNamespace), podNameProblem(lease.podName), podUidProblem(lease.podUid), netnsProblem(lease.netns)].filter((p) => p !== undefined);
      if (problems.length > 0) malformed.push(`${lease.pool} ${lease.address}: ${problems.join('; ')}`);
    }
    const lines = [...leases.map((l) => `L ${l.pool} ${l.address} ${l.containerId} ${l.ifname} ${l.state}`), ...prefixes.map((p) => `P ${p.pool} ${p.prefix} ${p.owner} ${p.state}`)];
    return { snapshot: lines.sort().join('\n'), malformed };
  }

  async baseline(): Promise<void> {
    this.lastFiles = this.files();
    this.last = (await this.read()).snapshot;
  }

  /**
   * After a case: `accepted` is whether berthd answered OK. Returns the invariant's violation, or
   * undefined. A refused request that changed the sets, or any stored malformed lease, is one.
   */
  async after(accepted: boolean): Promise<string | undefined> {
    // Nothing was committed: the sets are as they were (reading them again would cost two calls).
    const files = this.files();
    if (files === this.lastFiles) return undefined;
    this.lastFiles = files;
    const { snapshot, malformed } = await this.read();
    const before = this.last;
    this.last = snapshot;
    if (malformed.length > 0) return `malformed lease stored: ${malformed.join(' | ')}`;
    if (!accepted && snapshot !== before) return `a refused request changed the leases:\nbefore:\n${before}\nafter:\n${snapshot}`;
    return undefined;
  }
}
