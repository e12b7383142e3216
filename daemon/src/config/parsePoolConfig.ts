// Parses and validates the pool configuration (YAML, or JSON as a subset of it) into typed
// objects. Every problem is collected with its field path and all are reported in one ConfigError.
// The keys every kind shares are read here; each kind's own keys in addressPoolConfig.ts,
// prefixPoolConfig.ts and clusterPoolConfig.ts.
import { parseDocument } from 'yaml';
import { cidrBounds, formatCidr, type Cidr } from '../ip/address.ts';
import { parseAddressPool } from './addressPoolConfig.ts';
import { intervalsOverlap } from './addressIntervals.ts';
import { ConfigError } from './configError.ts';
import {
  checkKeys, describeType, isMapping, parseCommon, Problems, show, type ParsedPool,
} from './configFields.ts';
import { CLUSTER_POOL_KEYS, parseClusterPool } from './clusterPoolConfig.ts';
import { parsePrefixPool } from './prefixPoolConfig.ts';
import { DEFAULT_ADDRESS_SPACE, type BerthConfig, type ClusterPoolConfig, type PoolConfig, type PrefixPoolConfig } from './types.ts';
import { yamlErrorMessage } from './yamlDiagnostics.ts';

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
  const clusterPools: ClusterPoolConfig[] = [];
  if (!isMapping(root)) {
    problems.add('', `must be a mapping with a "pools" list, not ${describeType(root)}`);
  } else {
    checkKeys(root, '', ROOT_KEYS, problems);
    const list = root.pools;
    let placed: PlacedPool[] = [];
    // A file of cluster pools alone is whole: every node of a cluster gets the same one.
    if (root.clusterPools !== undefined && list === undefined) {
      // no local pools
    } else if (!Array.isArray(list)) {
      problems.add('pools', list === undefined ? 'is required: a list of pools (or clusterPools)' : `must be a list of pools, not ${describeType(list)}`);
    } else if (list.length === 0) {
      problems.add('pools', 'is empty: configure at least one pool');
    } else {
      const parsed = list.map((entry: unknown, i) => parsePool(entry, `pools[${i}]`, problems));
      placed = parsed.map((pool, i) => ({ pool, path: `pools[${i}]`, cluster: false }));
      checkAcrossPools(placed, 0, problems);
      for (const pool of parsed) {
        if (pool.config?.kind === 'address') pools.push(pool.config);
        else if (pool.config?.kind === 'prefix') prefixPools.push(pool.config);
      }
    }
    if (root.clusterPools !== undefined && !Array.isArray(root.clusterPools)) {
      problems.add('clusterPools', `must be a list of cluster pools, not ${describeType(root.clusterPools)}`);
    } else if (root.clusterPools !== undefined) {
      const parsed = root.clusterPools.map((entry: unknown, i) => parsePool(entry, `clusterPools[${i}]`, problems, true));
      checkAcrossPools([...placed, ...parsed.map((pool, i) => ({ pool, path: `clusterPools[${i}]`, cluster: true }))], placed.length, problems);
      for (const pool of parsed) if (pool.config?.kind === 'cluster') clusterPools.push(pool.config);
    }
  }
  if (problems.list.length > 0) throw new ConfigError(sourceName, problems.list);
  return { pools, prefixPools, clusterPools, ...(problems.deprecations.length > 0 ? { deprecations: problems.deprecations } : {}) };
}

/** An entry of pools: or (cluster) of clusterPools:. */
function parsePool(entry: unknown, path: string, problems: Problems, cluster = false): ParsedPool<PoolConfig | PrefixPoolConfig | ClusterPoolConfig> {
  if (!isMapping(entry)) {
    problems.add(path, `must be a mapping with name and subnet, not ${describeType(entry)}`);
    return { addressSpace: DEFAULT_ADDRESS_SPACE };
  }
  const kind = cluster ? 'cluster' : entry.kind === undefined ? 'address' : entry.kind;
  if (!cluster && kind !== 'address' && kind !== 'prefix') {
    problems.add(`${path}.kind`, `${show(kind)} is not a pool kind: use "address" (single addresses for CNI ADD) or "prefix" (whole subnets for AllocatePrefix)`);
    return { addressSpace: DEFAULT_ADDRESS_SPACE };
  }
  const before = problems.list.length;
  // The old key of addressSpace is accepted (parseAddressSpace) but never suggested.
  const { network: _oldAddressSpaceKey, ...current } = entry;
  if (kind === 'cluster') checkKeys(entry, path, CLUSTER_POOL_KEYS, problems);
  else checkKeys(current, path, kind === 'address' ? ADDRESS_POOL_KEYS : PREFIX_POOL_KEYS, problems, kind === 'prefix' ? { name: 'a prefix pool', keys: ADDRESS_POOL_KEYS } : undefined);
  // Cluster pools never had the old name of addressSpace (checkKeys refused it there).
  const common = parseCommon(kind === 'cluster' ? current : entry, path, problems);
  const { name, subnet, addressSpace } = common;
  const config = kind === 'address' ? parseAddressPool(entry, path, common, problems)
    : kind === 'prefix' ? parsePrefixPool(entry, path, common, problems) : parseClusterPool(entry, path, common, problems);
  const ok = problems.list.length === before && config !== undefined;
  return { ...(name === undefined ? {} : { name }), addressSpace, ...(subnet === undefined ? {} : { subnet }), ...(ok ? { config } : {}) };
}

/** A parsed pool with the path of its entry, under pools: or clusterPools:. */
interface PlacedPool {
  readonly pool: ParsedPool<unknown>;
  readonly path: string;
  readonly cluster: boolean;
}

/**
 * Names are unique across every kind of pool, and the subnets of one address space do not overlap:
 * its pools share its addresses, and a cluster pool hands its out in blocks. The entries from
 * `from` on are checked against all before them.
 */
function checkAcrossPools(entries: readonly PlacedPool[], from: number, problems: Problems): void {
  for (let i = from; i < entries.length; i++) {
    const { pool, path } = entries[i]!;
    const sameName = entries.slice(0, i).find((other) => pool.name !== undefined && other.pool.name === pool.name);
    if (sameName) problems.add(`${path}.name`, `"${pool.name}" is already the name of ${sameName.path}`);
  }
  for (let i = from; i < entries.length; i++) {
    const { pool, path, cluster } = entries[i]!;
    const subnet = pool.subnet;
    if (subnet === undefined) continue;
    const earlier = entries.slice(0, i);
    // A cluster pool hears first of another cluster pool: the two would claim the same blocks.
    const candidates = cluster ? [...earlier.filter((other) => other.cluster), ...earlier.filter((other) => !other.cluster)] : earlier;
    const found = candidates.find(({ pool: other }) => other.subnet !== undefined && other.subnet.family === subnet.family
      && other.addressSpace === pool.addressSpace && cidrsOverlap(other.subnet, subnet));
    if (found === undefined) continue;
    const other = found.pool;
    const why = !cluster ? '; pools of one address space share its addresses (give one of them another addressSpace to allow the overlap)'
      : found.cluster ? ': two cluster pools would claim the same blocks' : ': a block would hand out addresses the local pool also hands out';
    problems.add(`${path}.subnet`, `overlaps ${found.path} (${other.name === undefined ? '' : `"${other.name}", `}${formatCidr(other.subnet!.network, other.subnet!.prefixLength, other.subnet!.family)}) in address space "${pool.addressSpace}"${why}`);
  }
}

function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  const x = cidrBounds(a);
  const y = cidrBounds(b);
  return intervalsOverlap({ start: x.first, end: x.last }, { start: y.first, end: y.last });
}
