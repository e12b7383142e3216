// The clusterPools: section. Every node reads the same list; a node serves the pools whose
// nodeSelector its --node-labels match. Field paths as for local pools (clusterPools[1].blockSize).
import { familyBits, formatCidr } from '../ip/address.ts';
import { mergeIntervals } from './addressIntervals.ts';
import { ADDRESS_STRATEGIES, parseDns, parseExclude, parseRoutes } from './addressPoolConfig.ts';
import { parseChoice, parseInteger, parseLabels, sharedSettings, type CommonFields, type Mapping, type Problems } from './configFields.ts';
import type { BlockGatewayPolicy, ClusterPoolConfig } from './types.ts';

export const CLUSTER_POOL_KEYS = ['name', 'addressSpace', 'labels', 'subnet', 'strategy', 'reclaimDelaySeconds', 'blockSize', 'exclude', 'gateway', 'routes', 'dns', 'nodeSelector'];
const GATEWAY_POLICIES: readonly BlockGatewayPolicy[] = ['firstOfBlock', 'none'];
/** Calico's defaults: 64 addresses (IPv4) or 64 (IPv6) a block, ~35 etcd writes per 1,000 pods. */
export const DEFAULT_BLOCK_SIZE = { 4: 26, 6: 122 } as const;
/** More blocks than this in one pool makes the candidate walk and `cluster blocks` unwieldy. */
const MAX_BLOCK_BITS = 24;

/** A cluster pool's own keys, once the keys every pool has are read (common). */
export function parseClusterPool(entry: Mapping, path: string, common: CommonFields, problems: Problems): ClusterPoolConfig | undefined {
  const { name, subnet } = common;
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
  if (name === undefined || subnet === undefined || strategy === undefined || gateway === undefined || blockSize === undefined) return undefined;
  return {
    kind: 'cluster', ...sharedSettings(name, common, subnet), strategy, blockSize,
    exclude: mergeIntervals((exclude ?? []).map((item) => item.interval)), gateway, routes, dns, nodeSelector,
  };
}
