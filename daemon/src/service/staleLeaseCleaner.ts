// Frees leases whose container is gone but whose DEL never came (host-local's most reported
// leak). A lease records its netns path and the boot it was made in:
//  - at start, a lease from an earlier boot whose netns no longer exists is released at once;
//  - while running, a lease whose netns has been missing for longer than a grace period is released.
// A netns whose directory cannot be seen at all (e.g. /run/netns not mounted into the daemon's
// container) is "unknown", never "gone": the cleaner does nothing rather than free live leases.
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { LeaseRecord } from '../store/leaseRecord.ts';
import type { LeaseStore } from '../store/leaseStore.ts';
import type { IpamService } from './ipamService.ts';

export type NetnsState = 'present' | 'gone' | 'unknown';

export function probeNetns(path: string): NetnsState {
  if (path.length === 0 || !path.startsWith('/')) return 'unknown';
  if (existsSync(path)) return 'present';
  return existsSync(dirname(path)) ? 'gone' : 'unknown';
}

export interface StaleLeaseCleanerOptions {
  readonly service: IpamService;
  readonly store: LeaseStore;
  readonly bootId: string;
  readonly log: Logger;
  readonly graceMs: number;
  readonly probe?: (path: string) => NetnsState;
  readonly now?: () => number;
  readonly onReleased?: (reason: 'reboot' | 'netns-gone', count: number) => void;
}

export class StaleLeaseCleaner {
  /** netns path -> when it was first seen missing */
  private readonly missingSince = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private readonly probe: (path: string) => NetnsState;
  private readonly now: () => number;

  constructor(private readonly options: StaleLeaseCleanerOptions) {
    this.probe = options.probe ?? probeNetns;
    this.now = options.now ?? Date.now;
  }

  /** Releases leases made before this boot whose netns is gone. */
  async releaseLeasesFromEarlierBoots(): Promise<LeaseRecord[]> {
    const { bootId } = this.options;
    if (!bootId) return [];
    const stale = this.options.store.leasesFromOtherBoots(bootId).filter((lease) => this.probe(lease.netns) === 'gone');
    const released = await this.options.service.releaseExact(stale, this.options.log, 'lease.stale_released', 'reboot');
    if (released.length > 0) this.options.onReleased?.('reboot', released.length);
    return released;
  }

  /** One pass: notes netns paths that are missing; releases leases of those missing longer than the grace period. */
  async sweep(): Promise<LeaseRecord[]> {
    const now = this.now();
    const due: LeaseRecord[] = [];
    const missing = new Set<string>();
    for (const path of this.options.store.netnsPaths()) {
      if (this.probe(path) !== 'gone') continue;
      missing.add(path);
      const since = this.missingSince.get(path) ?? now;
      this.missingSince.set(path, since);
      if (now - since >= this.options.graceMs) due.push(...this.options.store.leasesInNetns(path));
    }
    for (const path of this.missingSince.keys()) if (!missing.has(path)) this.missingSince.delete(path);
    const released = await this.options.service.releaseExact(due, this.options.log, 'lease.stale_released', 'netns-gone');
    if (released.length > 0) this.options.onReleased?.('netns-gone', released.length);
    return released;
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.sweep()
        .catch((error: unknown) => this.options.log.error({ event: 'cleaner.failed', err: error }, 'stale-lease sweep failed'))
        .finally(() => { this.running = undefined; });
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
