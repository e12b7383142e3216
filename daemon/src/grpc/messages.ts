// The API's messages as plain objects (proto-loader with camelCase, defaults filled in), and the
// conversions from domain objects. Field names follow proto/berth/ipam/v1/ipam.proto.
import type { LeaseRecord } from '../store/leaseRecord.ts';
import type { Allocation } from '../service/ipamService.ts';
import type { PoolState } from '../service/poolState.ts';
import { formatAddress, formatCidr, type IpFamily } from '../ip/address.ts';

export type IpFamilyName = 'IP_FAMILY_UNSPECIFIED' | 'IPV4' | 'IPV6';

export interface AllocateRequest {
  containerId: string; ifname: string; pools: string[]; requestedIps: string[];
  podNamespace: string; podName: string; podUid: string; netns: string; network: string;
}
export interface ReleaseRequest { containerId: string; ifname: string; pools: string[] }
export interface CheckRequest { containerId: string; ifname: string; pools: string[]; expectedAddresses: string[] }
export interface ListLeasesRequest { pool: string; containerId: string; network: string }
export interface GarbageCollectRequest { network: string; validAttachments: { containerId: string; ifname: string }[] }
export interface StatusRequest { pools: string[] }
export interface ImportLeasesRequest { leases: LeaseMessage[] }

export interface AllocationMessage {
  pool: string; address: string; gateway: string;
  routes: { dst: string; gw: string }[];
  dns: { nameservers: string[]; domain: string; search: string[]; options: string[] };
  family: IpFamilyName;
}
export interface LeaseMessage {
  pool: string; address: string; family: IpFamilyName; containerId: string; ifname: string; network: string;
  podNamespace: string; podName: string; podUid: string; netns: string; bootId: string; createdAtUnixMs: number;
}
export interface PoolUsageMessage {
  name: string; subnet: string; family: IpFamilyName; size: string; allocated: string; free: string; reserved: string;
  gateway: string; ranges: string[];
}

export function familyName(family: IpFamily): IpFamilyName {
  return family === 4 ? 'IPV4' : 'IPV6';
}

export function toAllocationMessage(allocation: Allocation): AllocationMessage {
  const config = allocation.pool.config;
  return {
    pool: config.name,
    address: formatCidr(allocation.address, config.subnet.prefixLength, allocation.family),
    gateway: config.gateway === undefined ? '' : formatAddress(config.gateway, config.family),
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
  };
}

export function toPoolUsageMessage(pool: PoolState): PoolUsageMessage {
  const config = pool.config;
  const usage = pool.usage();
  return {
    name: config.name,
    subnet: formatCidr(config.subnet.network, config.subnet.prefixLength, config.family),
    family: familyName(config.family),
    size: usage.size.toString(),
    allocated: usage.allocated.toString(),
    free: usage.free.toString(),
    reserved: usage.reserved.toString(),
    gateway: config.gateway === undefined ? '' : formatAddress(config.gateway, config.family),
    ranges: config.ranges.map((range) => `${formatAddress(range.start, config.family)}-${formatAddress(range.end, config.family)}`),
  };
}
