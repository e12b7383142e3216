import type { IpFamily } from '../ip/address.ts';

/** One lease as stored: an address of a pool held by one attachment (container id + ifname). */
export interface LeaseRecord {
  readonly pool: string;
  readonly family: IpFamily;
  readonly address: bigint;
  readonly containerId: string;
  readonly ifname: string;
  /** CNI network name the attachment belongs to. */
  readonly network: string;
  readonly podNamespace: string;
  readonly podName: string;
  readonly podUid: string;
  readonly netns: string;
  readonly bootId: string;
  readonly createdAtMs: number;
}

export interface LeaseFilter {
  readonly pool?: string;
  readonly containerId?: string;
  readonly network?: string;
}
