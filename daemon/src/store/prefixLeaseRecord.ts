import type { IpFamily } from '../ip/address.ts';
import type { LeaseState } from './leaseRecord.ts';

/** One prefix lease as stored: a whole subnet of a prefix pool held by an owner. */
export interface PrefixLeaseRecord {
  readonly id: number;
  readonly pool: string;
  /** The pool's address space: prefixes never overlap within it. */
  readonly addressSpace: string;
  readonly family: IpFamily;
  /** First address of the prefix. */
  readonly first: bigint;
  readonly prefixLength: number;
  readonly owner: string;
  readonly createdAtMs: number;
  readonly state: LeaseState;
  /** Cooling: when the prefix may go to someone else; 0 for active leases. */
  readonly reusableAtMs: number;
}

export type NewPrefixLease = Omit<PrefixLeaseRecord, 'id' | 'state' | 'reusableAtMs'>;

export interface PrefixLeaseFilter {
  readonly pool?: string;
  readonly owner?: string;
}
