// The validated, typed pool configuration. Produced once by parsePoolConfig(); every other
// module works on these objects, never on raw YAML/JSON.
import type { Cidr, IpFamily } from '../ip/address.ts';

/** Inclusive address interval. */
export interface AddressInterval {
  readonly start: bigint;
  readonly end: bigint;
}

export interface RouteConfig {
  /** CIDR text, canonical ("0.0.0.0/0"). */
  readonly dst: string;
  /** Address text; absent: the interface gateway. */
  readonly gw?: string;
}

export interface DnsConfig {
  readonly nameservers: readonly string[];
  readonly domain?: string;
  readonly search: readonly string[];
  readonly options: readonly string[];
}

/** A range of an address pool; it may carry its own gateway and prefix length (Metal3 style). */
export interface RangeConfig extends AddressInterval {
  /** Prefix length reported for addresses of this range; absent: the pool subnet's. */
  readonly prefixLength?: number;
  /** Gateway reported for addresses of this range; absent: the pool's. */
  readonly gateway?: bigint;
}

export type AddressStrategy = 'roundRobin' | 'lowestFree' | 'random';
export type PrefixStrategy = 'efficient' | 'sequential';

/** Who a static pre-allocation is for; matched against the Allocate request. */
export type PreAllocationOwner =
  | { readonly kind: 'pod'; readonly namespace: string; readonly name: string }
  | { readonly kind: 'containerId'; readonly containerId: string }
  | { readonly kind: 'labels'; readonly labels: Readonly<Record<string, string>> };

export interface PreAllocation {
  readonly address: bigint;
  readonly owner: PreAllocationOwner;
}

/** Settings both pool kinds share. */
interface PoolCommon {
  readonly name: string;
  /**
   * Address space (a VRF, a network instance): addresses are unique within one, and may repeat
   * across them. Not the CNI network name, which scopes GC (LeaseRecord.network).
   */
  readonly addressSpace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly family: IpFamily;
  readonly subnet: Cidr;
  /** Seconds a released address or prefix cools down before anyone else may get it; 0: reusable at once. */
  readonly reclaimDelaySeconds: number;
}

export const DEFAULT_ADDRESS_SPACE = 'default';

/** An address pool: hands out single addresses to attachments (CNI ADD). */
export interface PoolConfig extends PoolCommon {
  readonly kind: 'address';
  readonly strategy: AddressStrategy;
  /** Configured ranges, sorted, non-overlapping, inside the subnet; the whole subnet when none were given. */
  readonly ranges: readonly RangeConfig[];
  /** Excluded addresses and CIDRs as intervals, sorted and merged (may reach outside the ranges). */
  readonly exclude: readonly AddressInterval[];
  readonly gateway?: bigint;
  readonly routes: readonly RouteConfig[];
  readonly dns: DnsConfig;
  /** Addresses kept for one owner each, never handed to anyone else. */
  readonly preAllocations: readonly PreAllocation[];
}

/** A prefix pool: hands out whole subnets of `prefixLength` to owners (AllocatePrefix). */
export interface PrefixPoolConfig extends PoolCommon {
  readonly kind: 'prefix';
  readonly strategy: PrefixStrategy;
  /** Length of the prefixes handed out when a request names none. */
  readonly prefixLength: number;
  /** Never handed out, sorted and merged. */
  readonly reservedSubnets: readonly AddressInterval[];
}

/** Gateway of the addresses of a cluster pool block: its first usable address, or none. */
export type BlockGatewayPolicy = 'firstOfBlock' | 'none';

/**
 * A cluster pool: one CIDR shared by every node, handed out in blocks of `blockSize` claimed in
 * the cluster store. A node serves it as an address pool whose ranges are the blocks it owns.
 */
export interface ClusterPoolConfig extends PoolCommon {
  readonly kind: 'cluster';
  readonly strategy: AddressStrategy;
  /** Prefix length of one block (default /26 IPv4, /122 IPv6). */
  readonly blockSize: number;
  /** Never handed out by any node, sorted and merged. */
  readonly exclude: readonly AddressInterval[];
  readonly gateway: BlockGatewayPolicy;
  readonly routes: readonly RouteConfig[];
  readonly dns: DnsConfig;
  /** Node labels a node must all carry to serve this pool; empty: every node. */
  readonly nodeSelector: Readonly<Record<string, string>>;
}

export interface BerthConfig {
  readonly pools: readonly PoolConfig[];
  readonly prefixPools: readonly PrefixPoolConfig[];
  readonly clusterPools: readonly ClusterPoolConfig[];
  /** Old keys still accepted, each naming its pool; the daemon logs each once. */
  readonly deprecations?: readonly string[];
}
