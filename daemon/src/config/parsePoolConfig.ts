// Parses and validates the pool configuration (YAML, or JSON as a subset of it) into typed
// objects. Every problem is collected with its field path and all are reported in one ConfigError.
import { parseDocument } from 'yaml';
import { isAllocatable } from '../allocator/pickAddress.ts';
import {
  cidrBounds, familyBits, formatAddress, formatCidr, IpParseError, maskAddress, parseAddress, parseCidr, type Cidr, type IpAddress, type IpFamily,
} from '../ip/address.ts';
import { compareIntervals, intervalsOverlap, mergeIntervals } from './addressIntervals.ts';
import { ConfigError, type ConfigProblem } from './configError.ts';
import { allocatableIntervals } from './poolSize.ts';
import { checkClusterPools, parseClusterPools } from './parseClusterPools.ts';
import {
  DEFAULT_NETWORK, type AddressInterval, type AddressStrategy, type BerthConfig, type DnsConfig, type PoolConfig, type PreAllocation,
  type PreAllocationOwner, type PrefixPoolConfig, type PrefixStrategy, type RangeConfig, type RouteConfig,
} from './types.ts';

const POOL_NAME = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/;
const LABEL_KEY = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(?=.{1,63}$)[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;
export const MAX_RECLAIM_DELAY_SECONDS = 7 * 24 * 3600;
const ROOT_KEYS = ['pools', 'clusterPools'];
const COMMON_POOL_KEYS = ['name', 'kind', 'network', 'labels', 'subnet', 'strategy', 'reclaimDelaySeconds'];
const ADDRESS_POOL_KEYS = [...COMMON_POOL_KEYS, 'ranges', 'exclude', 'gateway', 'routes', 'dns', 'preAllocations'];
const PREFIX_POOL_KEYS = [...COMMON_POOL_KEYS, 'prefixLength', 'reservedSubnets'];
const RANGE_KEYS = ['start', 'end', 'gateway', 'prefixLength'];
const ROUTE_KEYS = ['dst', 'gw'];
const DNS_KEYS = ['nameservers', 'domain', 'search', 'options'];
const PRE_ALLOCATION_KEYS = ['address', 'pod', 'containerId', 'labels'];
export const ADDRESS_STRATEGIES: readonly AddressStrategy[] = ['roundRobin', 'lowestFree', 'random'];
const PREFIX_STRATEGIES: readonly PrefixStrategy[] = ['efficient', 'sequential'];

export type Mapping = { readonly [key: string]: unknown };

export class Problems {
  readonly list: ConfigProblem[] = [];
  /** Records a problem; returns undefined so that parsers can `return problems.add(...)`. */
  add(path: string, message: string): undefined {
    this.list.push({ path, message });
    return undefined;
  }
}

export function parsePoolConfig(text: string, sourceName: string): BerthConfig {
  const document = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (document.errors.length > 0) {
    throw new ConfigError(sourceName, document.errors.map((error) => ({ path: '', message: yamlErrorMessage(error.code, error.message, text) })));
  }
  const problems = new Problems();
  const root: unknown = document.toJS({ maxAliasCount: 100 });
  const pools: PoolConfig[] = [];
  const prefixPools: PrefixPoolConfig[] = [];
  let clusterPools: ReturnType<typeof parseClusterPools> = [];
  if (!isMapping(root)) {
    problems.add('', `must be a mapping with a "pools" list, not ${describeType(root)}`);
  } else {
    checkKeys(root, '', ROOT_KEYS, problems);
    const list = root.pools;
    // A file of cluster pools alone is whole: every node gets the same one.
    const poolsOptional = root.clusterPools !== undefined && list === undefined;
    let parsed: ParsedPool[] = [];
    if (poolsOptional) {
      // nothing to parse
    } else if (!Array.isArray(list)) {
      problems.add('pools', list === undefined ? 'is required: a list of pools (or clusterPools)' : `must be a list of pools, not ${describeType(list)}`);
    } else if (list.length === 0) {
      problems.add('pools', 'is empty: configure at least one pool');
    } else {
      parsed = list.map((entry: unknown, i) => parsePool(entry, `pools[${i}]`, problems));
      checkAcrossPools(parsed, problems);
      for (const pool of parsed) {
        if (pool.config?.kind === 'address') pools.push(pool.config);
        else if (pool.config?.kind === 'prefix') prefixPools.push(pool.config);
      }
    }
    if (root.clusterPools !== undefined) {
      clusterPools = parseClusterPools(root.clusterPools, 'clusterPools', problems);
      checkClusterPools(clusterPools, parsed, problems);
    }
  }
  if (problems.list.length > 0) throw new ConfigError(sourceName, problems.list);
  return { pools, prefixPools, clusterPools: clusterPools.flatMap((entry) => entry.config ?? []) };
}

export interface ParsedPool {
  readonly name?: string;
  readonly network: string;
  readonly subnet?: Cidr;
  /** Present only when the pool had no problems of its own. */
  readonly config?: PoolConfig | PrefixPoolConfig;
}

function parsePool(entry: unknown, path: string, problems: Problems): ParsedPool {
  if (!isMapping(entry)) {
    problems.add(path, `must be a mapping with name and subnet, not ${describeType(entry)}`);
    return { network: DEFAULT_NETWORK };
  }
  const kind = entry.kind === undefined ? 'address' : entry.kind;
  if (kind !== 'address' && kind !== 'prefix') {
    problems.add(`${path}.kind`, `${show(kind)} is not a pool kind: use "address" (single addresses for CNI ADD) or "prefix" (whole subnets for AllocatePrefix)`);
    return { network: DEFAULT_NETWORK };
  }
  const before = problems.list.length;
  checkKeys(entry, path, kind === 'address' ? ADDRESS_POOL_KEYS : PREFIX_POOL_KEYS, problems,
    kind === 'prefix' ? 'a prefix pool' : undefined);
  const common = parseCommon(entry, path, problems);
  const { name, subnet, network } = common;
  const config = kind === 'address' ? parseAddressPool(entry, path, common, problems) : parsePrefixPool(entry, path, common, problems);
  const ok = problems.list.length === before && config !== undefined;
  return { ...(name === undefined ? {} : { name }), network, ...(subnet === undefined ? {} : { subnet }), ...(ok ? { config } : {}) };
}

interface CommonFields {
  readonly name?: string;
  readonly network: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly subnet?: Cidr;
  readonly reclaimDelaySeconds: number;
}

function parseCommon(entry: Mapping, path: string, problems: Problems): CommonFields {
  const name = parseName(entry.name, `${path}.name`, problems);
  const network = entry.network === undefined ? DEFAULT_NETWORK : parseNetworkName(entry.network, `${path}.network`, problems) ?? DEFAULT_NETWORK;
  const labels = entry.labels === undefined ? {} : parseLabels(entry.labels, `${path}.labels`, problems) ?? {};
  const subnet = parseSubnet(entry.subnet, `${path}.subnet`, problems);
  const reclaimDelaySeconds = entry.reclaimDelaySeconds === undefined
    ? 0 : parseInteger(entry.reclaimDelaySeconds, `${path}.reclaimDelaySeconds`, 0, MAX_RECLAIM_DELAY_SECONDS, problems) ?? 0;
  return { ...(name === undefined ? {} : { name }), network, labels, ...(subnet === undefined ? {} : { subnet }), reclaimDelaySeconds };
}

function parseAddressPool(entry: Mapping, path: string, common: CommonFields, problems: Problems): PoolConfig | undefined {
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

  const exclude = parseExclude(entry.exclude, `${path}.exclude`, family, problems);
  exclude?.forEach(({ interval, index, text }) => {
    if (bounds !== undefined && !intervalsOverlap(interval, { start: bounds.first, end: bounds.last })) {
      problems.add(`${path}.exclude[${index}]`, `${text} is not inside subnet ${subnetText}`);
    }
  });

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
    if (!isAllocatable(allocatable, preAllocation.address)) {
      problems.add(`${path}.preAllocations[${index}].address`,
        `${formatAddress(preAllocation.address, config.family)} cannot be handed out by this pool (outside its ranges, excluded, a gateway, or the network/broadcast address)`);
    }
  }
  return config;
}

function parsePrefixPool(entry: Mapping, path: string, common: CommonFields, problems: Problems): PrefixPoolConfig | undefined {
  const { subnet } = common;
  const strategy = parseChoice(entry.strategy, `${path}.strategy`, PREFIX_STRATEGIES, 'efficient', problems);
  const bits = subnet ? familyBits(subnet.family) : 128;
  const prefixLength = entry.prefixLength === undefined
    ? problems.add(`${path}.prefixLength`, 'is required for a prefix pool: the length of the prefixes it hands out, e.g. 24 or 64')
    : parseInteger(entry.prefixLength, `${path}.prefixLength`, subnet?.prefixLength ?? 0, bits, problems);
  const reserved: AddressInterval[] = [];
  if (entry.reservedSubnets !== undefined) {
    if (!Array.isArray(entry.reservedSubnets)) {
      problems.add(`${path}.reservedSubnets`, `must be a list of CIDRs, not ${describeType(entry.reservedSubnets)}`);
    } else {
      entry.reservedSubnets.forEach((item: unknown, index) => {
        const itemPath = `${path}.reservedSubnets[${index}]`;
        const cidr = parseCidrField(item, itemPath, subnet?.family, problems);
        if (cidr === undefined) return;
        const { first, last } = cidrBounds(cidr);
        if (subnet !== undefined) {
          const outer = cidrBounds(subnet);
          if (first < outer.first || last > outer.last) {
            problems.add(itemPath, `${formatCidr(cidr.network, cidr.prefixLength, cidr.family)} is not inside subnet ${formatCidr(subnet.network, subnet.prefixLength, subnet.family)}`);
            return;
          }
        }
        reserved.push({ start: first, end: last });
      });
    }
  }
  if (common.name === undefined || subnet === undefined || strategy === undefined || prefixLength === undefined) return undefined;
  return {
    kind: 'prefix',
    ...sharedSettings(common.name, common, subnet),
    strategy,
    prefixLength,
    reservedSubnets: mergeIntervals(reserved),
  };
}

/** The settings both pool kinds carry, once their own checks passed. */
function sharedSettings(name: string, common: CommonFields, subnet: Cidr) {
  return { name, network: common.network, labels: common.labels, family: subnet.family, subnet, reclaimDelaySeconds: common.reclaimDelaySeconds };
}

/** A gateway must be inside its subnet, and not its network or broadcast address. */
function checkGateway(gateway: bigint, subnet: Pick<Cidr, 'family' | 'network' | 'prefixLength'>, path: string, problems: Problems): void {
  const bounds = cidrBounds(subnet);
  const shown = formatAddress(gateway, subnet.family);
  const subnetText = formatCidr(subnet.network, subnet.prefixLength, subnet.family);
  if (gateway < bounds.first || gateway > bounds.last) {
    problems.add(path, `${shown} is not inside subnet ${subnetText}`);
  } else if (subnet.family === 4 && subnet.prefixLength < 31 && (gateway === bounds.first || gateway === bounds.last)) {
    problems.add(path, `${shown} is the ${gateway === bounds.first ? 'network' : 'broadcast'} address of ${subnetText}`);
  }
}

export function parseNetworkName(value: unknown, path: string, problems: Problems): string | undefined {
  if (typeof value !== 'string') return problems.add(path, `must be a string, not ${describeType(value)}`);
  if (!POOL_NAME.test(value)) {
    return problems.add(path, `${show(value)} is not a valid network name: 1 to 63 lowercase letters, digits, ".", "_" or "-", starting and ending with a letter or digit`);
  }
  return value;
}

/** Kubernetes-style labels: string keys and string values. */
export function parseLabels(value: unknown, path: string, problems: Problems): Record<string, string> | undefined {
  if (!isMapping(value)) return problems.add(path, `must be a mapping of label names to values, not ${describeType(value)}`);
  const labels: Record<string, string> = {};
  for (const [key, labelValue] of Object.entries(value)) {
    const itemPath = `${path}.${key}`;
    if (!LABEL_KEY.test(key)) {
      problems.add(itemPath, `${show(key)} is not a valid label name: up to 253 letters, digits, ".", "_", "-" or "/", starting and ending with a letter or digit`);
      continue;
    }
    if (typeof labelValue !== 'string') {
      problems.add(itemPath, `must be a string, not ${describeType(labelValue)} (quote it)`);
      continue;
    }
    if (!LABEL_VALUE.test(labelValue)) {
      problems.add(itemPath, `${show(labelValue)} is not a valid label value: up to 63 letters, digits, ".", "_" or "-", starting and ending with a letter or digit`);
      continue;
    }
    labels[key] = labelValue;
  }
  return labels;
}

export function parseInteger(value: unknown, path: string, min: number, max: number, problems: Problems): number | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value)) return problems.add(path, `must be a whole number from ${min} to ${max}, not ${describeType(value)}`);
  if (value < min || value > max) return problems.add(path, `${value} is out of range: use ${min} to ${max}`);
  return value;
}

export function parseChoice<T extends string>(value: unknown, path: string, choices: readonly T[], fallback: T, problems: Problems): T | undefined {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T;
  return problems.add(path, `${show(value)} is not one of ${choices.join(', ')}`);
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

export function parseName(value: unknown, path: string, problems: Problems): string | undefined {
  if (value === undefined) return problems.add(path, 'is required');
  if (typeof value !== 'string') return problems.add(path, `must be a string, not ${describeType(value)}`);
  if (!POOL_NAME.test(value)) {
    return problems.add(path, `${show(value)} is not a valid pool name: 1 to 63 lowercase letters, digits, ".", "_" or "-", starting and ending with a letter or digit`);
  }
  return value;
}

export function parseSubnet(value: unknown, path: string, problems: Problems): Cidr | undefined {
  if (value === undefined) return problems.add(path, 'is required: a CIDR such as 10.244.0.0/24 or fd00:244::/64');
  return parseCidrField(value, path, undefined, problems);
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

export function parseExclude(value: unknown, path: string, family: IpFamily | undefined, problems: Problems): (IndexedInterval & { text: string })[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) return problems.add(path, `must be a list of addresses or CIDRs, not ${describeType(value)}`) ?? [];
  const excluded: (IndexedInterval & { text: string })[] = [];
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

/** A resolv.conf token: non-empty, no whitespace. */
function parseWord(value: unknown, path: string, problems: Problems): string | undefined {
  if (typeof value !== 'string') return problems.add(path, `must be a string, not ${describeType(value)}`);
  if (!/^\S+$/.test(value)) return problems.add(path, `${JSON.stringify(value)} must be non-empty and without spaces`);
  return value;
}

function parseAddressField(value: unknown, path: string, family: IpFamily | undefined, problems: Problems, expected = 'an IP address'): IpAddress | undefined {
  if (typeof value !== 'string') return problems.add(path, `must be ${expected} string, not ${describeType(value)}`);
  let address: IpAddress;
  try {
    address = parseAddress(value);
  } catch {
    return problems.add(path, `${show(value)} is not ${expected}`);
  }
  if (family !== undefined && address.family !== family) return problems.add(path, `${value} is IPv${address.family}, but the pool's subnet is IPv${family}`);
  return address;
}

/** A CIDR whose host bits are zero (a typo like 10.244.0.5/24 would otherwise silently mean 10.244.0.0/24). */
function parseCidrField(value: unknown, path: string, family: IpFamily | undefined, problems: Problems): Cidr | undefined {
  if (typeof value !== 'string') return problems.add(path, `must be a CIDR string, not ${describeType(value)}`);
  let cidr: Cidr;
  try {
    cidr = parseCidr(value);
  } catch (error) {
    return problems.add(path, `${show(value)} is not a CIDR${error instanceof IpParseError ? parseFailureDetail(error) : ''}`);
  }
  if (family !== undefined && cidr.family !== family) return problems.add(path, `${value} is IPv${cidr.family}, but the pool's subnet is IPv${family}`);
  if (cidr.address !== cidr.network) {
    return problems.add(path, `${value} has host bits set; use ${formatCidr(cidr.network, cidr.prefixLength, cidr.family)}`);
  }
  return cidr;
}

/** The "(bad prefix length)" part of an IpParseError, if any. */
function parseFailureDetail(error: IpParseError): string {
  const detail = /\(([^)]*)\)$/.exec(error.message);
  return detail ? ` (${detail[1]})` : '';
}

/** Names must be unique across both kinds, and subnets of one network may not overlap. */
function checkAcrossPools(pools: readonly ParsedPool[], problems: Problems): void {
  const firstIndexByName = new Map<string, number>();
  pools.forEach((pool, i) => {
    if (pool.name === undefined) return;
    const first = firstIndexByName.get(pool.name);
    if (first === undefined) firstIndexByName.set(pool.name, i);
    else problems.add(`pools[${i}].name`, `"${pool.name}" is already the name of pools[${first}]`);
  });
  pools.forEach((pool, i) => {
    const subnet = pool.subnet;
    if (subnet === undefined) return;
    const bounds = cidrBounds(subnet);
    for (let j = 0; j < i; j++) {
      const other = pools[j]!;
      if (other.subnet === undefined || other.subnet.family !== subnet.family || other.network !== pool.network) continue;
      const otherBounds = cidrBounds(other.subnet);
      if (intervalsOverlap({ start: bounds.first, end: bounds.last }, { start: otherBounds.first, end: otherBounds.last })) {
        const otherText = formatCidr(other.subnet.network, other.subnet.prefixLength, other.subnet.family);
        problems.add(`pools[${i}].subnet`, `overlaps pools[${j}] (${other.name === undefined ? '' : `"${other.name}", `}${otherText}) in network "${pool.network}"; pools of one network share its addresses (give one of them another network to allow the overlap)`);
        return;
      }
    }
  });
}

export function checkKeys(value: Mapping, path: string, allowed: readonly string[], problems: Problems, kindName?: string): void {
  for (const key of Object.keys(value)) {
    if (allowed.includes(key)) continue;
    if (kindName !== undefined && ADDRESS_POOL_KEYS.includes(key)) {
      problems.add(`${path}.${key}`, `is not used by ${kindName}`);
      continue;
    }
    const suggestion = allowed.find((candidate) => editDistance(key.toLowerCase(), candidate) <= 2);
    const hint = suggestion === undefined ? `expected ${allowed.length === 1 ? `"${allowed[0]}"` : `one of ${allowed.join(', ')}`}` : `did you mean "${suggestion}"?`;
    problems.add(path === '' ? key : `${path}.${key}`, `unknown key (${hint})`);
  }
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

function yamlErrorMessage(code: string, message: string, text: string): string {
  const firstLine = (message.split('\n')[0] ?? message).replace(/:$/, '');
  const where = / at line (\d+), column \d+$/.exec(firstLine);
  const detail = code === 'MULTIPLE_DOCS' ? `contains more than one YAML document${where ? where[0] : ''}` : firstLine;
  const line = where ? text.split('\n')[Number(where[1]) - 1] : undefined;
  // A plain IPv6 scalar ending in "::" inside [..] or {..} reads as a key: quoting fixes it.
  const hint = line?.includes('::') ? ' (quote IPv6 addresses, e.g. "fd00::1")' : '';
  return `not valid YAML or JSON: ${detail}${hint}`;
}

export function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

export function describeType(value: unknown): string {
  if (value === null || value === undefined) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return isMapping(value) ? 'a mapping' : 'binary data';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  return `${typeof value === 'number' || typeof value === 'bigint' ? 'the number' : `the ${typeof value}`} ${String(value)}`;
}

/** A value as a user wrote it: bare when that is unambiguous, else JSON-quoted. */
export function show(value: unknown): string {
  if (typeof value === 'string' && /^[^\s"'`]+$/.test(value)) return value;
  return JSON.stringify(value) ?? String(value);
}
