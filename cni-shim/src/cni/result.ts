// Daemon allocations -> the CNI result of the config's version. An IPAM plugin reports
// addresses, routes and DNS only: never `interfaces`, never an `interface` index.
import { IpFamily } from '../gen/berth/ipam/v1/ipam_pb.ts';
import type { AllocationMessage, DnsMessage, RouteMessage } from '../ipamMessages.ts';
import { isAtLeast, type CniVersion } from './versions.ts';

interface CniRoute { dst: string; gw?: string }
interface CniDns { nameservers?: string[]; domain?: string; search?: string[]; options?: string[] }
interface CniIp { version?: '4' | '6'; address: string; gateway?: string }
interface LegacyIp { ip: string; gateway?: string; routes?: CniRoute[] }

export type CniResult =
  | { cniVersion: CniVersion; ips: CniIp[]; routes?: CniRoute[]; dns?: CniDns }
  | { cniVersion: CniVersion; ip4?: LegacyIp; ip6?: LegacyIp; dns?: CniDns };

export function familyOf(allocation: AllocationMessage): '4' | '6' {
  if (allocation.family === IpFamily.IPV4) return '4';
  if (allocation.family === IpFamily.IPV6) return '6';
  return allocation.address.includes(':') ? '6' : '4';
}

export function toCniResult(cniVersion: CniVersion, allocations: readonly AllocationMessage[]): CniResult {
  const routes = mergeRoutes(allocations.flatMap((allocation) => allocation.routes));
  const dns = mergeDns(allocations.map((allocation) => allocation.dns));
  if (!isAtLeast(cniVersion, '0.3.0')) return toLegacyResult(cniVersion, allocations, routes, dns);
  const withVersion = !isAtLeast(cniVersion, '1.0.0');
  const ips = allocations.map((allocation): CniIp => ({
    ...(withVersion ? { version: familyOf(allocation) } : {}),
    address: allocation.address,
    ...(allocation.gateway !== '' ? { gateway: allocation.gateway } : {}),
  }));
  return { cniVersion, ips, ...(routes.length > 0 ? { routes } : {}), ...(dns ? { dns } : {}) };
}

// 0.1.0/0.2.0 have one ip4 and one ip6; like libcni's conversion, the first address of each
// family is reported and routes go with the family of their destination.
function toLegacyResult(cniVersion: CniVersion, allocations: readonly AllocationMessage[], routes: CniRoute[], dns: CniDns | undefined): CniResult {
  const result: { cniVersion: CniVersion; ip4?: LegacyIp; ip6?: LegacyIp; dns?: CniDns } = { cniVersion };
  for (const family of ['4', '6'] as const) {
    const allocation = allocations.find((candidate) => familyOf(candidate) === family);
    if (allocation === undefined) continue;
    const familyRoutes = routes.filter((route) => route.dst.includes(':') === (family === '6'));
    result[family === '4' ? 'ip4' : 'ip6'] = {
      ip: allocation.address,
      ...(allocation.gateway !== '' ? { gateway: allocation.gateway } : {}),
      ...(familyRoutes.length > 0 ? { routes: familyRoutes } : {}),
    };
  }
  if (dns) result.dns = dns;
  return result;
}

function mergeRoutes(routes: readonly RouteMessage[]): CniRoute[] {
  const seen = new Map<string, CniRoute>();
  for (const route of routes) {
    const key = `${route.dst} ${route.gw}`;
    if (!seen.has(key)) seen.set(key, { dst: route.dst, ...(route.gw !== '' ? { gw: route.gw } : {}) });
  }
  return [...seen.values()];
}

function mergeDns(all: readonly (DnsMessage | null | undefined)[]): CniDns | undefined {
  const nameservers = new Set<string>();
  const search = new Set<string>();
  const options = new Set<string>();
  let domain = '';
  for (const dns of all) {
    if (!dns) continue;
    dns.nameservers.forEach((value) => nameservers.add(value));
    dns.search.forEach((value) => search.add(value));
    dns.options.forEach((value) => options.add(value));
    if (domain === '') domain = dns.domain;
  }
  const merged: CniDns = {
    ...(nameservers.size > 0 ? { nameservers: [...nameservers] } : {}),
    ...(domain !== '' ? { domain } : {}),
    ...(search.size > 0 ? { search: [...search] } : {}),
    ...(options.size > 0 ? { options: [...options] } : {}),
  };
  return Object.keys(merged).length > 0 ? merged : undefined;
}
