// The network configuration on stdin: parsed once into a typed object; errors name the field path.
import { CniCode } from '../../../daemon/src/errors.ts';
import { containerIdProblem, ifnameProblem, labelProblems, MAX_LIST_ENTRIES, networkNameProblem, poolNameProblem } from '../../../daemon/src/fieldRules.ts';
import { CniError } from './cniError.ts';
import { isIpWithOptionalPrefix } from './requestedIps.ts';
import { isSupportedVersion, SUPPORTED_VERSIONS, type CniVersion } from './versions.ts';

export const DEFAULT_SOCKET = '/run/berth/berthd.sock';
export const DEFAULT_TIMEOUT_SECONDS = 10;
export const MAX_TIMEOUT_SECONDS = 300;

export interface IpamConfig {
  readonly type: string;
  /** Undefined: the network name is the pool name (unless a selector is given). */
  readonly pools: readonly string[] | undefined;
  /** ipam.poolSelector.matchLabels: the daemon picks the pools whose labels match (empty: none). */
  readonly poolSelector: Readonly<Record<string, string>>;
  readonly socket: string;
  readonly timeoutSeconds: number;
}

export interface Attachment {
  readonly containerId: string;
  readonly ifname: string;
}

export interface NetworkConfig {
  readonly cniVersion: CniVersion;
  readonly name: string;
  readonly ipam: IpamConfig;
  /** Capability `ips` (runtimeConfig.ips). */
  readonly runtimeIps: readonly string[] | undefined;
  /** `args.cni.ips`. */
  readonly argsIps: readonly string[] | undefined;
  /** `args.cni.labels`: the pod's labels (e.g. multus cni-args), matched by label pre-allocations. */
  readonly podLabels: Readonly<Record<string, string>>;
  readonly disableGC: boolean;
  /** The whole document, for the verb-specific fields (prevResult, cni.dev/valid-attachments). */
  readonly raw: Readonly<Record<string, unknown>>;
}

const IPAM_KEYS = new Set(['type', 'pools', 'poolSelector', 'socket', 'timeoutSeconds']);

export function invalidConfig(msg: string): CniError {
  return new CniError(CniCode.INVALID_NETWORK_CONFIG, msg);
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Not JSON at all is a decode failure (6); JSON of the wrong shape is an invalid config (7). */
export function decodeJsonObject(text: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new CniError(CniCode.DECODE_FAILURE, `network config on stdin is not valid JSON: ${why}`);
  }
  if (!isObject(value)) throw invalidConfig('network config: must be a JSON object');
  return value;
}

export function parseCniVersion(doc: JsonObject): CniVersion {
  const version = doc.cniVersion;
  if (version === undefined) throw invalidConfig('cniVersion: required');
  if (typeof version !== 'string') throw invalidConfig(`cniVersion: must be a string, got ${JSON.stringify(version)}`);
  if (!isSupportedVersion(version)) {
    throw new CniError(CniCode.INCOMPATIBLE_VERSION, `incompatible CNI version "${version}"`,
      `berth supports ${SUPPORTED_VERSIONS.join(', ')}`);
  }
  return version;
}

export function parseNetworkConfig(text: string): NetworkConfig {
  const doc = decodeJsonObject(text);
  const cniVersion = parseCniVersion(doc);
  const name = nonEmptyString(doc.name, 'name');
  const nameProblem = networkNameProblem(name);
  if (nameProblem !== undefined) throw invalidConfig(`name: ${nameProblem}`);
  const runtimeConfig = optionalObject(doc.runtimeConfig, 'runtimeConfig');
  const args = optionalObject(doc.args, 'args');
  const argsCni = optionalObject(args?.cni, 'args.cni');
  if (doc.disableGC !== undefined && typeof doc.disableGC !== 'boolean') throw invalidConfig('disableGC: must be true or false');
  return {
    cniVersion,
    name,
    ipam: parseIpam(doc.ipam),
    runtimeIps: optionalStringArray(runtimeConfig?.ips, 'runtimeConfig.ips'),
    argsIps: optionalStringArray(argsCni?.ips, 'args.cni.ips'),
    podLabels: argsCni?.labels === undefined ? {} : stringMap(argsCni.labels, 'args.cni.labels'),
    disableGC: doc.disableGC === true,
    raw: doc,
  };
}

function parseIpam(value: unknown): IpamConfig {
  if (value === undefined) throw invalidConfig('ipam: required');
  if (!isObject(value)) throw invalidConfig('ipam: must be an object');
  for (const [key, field] of Object.entries(value)) {
    if (!IPAM_KEYS.has(key)) {
      throw new CniError(CniCode.UNSUPPORTED_FIELD, `ipam.${key}: unsupported field (value ${JSON.stringify(field)})`,
        `berth understands ipam.${[...IPAM_KEYS].join(', ipam.')}`);
    }
  }
  const type = value.type === undefined ? 'berth' : nonEmptyString(value.type, 'ipam.type');
  const socket = value.socket === undefined ? DEFAULT_SOCKET : nonEmptyString(value.socket, 'ipam.socket');
  const pools = parsePools(value.pools);
  const poolSelector = parsePoolSelector(value.poolSelector);
  if (pools !== undefined && Object.keys(poolSelector).length > 0) throw invalidConfig('ipam: give ipam.pools or ipam.poolSelector, not both');
  return { type, pools, poolSelector, socket, timeoutSeconds: parseTimeout(value.timeoutSeconds) };
}

function parsePoolSelector(value: unknown): Readonly<Record<string, string>> {
  if (value === undefined) return {};
  if (!isObject(value)) throw invalidConfig('ipam.poolSelector: must be an object {"matchLabels": {...}}');
  for (const key of Object.keys(value)) {
    if (key !== 'matchLabels') throw new CniError(CniCode.UNSUPPORTED_FIELD, `ipam.poolSelector.${key}: unsupported field`, 'berth understands ipam.poolSelector.matchLabels');
  }
  const labels = stringMap(value.matchLabels, 'ipam.poolSelector.matchLabels');
  if (Object.keys(labels).length === 0) throw invalidConfig('ipam.poolSelector.matchLabels: must name at least one label');
  return labels;
}

/** A JSON object of string values (labels). */
function stringMap(value: unknown, path: string): Record<string, string> {
  if (!isObject(value)) throw invalidConfig(`${path}: must be an object of label names to string values`);
  const labels: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) {
    if (key === '') throw invalidConfig(`${path}: a label name is empty`);
    if (typeof item !== 'string') throw invalidConfig(`${path}.${key}: must be a string, got ${JSON.stringify(item)}`);
    labels[key] = item;
  }
  // The label syntax berthd applies (daemon/src/fieldRules.ts), reported under the config's path.
  const [problem] = labelProblems(labels, path);
  if (problem !== undefined) throw invalidConfig(problem);
  return labels;
}

function parsePools(value: unknown): readonly string[] | undefined {
  if (value === undefined) return undefined;
  const pools = typeof value === 'string'
    ? value.split(',').map((pool) => pool.trim())
    : Array.isArray(value) ? value.map((pool: unknown, i) => nonEmptyString(pool, `ipam.pools[${i}]`))
    : undefined;
  if (pools === undefined) throw invalidConfig('ipam.pools: must be an array of pool names or a comma-separated string');
  if (pools.length === 0 || pools.some((pool) => pool === '')) {
    throw invalidConfig(`ipam.pools: ${JSON.stringify(value)} must name at least one pool and no empty one`);
  }
  if (pools.length > MAX_LIST_ENTRIES) throw invalidConfig(`ipam.pools: names ${pools.length} pools; at most ${MAX_LIST_ENTRIES}`);
  for (const [i, pool] of pools.entries()) {
    const problem = poolNameProblem(pool);
    if (problem !== undefined) throw invalidConfig(`ipam.pools[${i}]: ${problem}`);
  }
  return pools;
}

function parseTimeout(value: unknown): number {
  if (value === undefined) return DEFAULT_TIMEOUT_SECONDS;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_TIMEOUT_SECONDS) {
    throw invalidConfig(`ipam.timeoutSeconds: ${JSON.stringify(value)} must be a number of seconds > 0 and <= ${MAX_TIMEOUT_SECONDS}`);
  }
  return value;
}

/** The pools to ask for: ipam.pools, else none when a selector picks them, else one pool named like the network. */
export function poolsOf(config: NetworkConfig): readonly string[] {
  if (config.ipam.pools !== undefined) return config.ipam.pools;
  if (Object.keys(config.ipam.poolSelector).length > 0) return [];
  const problem = poolNameProblem(config.name);
  if (problem !== undefined) throw invalidConfig(`name: without ipam.pools the network name is the pool name, and ${problem}`);
  return [config.name];
}

/** The pool_selector field of a request, or undefined when pools are named. */
export function poolSelectorOf(config: NetworkConfig): { matchLabels: Readonly<Record<string, string>> } | undefined {
  return Object.keys(config.ipam.poolSelector).length > 0 ? { matchLabels: config.ipam.poolSelector } : undefined;
}

/** CHECK: the addresses in prevResult.ips[].address. */
export function expectedAddresses(config: NetworkConfig): readonly string[] {
  const prevResult = config.raw.prevResult;
  if (prevResult === undefined) throw invalidConfig('prevResult: required for CHECK');
  if (!isObject(prevResult)) throw invalidConfig('prevResult: must be an object');
  const ips = prevResult.ips;
  if (ips === undefined) return [];
  if (!Array.isArray(ips)) throw invalidConfig('prevResult.ips: must be an array');
  return ips.map((ip: unknown, i) => {
    if (!isObject(ip)) throw invalidConfig(`prevResult.ips[${i}]: must be an object`);
    const address = nonEmptyString(ip.address, `prevResult.ips[${i}].address`);
    // Checked here so the error names the runtime's field, not berthd's expected_addresses.
    if (!isIpWithOptionalPrefix(address)) {
      throw invalidConfig(`prevResult.ips[${i}].address: "${address}" is not an IP address (expected "10.0.0.5/24")`);
    }
    return address;
  });
}

export const VALID_ATTACHMENTS_KEY = 'cni.dev/valid-attachments';

/** GC: the attachments the runtime still uses; required, since an absent list would free everything. */
export function validAttachments(config: NetworkConfig): readonly Attachment[] {
  const value = config.raw[VALID_ATTACHMENTS_KEY];
  if (value === undefined) throw invalidConfig(`${VALID_ATTACHMENTS_KEY}: required for GC`);
  if (!Array.isArray(value)) throw invalidConfig(`${VALID_ATTACHMENTS_KEY}: must be an array`);
  return value.map((entry: unknown, i) => {
    const path = `${VALID_ATTACHMENTS_KEY}[${i}]`;
    if (!isObject(entry)) throw invalidConfig(`${path}: must be an object`);
    const containerId = nonEmptyString(entry.containerID, `${path}.containerID`);
    const ifname = nonEmptyString(entry.ifname, `${path}.ifname`);
    const problem = containerIdProblem(containerId) ?? ifnameProblem(ifname);
    if (problem !== undefined) throw invalidConfig(`${path}.${containerIdProblem(containerId) === undefined ? 'ifname' : 'containerID'}: ${problem}`);
    return { containerId, ifname };
  });
}

function nonEmptyString(value: unknown, path: string): string {
  if (typeof value !== 'string' || value === '') throw invalidConfig(`${path}: must be a non-empty string, got ${JSON.stringify(value) ?? 'nothing'}`);
  return value;
}

function optionalObject(value: unknown, path: string): JsonObject | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) throw invalidConfig(`${path}: must be an object`);
  return value;
}

function optionalStringArray(value: unknown, path: string): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw invalidConfig(`${path}: must be an array of strings`);
  return value.map((item: unknown, i) => nonEmptyString(item, `${path}[${i}]`));
}
