// The clusterPools: section. Every node reads the same list; a node serves the pools whose
// nodeSelector its --node-labels match. Field paths as for local pools (clusterPools[1].blockSize).
import { familyBits, formatCidr } from '../ip/address.ts';
import { mergeIntervals } from './addressIntervals.ts';
import { ADDRESS_STRATEGIES, parseDns, parseExclude, parseRoutes } from './addressPoolConfig.ts';
import {
  checkKeys, describeType, isMapping, parseChoice, parseCommon, parseInteger, parseLabels, sharedSettings, type ParsedPool, type Problems,
} from './configFields.ts';
import { DEFAULT_ADDRESS_SPACE, type BlockGatewayPolicy, type ClusterPoolConfig } from './types.ts';

const CLUSTER_POOL_KEYS = ['name', 'addressSpace', 'labels', 'subnet', 'strategy', 'reclaimDelaySeconds', 'blockSize', 'exclude', 'gateway', 'routes', 'dns', 'nodeSelector'];
const GATEWAY_POLICIES: readonly BlockGatewayPolicy[] = ['firstOfBlock', 'none'];
/** Calico's defaults: 64 addresses (IPv4) or 64 (IPv6) a block, ~35 etcd writes per 1,000 pods. */
export const DEFAULT_BLOCK_SIZE = { 4: 26, 6: 122 } as const;
/** More blocks than this in one pool makes the candidate walk and `cluster blocks` unwieldy. */
const MAX_BLOCK_BITS = 24;

export type ParsedClusterPool = ParsedPool<ClusterPoolConfig>;

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
  // Cluster pools never had the old name of addressSpace: checkKeys refuses it.
  const { network: _unknownKey, ...current } = entry;
  const common = parseCommon(current, path, problems);
  const { name, addressSpace, subnet } = common;
  const nodeSelector = entry.nodeSelector === undefined ? {} : parseLabels(entry.nodeSelector, `${path}.nodeSelector`, problems) ?? {};
  const family = subnet?.family;
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
  const exclude = parseExclude(entry.exclude, `${path}.exclude`, subnet, problems);
  const routes = parseRoutes(entry.routes, `${path}.routes`, family, problems);
  const dns = parseDns(entry.dns, `${path}.dns`, problems);
  const ok = problems.list.length === before;
  const parsed = { ...(name === undefined ? {} : { name }), addressSpace, ...(subnet === undefined ? {} : { subnet }) };
  if (!ok || name === undefined || subnet === undefined || strategy === undefined || gateway === undefined || blockSize === undefined) return parsed;
  return {
    ...parsed,
    config: {
      kind: 'cluster', ...sharedSettings(name, common, subnet), strategy, blockSize,
      exclude: mergeIntervals((exclude ?? []).map((item) => item.interval)), gateway, routes, dns, nodeSelector,
    },
  };
}
