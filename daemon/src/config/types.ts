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

export interface PoolConfig {
  readonly name: string;
  readonly family: IpFamily;
  readonly subnet: Cidr;
  /** Configured ranges, sorted, non-overlapping, inside the subnet; the whole subnet when none were given. */
  readonly ranges: readonly AddressInterval[];
  /** Excluded addresses and CIDRs as intervals, sorted and merged (may reach outside the ranges). */
  readonly exclude: readonly AddressInterval[];
  readonly gateway?: bigint;
  readonly routes: readonly RouteConfig[];
  readonly dns: DnsConfig;
}

export interface BerthConfig {
  readonly pools: readonly PoolConfig[];
}
