// What berth keeps under its etcd prefix, and the only place values are encoded and decoded.
// Everything read back is validated field by field: a garbage value or a foreign key becomes a
// ClusterDataError naming the key and the field, never a crash and never trusted data.
//
//   <prefix>/pools/<pool>               PoolRecord   first writer records the definition
//   <prefix>/blocks/<pool>/<addr>-<len> BlockRecord  ownership; no lease, so an outage never loses it
//   <prefix>/nodes/<node>               NodeRecord   leased: present while the node is alive
//   <prefix>/usage/<node>               UsageRecord  per-block used/free, written at a bounded rate
import { formatAddress, parseAddress, type Cidr } from '../ip/address.ts';
import { ClusterDataError } from './clusterErrors.ts';

export const DEFAULT_PREFIX = '/berth';
const POOL_NAME = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/;
// Kubernetes node names are DNS subdomains; hostnames outside Kubernetes may carry capitals and underscores.
const NODE_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$/;
const MAX_VALUE_BYTES = 1 << 20;

export function isPoolName(name: unknown): name is string {
  return typeof name === 'string' && POOL_NAME.test(name);
}
export function isNodeName(name: unknown): name is string {
  return typeof name === 'string' && NODE_NAME.test(name);
}

/** Normalises a prefix: leading "/", no trailing "/". Refuses empty segments and "..". */
export function normalisePrefix(prefix: string): string {
  const trimmed = prefix.replace(/\/+$/, '');
  const withSlash = trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
  if (withSlash === '/' || withSlash.split('/').slice(1).some((part) => part === '' || part === '..' || part === '.')) {
    throw new Error(`etcd prefix "${prefix}" must be a path like /berth`);
  }
  return withSlash;
}

export class ClusterKeys {
  readonly prefix: string;
  constructor(prefix = DEFAULT_PREFIX) {
    this.prefix = normalisePrefix(prefix);
  }
  poolsPrefix(): string { return `${this.prefix}/pools/`; }
  pool(name: string): string { return `${this.prefix}/pools/${name}`; }
  blocksPrefix(pool?: string): string { return pool === undefined ? `${this.prefix}/blocks/` : `${this.prefix}/blocks/${pool}/`; }
  block(pool: string, cidr: Pick<Cidr, 'family' | 'network' | 'prefixLength'>): string {
    return `${this.blocksPrefix(pool)}${blockKeySegment(cidr)}`;
  }
  nodesPrefix(): string { return `${this.prefix}/nodes/`; }
  node(name: string): string { return `${this.prefix}/nodes/${name}`; }
  usagePrefix(): string { return `${this.prefix}/usage/`; }
  usage(node: string): string { return `${this.prefix}/usage/${node}`; }
}

/** "10.0.0.64/26" is stored as "10.0.0.64-26": a "/" would read as another key level. */
export function blockKeySegment(cidr: Pick<Cidr, 'family' | 'network' | 'prefixLength'>): string {
  return `${formatAddress(cidr.network, cidr.family)}-${cidr.prefixLength}`;
}

/** Parses a block key segment; undefined unless canonical, aligned and of a sane length. */
export function parseBlockKeySegment(segment: string): Cidr | undefined {
  const dash = segment.lastIndexOf('-');
  if (dash <= 0) return undefined;
  const lengthText = segment.slice(dash + 1);
  if (!/^\d{1,3}$/.test(lengthText)) return undefined;
  let address;
  try {
    address = parseAddress(segment.slice(0, dash));
  } catch {
    return undefined;
  }
  const prefixLength = Number(lengthText);
  const bits = address.family === 4 ? 32 : 128;
  if (prefixLength > bits) return undefined;
  const hostBits = BigInt(bits - prefixLength);
  if ((address.value >> hostBits) << hostBits !== address.value) return undefined;
  if (formatAddress(address.value, address.family) !== segment.slice(0, dash)) return undefined;
  return { family: address.family, network: address.value, prefixLength, address: address.value };
}

export interface BlockRecord {
  readonly node: string;
  /** node + nonce: tells this claim apart from any other, so a lost reply is resolved by reading it back. */
  readonly token: string;
  /** ISO-8601. */
  readonly claimedAt: string;
  /** Hash of the pool definition the block was claimed under. */
  readonly poolHash: string;
}

export interface NodeRecord {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /**
   * ISO-8601: when the node (re)wrote its liveness key. The key itself is the proof of life; for a
   * fresher "last seen" take the later of this and the node's usage `reportedAt`.
   */
  readonly lastSeen: string;
}

export interface BlockUsage {
  readonly pool: string;
  /** CIDR text, "10.0.0.64/26". */
  readonly cidr: string;
  readonly used: number;
  readonly free: number;
}

export interface UsageRecord {
  readonly node: string;
  /** ISO-8601. */
  readonly reportedAt: string;
  readonly blocks: readonly BlockUsage[];
}

export interface PoolRecord {
  /** The definition as canonical JSON (see poolDefinition.ts). */
  readonly definition: string;
  readonly hash: string;
  readonly recordedBy: string;
  /** ISO-8601. */
  readonly recordedAt: string;
}

export function encodeRecord(record: BlockRecord | NodeRecord | UsageRecord | PoolRecord): string {
  return JSON.stringify({ v: 1, ...record });
}

type Fields = Record<string, unknown>;

function parseObject(key: string, value: string): Fields {
  if (value.length > MAX_VALUE_BYTES) throw new ClusterDataError(key, `value of ${value.length} bytes is larger than any berth record`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new ClusterDataError(key, `value is not JSON: ${JSON.stringify(value.slice(0, 60))}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ClusterDataError(key, 'value is not a JSON object');
  const fields = parsed as Fields;
  if (fields.v !== 1) throw new ClusterDataError(key, `field "v": expected record version 1, got ${JSON.stringify(fields.v)}`);
  return fields;
}

function field(key: string, fields: Fields, name: string, check: (v: unknown) => boolean, expected: string, path = name): unknown {
  const value = fields[name];
  if (!check(value)) throw new ClusterDataError(key, `field "${path}": expected ${expected}, got ${JSON.stringify(value)?.slice(0, 60) ?? 'nothing'}`);
  return value;
}

const isIsoTime = (v: unknown) => typeof v === 'string' && v.length <= 40 && !Number.isNaN(Date.parse(v));
const isShortString = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= 512;
const isCount = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

export function decodeBlockRecord(key: string, value: string): BlockRecord {
  const f = parseObject(key, value);
  const node = field(key, f, 'node', isNodeName, 'a node name') as string;
  const token = field(key, f, 'token', (v) => isShortString(v) && (v as string).startsWith(`${node}/`), `a claim token "${node}/<nonce>"`) as string;
  const claimedAt = field(key, f, 'claimedAt', isIsoTime, 'an ISO-8601 time') as string;
  const poolHash = field(key, f, 'poolHash', (v) => typeof v === 'string' && /^[0-9a-f]{16,64}$/.test(v), 'a hex hash') as string;
  return { node, token, claimedAt, poolHash };
}

function isLabels(v: unknown): boolean {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const entries = Object.entries(v as Fields);
  return entries.length <= 256 && entries.every(([k, val]) => k.length > 0 && k.length <= 317 && typeof val === 'string' && val.length <= 63);
}

export function decodeNodeRecord(key: string, value: string): NodeRecord {
  const f = parseObject(key, value);
  const name = field(key, f, 'name', isNodeName, 'a node name') as string;
  const labels = field(key, f, 'labels', isLabels, 'an object of string labels') as Record<string, string>;
  const lastSeen = field(key, f, 'lastSeen', isIsoTime, 'an ISO-8601 time') as string;
  return { name, labels, lastSeen };
}

export function decodeUsageRecord(key: string, value: string): UsageRecord {
  const f = parseObject(key, value);
  const node = field(key, f, 'node', isNodeName, 'a node name') as string;
  const reportedAt = field(key, f, 'reportedAt', isIsoTime, 'an ISO-8601 time') as string;
  const list = field(key, f, 'blocks', (v) => Array.isArray(v) && v.length <= 100_000, 'a list of block usages') as unknown[];
  const blocks = list.map((item, i): BlockUsage => {
    if (item === null || typeof item !== 'object') throw new ClusterDataError(key, `field "blocks[${i}]": expected an object`);
    const b = item as Fields;
    return {
      pool: field(key, b, 'pool', isPoolName, 'a pool name', `blocks[${i}].pool`) as string,
      cidr: field(key, b, 'cidr', (v) => typeof v === 'string' && parseBlockKeySegment(v.replace('/', '-')) !== undefined, 'a block CIDR', `blocks[${i}].cidr`) as string,
      used: field(key, b, 'used', isCount, 'a count', `blocks[${i}].used`) as number,
      free: field(key, b, 'free', isCount, 'a count', `blocks[${i}].free`) as number,
    };
  });
  return { node, reportedAt, blocks };
}

export function decodePoolRecord(key: string, value: string): PoolRecord {
  const f = parseObject(key, value);
  const definition = field(key, f, 'definition', (v) => typeof v === 'string' && v.length > 0, 'the definition as JSON text') as string;
  const hash = field(key, f, 'hash', (v) => typeof v === 'string' && /^[0-9a-f]{16,64}$/.test(v), 'a hex hash') as string;
  const recordedBy = field(key, f, 'recordedBy', isNodeName, 'a node name') as string;
  const recordedAt = field(key, f, 'recordedAt', isIsoTime, 'an ISO-8601 time') as string;
  return { definition, hash, recordedBy, recordedAt };
}

/**
 * Decodes every entry of a listing: an entry `decode` refuses with a ClusterDataError becomes a
 * problem (reported, never trusted); any other error is thrown.
 */
export function decodeEntries<E extends { key: string; value: string }, T>(entries: readonly E[],
  decode: (entry: E) => T): { records: T[]; problems: ClusterDataError[] } {
  const records: T[] = [];
  const problems: ClusterDataError[] = [];
  for (const entry of entries) {
    try {
      records.push(decode(entry));
    } catch (error) {
      if (!(error instanceof ClusterDataError)) throw error;
      problems.push(error);
    }
  }
  return { records, problems };
}

/** A node record whose name is the one its key carries. */
export function decodeNodeEntry(keys: ClusterKeys, entry: { key: string; value: string }): NodeRecord {
  const record = decodeNodeRecord(entry.key, entry.value);
  if (keys.node(record.name) !== entry.key) throw new ClusterDataError(entry.key, `field "name": "${record.name}" does not match the key`);
  return record;
}

/** A usage record whose node is the one its key carries. */
export function decodeUsageEntry(keys: ClusterKeys, entry: { key: string; value: string }): UsageRecord {
  const record = decodeUsageRecord(entry.key, entry.value);
  if (keys.usage(record.node) !== entry.key) throw new ClusterDataError(entry.key, `field "node": "${record.node}" does not match the key`);
  return record;
}
