// Parses and validates the pool configuration (YAML, or JSON as a subset of it) into typed
// objects. Every problem is collected with its field path and all are reported in one ConfigError.
// The keys both kinds share are read here; each kind's own keys in addressPoolConfig.ts and
// prefixPoolConfig.ts.
import { parseDocument } from 'yaml';
import { cidrBounds, formatCidr, type Cidr } from '../ip/address.ts';
import { parseAddressPool } from './addressPoolConfig.ts';
import { intervalsOverlap } from './addressIntervals.ts';
import { ConfigError } from './configError.ts';
import {
  checkKeys, describeType, isMapping, parseInteger, parseLabels, parseName, parseSubnet, Problems, show, type CommonFields, type Mapping,
} from './configFields.ts';
import { checkClusterPools, parseClusterPools } from './parseClusterPools.ts';
import { parsePrefixPool } from './prefixPoolConfig.ts';
import { DEFAULT_ADDRESS_SPACE, type BerthConfig, type PoolConfig, type PrefixPoolConfig } from './types.ts';
import { yamlErrorMessage } from './yamlDiagnostics.ts';

export const MAX_RECLAIM_DELAY_SECONDS = 7 * 24 * 3600;
const ROOT_KEYS = ['pools', 'clusterPools'];
const COMMON_POOL_KEYS = ['name', 'kind', 'addressSpace', 'labels', 'subnet', 'strategy', 'reclaimDelaySeconds'];
const ADDRESS_POOL_KEYS = [...COMMON_POOL_KEYS, 'ranges', 'exclude', 'gateway', 'routes', 'dns', 'preAllocations'];
const PREFIX_POOL_KEYS = [...COMMON_POOL_KEYS, 'prefixLength', 'reservedSubnets'];

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
    let parsed: ParsedPool[] = [];
    // A file of cluster pools alone is whole: every node of a cluster gets the same one.
    if (root.clusterPools !== undefined && list === undefined) {
      // no local pools
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
  return { pools, prefixPools, clusterPools: clusterPools.flatMap((entry) => entry.config ?? []), ...(problems.deprecations.length > 0 ? { deprecations: problems.deprecations } : {}) };
}

export interface ParsedPool {
  readonly name?: string;
  readonly addressSpace: string;
  readonly subnet?: Cidr;
  /** Present only when the pool had no problems of its own. */
  readonly config?: PoolConfig | PrefixPoolConfig;
}

function parsePool(entry: unknown, path: string, problems: Problems): ParsedPool {
  if (!isMapping(entry)) {
    problems.add(path, `must be a mapping with name and subnet, not ${describeType(entry)}`);
    return { addressSpace: DEFAULT_ADDRESS_SPACE };
  }
  const kind = entry.kind === undefined ? 'address' : entry.kind;
  if (kind !== 'address' && kind !== 'prefix') {
    problems.add(`${path}.kind`, `${show(kind)} is not a pool kind: use "address" (single addresses for CNI ADD) or "prefix" (whole subnets for AllocatePrefix)`);
    return { addressSpace: DEFAULT_ADDRESS_SPACE };
  }
  const before = problems.list.length;
  // The old key of addressSpace is accepted (parseAddressSpace) but never suggested.
  const { network: _oldAddressSpaceKey, ...current } = entry;
  checkKeys(current, path, kind === 'address' ? ADDRESS_POOL_KEYS : PREFIX_POOL_KEYS, problems,
    kind === 'prefix' ? { name: 'a prefix pool', keys: ADDRESS_POOL_KEYS } : undefined);
  const common = parseCommon(entry, path, problems);
  const { name, subnet, addressSpace } = common;
  const config = kind === 'address' ? parseAddressPool(entry, path, common, problems) : parsePrefixPool(entry, path, common, problems);
  const ok = problems.list.length === before && config !== undefined;
  return { ...(name === undefined ? {} : { name }), addressSpace, ...(subnet === undefined ? {} : { subnet }), ...(ok ? { config } : {}) };
}

function parseCommon(entry: Mapping, path: string, problems: Problems): CommonFields {
  const name = parseName(entry.name, `${path}.name`, problems);
  const addressSpace = parseAddressSpace(entry, path, name, problems);
  const labels = entry.labels === undefined ? {} : parseLabels(entry.labels, `${path}.labels`, problems) ?? {};
  const subnet = parseSubnet(entry.subnet, `${path}.subnet`, problems);
  const reclaimDelaySeconds = entry.reclaimDelaySeconds === undefined
    ? 0 : parseInteger(entry.reclaimDelaySeconds, `${path}.reclaimDelaySeconds`, 0, MAX_RECLAIM_DELAY_SECONDS, problems) ?? 0;
  return { ...(name === undefined ? {} : { name }), addressSpace, labels, ...(subnet === undefined ? {} : { subnet }), reclaimDelaySeconds };
}

/** `addressSpace`, or its old name `network` (which now means only the CNI network name of a lease). */
function parseAddressSpace(entry: Mapping, path: string, name: string | undefined, problems: Problems): string {
  if (entry.network !== undefined && entry.addressSpace !== undefined) {
    return problems.add(`${path}.network`, 'is the old name of addressSpace: give addressSpace only') ?? DEFAULT_ADDRESS_SPACE;
  }
  const key = entry.network !== undefined ? 'network' : 'addressSpace';
  if (entry[key] === undefined) return DEFAULT_ADDRESS_SPACE;
  const addressSpace = parseName(entry[key], `${path}.${key}`, problems, 'address space') ?? DEFAULT_ADDRESS_SPACE;
  if (key === 'network') {
    problems.deprecations.push(`${path}.network${name === undefined ? '' : ` (pool "${name}")`}: "network" is deprecated; write "addressSpace: ${addressSpace}"`);
  }
  return addressSpace;
}

/** Names must be unique across both kinds, and subnets of one address space may not overlap. */
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
      if (other.subnet === undefined || other.subnet.family !== subnet.family || other.addressSpace !== pool.addressSpace) continue;
      const otherBounds = cidrBounds(other.subnet);
      if (intervalsOverlap({ start: bounds.first, end: bounds.last }, { start: otherBounds.first, end: otherBounds.last })) {
        const otherText = formatCidr(other.subnet.network, other.subnet.prefixLength, other.subnet.family);
        problems.add(`pools[${i}].subnet`, `overlaps pools[${j}] (${other.name === undefined ? '' : `"${other.name}", `}${otherText}) in address space "${pool.addressSpace}"; pools of one address space share its addresses (give one of them another addressSpace to allow the overlap)`);
        return;
      }
    }
  });
}
