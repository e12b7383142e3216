// The API's messages as plain objects (proto-loader with camelCase, defaults filled in), and the
// conversions from domain objects. Field names follow proto/berth/ipam/v1/ipam.proto.
import type { LeaseRecord, LeaseState } from '../store/leaseRecord.ts';
import type { Allocation } from '../service/ipamService.ts';
import type { ImportedLease, ImportedPrefix } from '../service/stateImport.ts';
import type { PoolState } from '../service/poolState.ts';
import type { PoolUsage } from '../service/servedPoolBase.ts';
import { describeInterval, type PrefixPoolState } from '../service/prefixPoolState.ts';
import type { PrefixLeaseRecord } from '../store/prefixLeaseRecord.ts';
import type { PoolConfig, PrefixPoolConfig } from '../config/types.ts';
import { formatAddress, formatCidr, type IpFamily } from '../ip/address.ts';

export type IpFamilyName = 'IP_FAMILY_UNSPECIFIED' | 'IPV4' | 'IPV6';
export type LeaseStateName = 'LEASE_STATE_UNSPECIFIED' | 'ACTIVE' | 'COOLING';
export type PoolKindName = 'POOL_KIND_UNSPECIFIED' | 'ADDRESS' | 'PREFIX';
/** An unset message field arrives as null from proto-loader. */
export interface PoolSelectorMessage { matchLabels: Record<string, string> }

export interface AllocateRequest {
  containerId: string; ifname: string; pools: string[]; requestedIps: string[];
  podNamespace: string; podName: string; podUid: string; netns: string; network: string;
  podLabels: Record<string, string>; poolSelector: PoolSelectorMessage | null;
}
export interface ReleaseRequest { containerId: string; ifname: string; pools: string[] }
export interface CheckRequest { containerId: string; ifname: string; pools: string[]; expectedAddresses: string[]; poolSelector: PoolSelectorMessage | null }
export interface ListLeasesRequest { pool: string; containerId: string; network: string; addressSpace: string; state: LeaseStateName; pageSize: number; pageToken: string }
export interface GarbageCollectRequest { network: string; validAttachments: { containerId: string; ifname: string }[] }
export interface StatusRequest { pools: string[]; poolSelector: PoolSelectorMessage | null }
export interface ImportLeasesRequest { leases: LeaseMessage[]; prefixes: PrefixLeaseMessage[] }
export interface AllocatePrefixRequest { pool: string; owner: string; prefixLength: number; requestedPrefix: string }
export interface ReleasePrefixRequest { pool: string; owner: string }
export interface ListPrefixesRequest { pool: string; owner: string }

export function selectorOf(message: PoolSelectorMessage | null | undefined): Record<string, string> {
  return message?.matchLabels ?? {};
}

export function leaseStateOf(name: LeaseStateName): LeaseState | undefined {
  return name === 'ACTIVE' ? 'active' : name === 'COOLING' ? 'cooling' : undefined;
}

export interface AllocationMessage {
  pool: string; address: string; gateway: string;
  routes: { dst: string; gw: string }[];
  dns: { nameservers: string[]; domain: string; search: string[]; options: string[] };
  family: IpFamilyName;
}
export interface LeaseMessage {
  pool: string; address: string; family: IpFamilyName; containerId: string; ifname: string; network: string;
  podNamespace: string; podName: string; podUid: string; netns: string; bootId: string; createdAtUnixMs: number;
  addressSpace: string; state: LeaseStateName; reusableAtUnixMs: number;
}
export interface PoolUsageMessage {
  name: string; subnet: string; family: IpFamilyName; size: string; allocated: string; free: string; reserved: string;
  gateway: string; ranges: string[]; addressSpace: string; labels: Record<string, string>; kind: PoolKindName;
  strategy: string; reclaimDelaySeconds: number; preAllocated: string; cooling: string; prefixLength: number; reservedSubnets: string[];
}

export function familyName(family: IpFamily): IpFamilyName {
  return family === 4 ? 'IPV4' : 'IPV6';
}

export function toAllocationMessage(allocation: Allocation): AllocationMessage {
  const config = allocation.pool.config;
  const settings = allocation.pool.settingsFor(allocation.address);
  return {
    pool: config.name,
    address: formatCidr(allocation.address, settings.prefixLength, allocation.family),
    gateway: settings.gateway === undefined ? '' : formatAddress(settings.gateway, config.family),
    routes: config.routes.map((route) => ({ dst: route.dst, gw: route.gw ?? '' })),
    dns: { nameservers: [...config.dns.nameservers], domain: config.dns.domain ?? '', search: [...config.dns.search], options: [...config.dns.options] },
    family: familyName(allocation.family),
  };
}

export function toLeaseMessage(lease: LeaseRecord): LeaseMessage {
  return {
    pool: lease.pool, address: formatAddress(lease.address, lease.family), family: familyName(lease.family),
    containerId: lease.containerId, ifname: lease.ifname, network: lease.network,
    podNamespace: lease.podNamespace, podName: lease.podName, podUid: lease.podUid,
    netns: lease.netns, bootId: lease.bootId, createdAtUnixMs: lease.createdAtMs,
    addressSpace: lease.addressSpace, state: lease.state === 'cooling' ? 'COOLING' : 'ACTIVE', reusableAtUnixMs: lease.reusableAtMs,
  };
}

/** What both pool kinds report alike. */
function commonPoolUsage(config: PoolConfig | PrefixPoolConfig, usage: PoolUsage) {
  return {
    name: config.name,
    subnet: formatCidr(config.subnet.network, config.subnet.prefixLength, config.family),
    family: familyName(config.family),
    size: usage.size.toString(),
    allocated: usage.allocated.toString(),
    free: usage.free.toString(),
    reserved: usage.reserved.toString(),
    cooling: usage.cooling.toString(),
    addressSpace: config.addressSpace,
    labels: { ...config.labels },
    strategy: config.strategy,
    reclaimDelaySeconds: config.reclaimDelaySeconds,
  };
}

export function toPoolUsageMessage(pool: PoolState): PoolUsageMessage {
  const config = pool.config;
  const usage = pool.usage();
  return {
    ...commonPoolUsage(config, usage),
    kind: 'ADDRESS',
    gateway: config.gateway === undefined ? '' : formatAddress(config.gateway, config.family),
    ranges: config.ranges.map((range) => {
      const text = `${formatAddress(range.start, config.family)}-${formatAddress(range.end, config.family)}`;
      const prefix = range.prefixLength === undefined ? '' : `/${range.prefixLength}`;
      return range.gateway === undefined ? `${text}${prefix}` : `${text}${prefix} via ${formatAddress(range.gateway, config.family)}`;
    }),
    preAllocated: usage.preAllocated.toString(),
    prefixLength: 0,
    reservedSubnets: [],
  };
}

export interface PrefixLeaseMessage {
  pool: string; prefix: string; family: IpFamilyName; owner: string; addressSpace: string; state: LeaseStateName;
  createdAtUnixMs: number; reusableAtUnixMs: number;
}

export function toPrefixLeaseMessage(lease: PrefixLeaseRecord): PrefixLeaseMessage {
  return {
    pool: lease.pool, prefix: formatCidr(lease.first, lease.prefixLength, lease.family), family: familyName(lease.family), owner: lease.owner,
    addressSpace: lease.addressSpace, state: lease.state === 'cooling' ? 'COOLING' : 'ACTIVE',
    createdAtUnixMs: lease.createdAtMs, reusableAtUnixMs: lease.reusableAtMs,
  };
}

/** A prefix pool's usage, counted in prefixes of its prefixLength. */
export function toPrefixPoolUsageMessage(pool: PrefixPoolState): PoolUsageMessage {
  const config = pool.config;
  return {
    ...commonPoolUsage(config, pool.usage()),
    kind: 'PREFIX',
    gateway: '',
    ranges: [],
    preAllocated: '0',
    prefixLength: config.prefixLength,
    reservedSubnets: config.reservedSubnets.map((interval) => describeInterval(interval, config.family)),
  };
}

/** An ImportLeasesRequest as the import takes it (numbers as numbers, cooling state kept). */
export function importedBackupOf(request: ImportLeasesRequest): { leases: ImportedLease[]; prefixes: ImportedPrefix[] } {
  return {
    leases: request.leases,
    prefixes: request.prefixes.map((entry) => ({ ...entry, createdAtUnixMs: Number(entry.createdAtUnixMs), reusableAtUnixMs: Number(entry.reusableAtUnixMs) })),
  };
}
