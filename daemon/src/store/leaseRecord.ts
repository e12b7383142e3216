import type { IpFamily } from '../ip/address.ts';

/** active: held by its attachment; cooling: released, kept from everyone but its owner until reusableAtMs. */
export type LeaseState = 'active' | 'cooling';

/** One lease as stored: an address of a pool held by one attachment (container id + ifname). */
export interface LeaseRecord {
  readonly pool: string;
  /** The pool's address space: addresses are unique within it. */
  readonly addressSpace: string;
  readonly family: IpFamily;
  readonly address: bigint;
  readonly containerId: string;
  readonly ifname: string;
  /** CNI network name the attachment belongs to (the scope of GC); not the address space. */
  readonly network: string;
  readonly podNamespace: string;
  readonly podName: string;
  readonly podUid: string;
  readonly netns: string;
  readonly bootId: string;
  readonly createdAtMs: number;
  readonly state: LeaseState;
  /** Cooling leases: when the address may go to someone else; 0 for active leases. */
  readonly reusableAtMs: number;
}

/** What an allocation writes; a new lease is always active. */
export type NewLease = Omit<LeaseRecord, 'state' | 'reusableAtMs'>;

export interface LeaseFilter {
  readonly pool?: string;
  readonly containerId?: string;
  readonly network?: string;
  readonly addressSpace?: string;
  readonly state?: LeaseState;
}
