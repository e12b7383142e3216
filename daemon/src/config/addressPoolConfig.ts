// The address pool's own keys: ranges, excludes, gateway, routes, DNS and pre-allocations.
import {
  cidrBounds, familyBits, formatAddress, formatCidr, maskAddress, parseAddress, type Cidr, type IpFamily,
} from '../ip/address.ts';
import { compareIntervals, intervalsInclude, intervalsOverlap, mergeIntervals } from './addressIntervals.ts';
import {
  checkGateway, checkKeys, describeType, isMapping, parseAddressField, parseChoice, parseCidrField, parseInteger, parseLabels, parseWord,
  sharedSettings, show, type CommonFields, type Mapping, type Problems,
} from './configFields.ts';
import { allocatableIntervals } from './poolSize.ts';
import type { AddressInterval, AddressStrategy, DnsConfig, PoolConfig, PreAllocation, PreAllocationOwner, RangeConfig, RouteConfig } from './types.ts';

const RANGE_KEYS = ['start', 'end', 'gateway', 'prefixLength'];
const ROUTE_KEYS = ['dst', 'gw'];
const DNS_KEYS = ['nameservers', 'domain', 'search', 'options'];
const PRE_ALLOCATION_KEYS = ['address', 'pod', 'containerId', 'labels'];
export const ADDRESS_STRATEGIES: readonly AddressStrategy[] = ['roundRobin', 'lowestFree', 'random'];

export function parseAddressPool(entry: Mapping, path: string, common: CommonFields, problems: Problems): PoolConfig | undefined {
  const { subnet } = common;
  const family = subnet?.family;
  const bounds = subnet ? cidrBounds(subnet) : undefined;
  const subnetText = subnet ? formatCidr(subnet.network, subnet.prefixLength, subnet.family) : '';
  // Containment is only judged against a valid subnet; a broken subnet is reported once, above.
  const outside = (interval: AddressInterval) => bounds !== undefined && (interval.start < bounds.first || interval.end > bounds.last);

  const strategy = parseChoice(entry.strategy, `${path}.strategy`, ADDRESS_STRATEGIES, 'roundRobin', problems);
  const ranges = parseRanges(entry.ranges, `${path}.ranges`, subnet, problems);
  ranges?.forEach(({ interval, index }) => {
    const rangePath = `${path}.ranges[${index}]`;
    if (outside({ start: interval.start, end: interval.start })) problems.add(`${rangePath}.start`, `${formatAddress(interval.start, family!)} is not inside subnet ${subnetText}`);
    if (outside({ start: interval.end, end: interval.end })) problems.add(`${rangePath}.end`, `${formatAddress(interval.end, family!)} is not inside subnet ${subnetText}`);
  });

  const exclude = parseExclude(entry.exclude, `${path}.exclude`, subnet, problems);

  let gateway: bigint | undefined;
  if (entry.gateway !== undefined) {
    gateway = parseAddressField(entry.gateway, `${path}.gateway`, family, problems)?.value;
    if (gateway !== undefined && subnet !== undefined) checkGateway(gateway, subnet, `${path}.gateway`, problems);
  }

  const routes = parseRoutes(entry.routes, `${path}.routes`, family, problems);
  const dns = parseDns(entry.dns, `${path}.dns`, problems);
  const preAllocations = parsePreAllocations(entry.preAllocations, `${path}.preAllocations`, family, problems);

  if (common.name === undefined || subnet === undefined || bounds === undefined || strategy === undefined) return undefined;
  const config: PoolConfig = {
    kind: 'address',
    ...sharedSettings(common.name, common, subnet),
    strategy,
    ranges: ranges === undefined ? [{ start: bounds.first, end: bounds.last }] : ranges.map((range) => range.config).sort(compareIntervals),
    exclude: mergeIntervals((exclude ?? []).map((item) => item.interval)),
    ...(gateway === undefined ? {} : { gateway }),
    routes,
    dns,
    preAllocations: preAllocations.map((item) => item.preAllocation),
  };
  // Pre-allocated addresses must be ones the pool could hand out at all.
  const allocatable = allocatableIntervals({ ...config, preAllocations: [] });
  for (const { preAllocation, index } of preAllocations) {
    if (!intervalsInclude(allocatable, preAllocation.address)) {
      problems.add(`${path}.preAllocations[${index}].address`,
        `${formatAddress(preAllocation.address, config.family)} cannot be handed out by this pool (outside its ranges, excluded, a gateway, or the network/broadcast address)`);
    }
  }
  return config;
}

interface IndexedPreAllocation {
  readonly preAllocation: PreAllocation;
  readonly index: number;
}

function parsePreAllocations(value: unknown, path: string, family: IpFamily | undefined, problems: Problems): IndexedPreAllocation[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return problems.add(path, `must be a list of {address, pod | containerId | labels}, not ${describeType(value)}`) ?? [];
  const parsed: IndexedPreAllocation[] = [];
  value.forEach((item: unknown, index) => {
    const itemPath = `${path}[${index}]`;
    if (!isMapping(item)) return problems.add(itemPath, `must be a mapping {address, pod | containerId | labels}, not ${describeType(item)}`);
    checkKeys(item, itemPath, PRE_ALLOCATION_KEYS, problems);
    const address = item.address === undefined ? problems.add(`${itemPath}.address`, 'is required') : parseAddressField(item.address, `${itemPath}.address`, family, problems);
    const owner = parsePreAllocationOwner(item, itemPath, problems);
    if (address === undefined || owner === undefined) return undefined;
    const shown = formatAddress(address.value, address.family);
    const sameAddress = parsed.find((other) => other.preAllocation.address === address.value);
    if (sameAddress) return problems.add(`${itemPath}.address`, `${shown} is already pre-allocated by ${path}[${sameAddress.index}]`);
    const sameOwner = parsed.find((other) => ownerKey(other.preAllocation.owner) === ownerKey(owner));
    if (sameOwner) return problems.add(itemPath, `the same owner already has ${path}[${sameOwner.index}]; one pre-allocation per owner in a pool`);
    parsed.push({ preAllocation: { address: address.value, owner }, index });
    return undefined;
  });
  return parsed;
}

function parsePreAllocationOwner(item: Mapping, path: string, problems: Problems): PreAllocationOwner | undefined {
  const given = (['pod', 'containerId', 'labels'] as const).filter((key) => item[key] !== undefined);
  if (given.length !== 1) {
    return problems.add(path, given.length === 0
      ? 'names no owner: give exactly one of pod ("namespace/name"), containerId or labels'
      : `names ${given.join(' and ')}: give exactly one owner`);
  }
  const key = given[0]!;
  const value = item[key];
  if (key === 'labels') {
    const labels = parseLabels(value, `${path}.labels`, problems);
    if (labels === undefined) return undefined;
    if (Object.keys(labels).length === 0) return problems.add(`${path}.labels`, 'is empty: it would match every pod');
    return { kind: 'labels', labels };
  }
  if (typeof value !== 'string' || value.length === 0) return problems.add(`${path}.${key}`, `must be a non-empty string, not ${describeType(value)}`);
  if (key === 'containerId') return { kind: 'containerId', containerId: value };
  const match = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(value);
  if (!match) return problems.add(`${path}.pod`, `${show(value)} is not "namespace/name" of a pod`);
  return { kind: 'pod', namespace: match[1]!, name: match[3]! };
}

/** Identifies an owner for duplicate detection; labels compare as a sorted set. */
function ownerKey(owner: PreAllocationOwner): string {
  if (owner.kind === 'pod') return `pod:${owner.namespace}/${owner.name}`;
  if (owner.kind === 'containerId') return `container:${owner.containerId}`;
  return `labels:${JSON.stringify(Object.entries(owner.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))}`;
}

interface IndexedInterval {
  readonly interval: AddressInterval;
  readonly index: number;
}

interface IndexedRange extends IndexedInterval {
  readonly config: RangeConfig;
}

/** Parsed ranges that are each valid on their own; undefined when none were configured. */
function parseRanges(value: unknown, path: string, subnet: Cidr | undefined, problems: Problems): IndexedRange[] | undefined {
  if (value === undefined) return undefined;
  const family = subnet?.family;
  if (!Array.isArray(value)) return problems.add(path, `must be a list of {start, end}, not ${describeType(value)}`) ?? [];
  if (value.length === 0) return problems.add(path, 'is empty: leave it out to use the whole subnet') ?? [];
  const ranges: IndexedRange[] = [];
  value.forEach((range: unknown, index) => {
    const rangePath = `${path}[${index}]`;
    if (!isMapping(range)) return problems.add(rangePath, `must be a mapping {start, end}, not ${describeType(range)}`);
    checkKeys(range, rangePath, RANGE_KEYS, problems);
    const start = range.start === undefined ? problems.add(`${rangePath}.start`, 'is required') : parseAddressField(range.start, `${rangePath}.start`, family, problems);
    const end = range.end === undefined ? problems.add(`${rangePath}.end`, 'is required') : parseAddressField(range.end, `${rangePath}.end`, family, problems);
    const prefixLength = range.prefixLength === undefined
      ? undefined : parseInteger(range.prefixLength, `${rangePath}.prefixLength`, subnet?.prefixLength ?? 0, familyBits(family ?? 6), problems);
    const gateway = range.gateway === undefined ? undefined : parseAddressField(range.gateway, `${rangePath}.gateway`, family, problems);
    if (start === undefined || end === undefined) return undefined;
    if (start.family !== end.family) return problems.add(rangePath, `start ${show(range.start)} and end ${show(range.end)} are of different IP families`);
    const shown = (value: bigint) => formatAddress(value, start.family);
    if (start.value > end.value) return problems.add(rangePath, `start ${shown(start.value)} is after end ${shown(end.value)}`);
    const interval = { start: start.value, end: end.value };
    const overlapped = ranges.find((other) => intervalsOverlap(other.interval, interval));
    if (overlapped !== undefined) {
      return problems.add(rangePath, `overlaps ${path}[${overlapped.index}] (${shown(overlapped.interval.start)}-${shown(overlapped.interval.end)})`);
    }
    if (prefixLength !== undefined && maskAddress(start.value, prefixLength, start.family) !== maskAddress(end.value, prefixLength, start.family)) {
      return problems.add(`${rangePath}.prefixLength`, `start ${shown(start.value)} and end ${shown(end.value)} are not in one /${prefixLength}`);
    }
    // The range's own subnet: its prefix length, else the pool subnet.
    const rangeSubnet = prefixLength !== undefined
      ? { family: start.family, network: maskAddress(start.value, prefixLength, start.family), prefixLength }
      : subnet;
    if (gateway !== undefined && rangeSubnet !== undefined) checkGateway(gateway.value, rangeSubnet, `${rangePath}.gateway`, problems);
    if (range.prefixLength !== undefined && prefixLength === undefined) return undefined;
    if (range.gateway !== undefined && gateway === undefined) return undefined;
    const config: RangeConfig = {
      ...interval,
      ...(prefixLength === undefined ? {} : { prefixLength }),
      ...(gateway === undefined ? {} : { gateway: gateway.value }),
    };
    ranges.push({ interval, index, config });
    return undefined;
  });
  return ranges;
}

/** Excluded addresses and CIDRs, each touching the subnet (when the subnet is valid). */
export function parseExclude(value: unknown, path: string, subnet: Cidr | undefined, problems: Problems): IndexedInterval[] | undefined {
  if (value === undefined) return undefined;
  const family = subnet?.family;
  if (!Array.isArray(value)) return problems.add(path, `must be a list of addresses or CIDRs, not ${describeType(value)}`) ?? [];
  const excluded: (IndexedInterval & { readonly text: string })[] = [];
  value.forEach((item: unknown, index) => {
    const itemPath = `${path}[${index}]`;
    if (typeof item === 'string' && item.includes('/')) {
      const cidr = parseCidrField(item, itemPath, family, problems);
      if (cidr) {
        const { first, last } = cidrBounds(cidr);
        excluded.push({ interval: { start: first, end: last }, index, text: formatCidr(cidr.network, cidr.prefixLength, cidr.family) });
      }
      return;
    }
    const address = parseAddressField(item, itemPath, family, problems, 'an IP address or CIDR');
    if (address !== undefined) excluded.push({ interval: { start: address.value, end: address.value }, index, text: formatAddress(address.value, address.family) });
  });
  if (subnet !== undefined) {
    const { first, last } = cidrBounds(subnet);
    for (const { interval, index, text } of excluded) {
      if (!intervalsOverlap(interval, { start: first, end: last })) problems.add(`${path}[${index}]`, `${text} is not inside subnet ${formatCidr(subnet.network, subnet.prefixLength, subnet.family)}`);
    }
  }
  return excluded;
}

export function parseRoutes(value: unknown, path: string, family: IpFamily | undefined, problems: Problems): RouteConfig[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return problems.add(path, `must be a list of {dst, gw}, not ${describeType(value)}`) ?? [];
  const routes: RouteConfig[] = [];
  value.forEach((route: unknown, index) => {
    const routePath = `${path}[${index}]`;
    if (!isMapping(route)) return problems.add(routePath, `must be a mapping {dst, gw}, not ${describeType(route)}`);
    checkKeys(route, routePath, ROUTE_KEYS, problems);
    const dst = route.dst === undefined ? problems.add(`${routePath}.dst`, 'is required: a CIDR such as 0.0.0.0/0') : parseCidrField(route.dst, `${routePath}.dst`, family, problems);
    const gwFamily = family ?? dst?.family;
    const gw = route.gw === undefined ? undefined : parseAddressField(route.gw, `${routePath}.gw`, gwFamily, problems);
    if (dst === undefined || (route.gw !== undefined && gw === undefined)) return undefined;
    const dstText = formatCidr(dst.network, dst.prefixLength, dst.family);
    routes.push(gw === undefined ? { dst: dstText } : { dst: dstText, gw: formatAddress(gw.value, gw.family) });
    return undefined;
  });
  return routes;
}

export function parseDns(value: unknown, path: string, problems: Problems): DnsConfig {
  const empty: DnsConfig = { nameservers: [], search: [], options: [] };
  if (value === undefined) return empty;
  if (!isMapping(value)) return problems.add(path, `must be a mapping {nameservers, domain, search, options}, not ${describeType(value)}`) ?? empty;
  checkKeys(value, path, DNS_KEYS, problems);
  const nameservers: string[] = [];
  if (value.nameservers !== undefined) {
    if (!Array.isArray(value.nameservers)) {
      problems.add(`${path}.nameservers`, `must be a list of IP addresses, not ${describeType(value.nameservers)}`);
    } else {
      value.nameservers.forEach((server: unknown, index) => {
        const itemPath = `${path}.nameservers[${index}]`;
        if (typeof server !== 'string') return problems.add(itemPath, `must be an IP address string, not ${describeType(server)}`);
        try {
          const address = parseAddress(server);
          nameservers.push(formatAddress(address.value, address.family));
        } catch {
          problems.add(itemPath, `${show(server)} is not an IP address`);
        }
        return undefined;
      });
    }
  }
  let domain: string | undefined;
  if (value.domain !== undefined) domain = parseWord(value.domain, `${path}.domain`, problems);
  const words = (key: 'search' | 'options'): string[] => {
    const list = value[key];
    if (list === undefined) return [];
    if (!Array.isArray(list)) return problems.add(`${path}.${key}`, `must be a list of strings, not ${describeType(list)}`) ?? [];
    return list.flatMap((item: unknown, index) => parseWord(item, `${path}.${key}[${index}]`, problems) ?? []);
  };
  const search = words('search');
  const options = words('options');
  return { nameservers, ...(domain === undefined ? {} : { domain }), search, options };
}
