// A cluster pool as every node must agree on it. The engine interprets subnet, blockSize and
// exclude (block carving); `settings` carries the rest of the config entry (gateway policy,
// routes, dns, nodeSelector) and is only compared, as canonical JSON.
import { createHash } from 'node:crypto';
import { familyBits, formatCidr, parseAddressWithOptionalPrefix, parseCidr, type Cidr } from '../ip/address.ts';
import { isPoolName } from './clusterRecords.ts';

export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

export interface ClusterPoolDefinition {
  readonly name: string;
  /** CIDR text; host bits zero. */
  readonly subnet: string;
  /** Prefix length of one block (IPv4 default 26, IPv6 default 122); at least the subnet's. */
  readonly blockSize: number;
  /** Addresses or CIDRs never handed out. A block wholly inside them is never claimed. */
  readonly exclude: readonly string[];
  /** The rest of the pool's config, compared across nodes but not interpreted here. */
  readonly settings?: { readonly [key: string]: JsonValue };
}

export const DEFAULT_BLOCK_SIZE = { 4: 26, 6: 122 } as const;

/** The definition parsed for arithmetic. */
export interface CarvedPool {
  readonly name: string;
  readonly subnet: Cidr;
  /** Canonical CIDR text of the subnet. */
  readonly subnetText: string;
  readonly blockSize: number;
  /** Excluded addresses as inclusive intervals, sorted and merged. */
  readonly excluded: readonly { start: bigint; end: bigint }[];
  /** Canonical JSON of the definition (what is stored and compared). */
  readonly canonical: string;
  /** sha256 of `canonical`, hex, first 32 characters. */
  readonly hash: string;
}

/** Validates and canonicalises a definition; errors name the field (`clusterPools[blue].blockSize: ...`). */
export function carvePool(definition: ClusterPoolDefinition): CarvedPool {
  const at = `clusterPools[${String(definition.name)}]`;
  if (!isPoolName(definition.name)) throw new Error(`${at}.name: "${String(definition.name)}" is not a pool name (lowercase letters, digits, . _ -)`);
  let subnet: Cidr;
  try {
    subnet = parseCidr(definition.subnet);
  } catch (error) {
    throw new Error(`${at}.subnet: ${(error as Error).message}`);
  }
  if (subnet.network !== subnet.address) throw new Error(`${at}.subnet: ${definition.subnet} has host bits set`);
  const bits = familyBits(subnet.family);
  const blockSize = definition.blockSize;
  if (!Number.isInteger(blockSize) || blockSize < subnet.prefixLength || blockSize > bits) {
    throw new Error(`${at}.blockSize: ${String(blockSize)} must be a prefix length from ${subnet.prefixLength} to ${bits}`);
  }
  const subnetEnd = subnet.network + (1n << BigInt(bits - subnet.prefixLength)) - 1n;
  const intervals: { start: bigint; end: bigint }[] = [];
  const excludeText: string[] = [];
  (definition.exclude ?? []).forEach((text, i) => {
    let parsed;
    try {
      parsed = parseAddressWithOptionalPrefix(text);
    } catch (error) {
      throw new Error(`${at}.exclude[${i}]: ${(error as Error).message}`);
    }
    if (parsed.family !== subnet.family) throw new Error(`${at}.exclude[${i}]: ${text} is not of the subnet's IP family`);
    const length = parsed.prefixLength ?? bits;
    const hostBits = BigInt(bits - length);
    const start = (parsed.value >> hostBits) << hostBits;
    const end = start + (1n << hostBits) - 1n;
    if (end < subnet.network || start > subnetEnd) throw new Error(`${at}.exclude[${i}]: ${text} is outside subnet ${definition.subnet}`);
    intervals.push({ start: start < subnet.network ? subnet.network : start, end: end > subnetEnd ? subnetEnd : end });
    excludeText.push(formatCidr(start, length, subnet.family));
  });
  const subnetText = formatCidr(subnet.network, subnet.prefixLength, subnet.family);
  const canonical = canonicalJson({
    name: definition.name,
    subnet: subnetText,
    blockSize,
    exclude: [...new Set(excludeText)].sort(),
    settings: definition.settings ?? {},
  });
  return { name: definition.name, subnet, subnetText, blockSize, excluded: mergeIntervals(intervals), canonical, hash: hashText(canonical) };
}

export function hashText(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

/** JSON with object keys sorted at every level, so equal definitions are equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function mergeIntervals(intervals: readonly { start: bigint; end: bigint }[]): { start: bigint; end: bigint }[] {
  const sorted = [...intervals].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const merged: { start: bigint; end: bigint }[] = [];
  for (const interval of sorted) {
    const last = merged[merged.length - 1];
    if (last && interval.start <= last.end + 1n) {
      if (interval.end > last.end) last.end = interval.end;
    } else {
      merged.push({ ...interval });
    }
  }
  return merged;
}

/** Two subnets of one family overlap iff one contains the other's network address. */
export function subnetsOverlap(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const shorter = Math.min(a.prefixLength, b.prefixLength);
  const hostBits = BigInt(familyBits(a.family) - shorter);
  return a.network >> hostBits === b.network >> hostBits;
}
