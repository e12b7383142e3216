// The clusterPools: section. Every node reads the same list; a node serves the pools whose
// nodeSelector its --node-labels match. Field paths as for local pools (clusterPools[1].blockSize).
import { cidrBounds, familyBits, formatCidr, type Cidr } from '../ip/address.ts';
import { intervalsOverlap, mergeIntervals } from './addressIntervals.ts';
import { ADDRESS_STRATEGIES, parseDns, parseExclude, parseRoutes } from './addressPoolConfig.ts';
import {
  checkKeys, describeType, isMapping, parseChoice, parseInteger, parseLabels, parseName, parseSubnet, type Problems,
} from './configFields.ts';
import { MAX_RECLAIM_DELAY_SECONDS, type ParsedPool } from './parsePoolConfig.ts';
import { DEFAULT_ADDRESS_SPACE, type BlockGatewayPolicy, type ClusterPoolConfig } from './types.ts';

const CLUSTER_POOL_KEYS = ['name', 'addressSpace', 'labels', 'subnet', 'strategy', 'reclaimDelaySeconds', 'blockSize', 'exclude', 'gateway', 'routes', 'dns', 'nodeSelector'];
const GATEWAY_POLICIES: readonly BlockGatewayPolicy[] = ['firstOfBlock', 'none'];
/** Calico's defaults: 64 addresses (IPv4) or 64 (IPv6) a block, ~35 etcd writes per 1,000 pods. */
export const DEFAULT_BLOCK_SIZE = { 4: 26, 6: 122 } as const;
/** More blocks than this in one pool makes the candidate walk and `cluster blocks` unwieldy. */
const MAX_BLOCK_BITS = 24;

export interface ParsedClusterPool {
  readonly name?: string;
  readonly addressSpace: string;
  readonly subnet?: Cidr;
  readonly config?: ClusterPoolConfig;
}

export function parseClusterPools(value: unknown, path: string, problems: Problems): ParsedClusterPool[] {
  if (!Array.isArray(value)) return problems.add(path, `must be a list of cluster pools, not ${describeType(value)}`) ?? [];
  return value.map((entry: unknown, i) => parseClusterPool(entry, `${path}[${i}]`, problems));
}

function parseClusterPool(entry: unknown, path: string, problems: Problems): ParsedClusterPool {
  if (!isMapping(entry)) {
    problems.add(path, `must be a mapping with name and subnet, not ${describeType(entry)}`);
    return { addressSpace: DEFAULT_ADDRESS_SPACE };
  }
  const before = problems.list.length;
  checkKeys(entry, path, CLUSTER_POOL_KEYS, problems);
  const name = parseName(entry.name, `${path}.name`, problems);
  const addressSpace = entry.addressSpace === undefined ? DEFAULT_ADDRESS_SPACE : parseName(entry.addressSpace, `${path}.addressSpace`, problems, 'address space') ?? DEFAULT_ADDRESS_SPACE;
  const labels = entry.labels === undefined ? {} : parseLabels(entry.labels, `${path}.labels`, problems) ?? {};
  const nodeSelector = entry.nodeSelector === undefined ? {} : parseLabels(entry.nodeSelector, `${path}.nodeSelector`, problems) ?? {};
  const subnet = parseSubnet(entry.subnet, `${path}.subnet`, problems);
  const family = subnet?.family;
  const reclaimDelaySeconds = entry.reclaimDelaySeconds === undefined
    ? 0 : parseInteger(entry.reclaimDelaySeconds, `${path}.reclaimDelaySeconds`, 0, MAX_RECLAIM_DELAY_SECONDS, problems) ?? 0;
  const strategy = parseChoice(entry.strategy, `${path}.strategy`, ADDRESS_STRATEGIES, 'roundRobin', problems);
  const gateway = parseChoice(entry.gateway, `${path}.gateway`, GATEWAY_POLICIES, 'firstOfBlock', problems);
  let blockSize: number | undefined;
  if (subnet !== undefined) {
    const bits = familyBits(subnet.family);
    // A block needs room for its network, gateway and broadcast addresses and one more.
    const longest = gateway === 'firstOfBlock' ? bits - 2 : bits;
    const shortest = Math.min(longest, Math.max(subnet.prefixLength, longest - MAX_BLOCK_BITS, 0));
    const subnetText = formatCidr(subnet.network, subnet.prefixLength, subnet.family);
    if (entry.blockSize !== undefined) {
      blockSize = parseInteger(entry.blockSize, `${path}.blockSize`, shortest, longest, problems);
    } else if (DEFAULT_BLOCK_SIZE[subnet.family] >= shortest && DEFAULT_BLOCK_SIZE[subnet.family] <= longest) {
      blockSize = DEFAULT_BLOCK_SIZE[subnet.family];
    } else {
      problems.add(`${path}.blockSize`, `the default /${DEFAULT_BLOCK_SIZE[subnet.family]} does not fit subnet ${subnetText} (at most 2^${MAX_BLOCK_BITS} blocks): set blockSize, ${shortest} to ${longest}`);
    }
  }
  const exclude = parseExclude(entry.exclude, `${path}.exclude`, family, problems);
  if (subnet !== undefined) {
    const { first, last } = cidrBounds(subnet);
    exclude?.forEach(({ interval, index, text }) => {
      if (!intervalsOverlap(interval, { start: first, end: last })) problems.add(`${path}.exclude[${index}]`, `${text} is not inside subnet ${formatCidr(subnet.network, subnet.prefixLength, subnet.family)}`);
    });
  }
  const routes = parseRoutes(entry.routes, `${path}.routes`, family, problems);
  const dns = parseDns(entry.dns, `${path}.dns`, problems);
  const ok = problems.list.length === before;
  const parsed = { ...(name === undefined ? {} : { name }), addressSpace, ...(subnet === undefined ? {} : { subnet }) };
  if (!ok || name === undefined || subnet === undefined || strategy === undefined || gateway === undefined || blockSize === undefined) return parsed;
  return {
    ...parsed,
    config: {
      kind: 'cluster', name, addressSpace, labels, family: subnet.family, subnet, reclaimDelaySeconds, strategy, blockSize,
      exclude: mergeIntervals((exclude ?? []).map((item) => item.interval)), gateway, routes, dns, nodeSelector,
    },
  };
}

/**
 * Names are unique across every kind of pool; a cluster pool's subnet overlaps no other cluster
 * pool's and no local pool's of the same address space (the blocks would hand out the same addresses).
 */
export function checkClusterPools(cluster: readonly ParsedClusterPool[], local: readonly ParsedPool[], problems: Problems): void {
  cluster.forEach((pool, i) => {
    const path = `clusterPools[${i}]`;
    if (pool.name !== undefined) {
      const localIndex = local.findIndex((other) => other.name === pool.name);
      const clusterIndex = cluster.findIndex((other) => other.name === pool.name);
      if (localIndex >= 0) problems.add(`${path}.name`, `"${pool.name}" is already the name of pools[${localIndex}]`);
      else if (clusterIndex < i) problems.add(`${path}.name`, `"${pool.name}" is already the name of clusterPools[${clusterIndex}]`);
    }
    if (pool.subnet === undefined) return;
    const overlapping = (other: { subnet?: Cidr; addressSpace: string }) => other.subnet !== undefined && other.addressSpace === pool.addressSpace
      && other.subnet.family === pool.subnet!.family && overlaps(other.subnet, pool.subnet!);
    const earlier = cluster.slice(0, i).findIndex(overlapping);
    const localIndex = local.findIndex(overlapping);
    const describe = (other: { name?: string; subnet?: Cidr }) => `${other.name === undefined ? '' : `"${other.name}", `}${formatCidr(other.subnet!.network, other.subnet!.prefixLength, other.subnet!.family)}`;
    if (earlier >= 0) {
      problems.add(`${path}.subnet`, `overlaps clusterPools[${earlier}] (${describe(cluster[earlier]!)}) in address space "${pool.addressSpace}": two cluster pools would claim the same blocks`);
    } else if (localIndex >= 0) {
      problems.add(`${path}.subnet`, `overlaps pools[${localIndex}] (${describe(local[localIndex]!)}) in address space "${pool.addressSpace}": a block would hand out addresses the local pool also hands out`);
    }
  });
}

function overlaps(a: Cidr, b: Cidr): boolean {
  const x = cidrBounds(a);
  const y = cidrBounds(b);
  return intervalsOverlap({ start: x.first, end: x.last }, { start: y.first, end: y.last });
}
