// Field parsers both pool kinds use. Each records a problem under its field path and returns
// undefined, so that every problem of a file is reported at once.
import { cidrBounds, formatAddress, formatCidr, IpParseError, parseAddress, parseCidr, type Cidr, type IpAddress, type IpFamily } from '../ip/address.ts';
import type { ConfigProblem } from './configError.ts';
import { editDistance } from './editDistance.ts';
import { DEFAULT_ADDRESS_SPACE, type PoolConfig, type PrefixPoolConfig } from './types.ts';

const POOL_NAME = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/;
const LABEL_KEY = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(?=.{1,63}$)[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;

export type Mapping = { readonly [key: string]: unknown };

export class Problems {
  readonly list: ConfigProblem[] = [];
  /** Keys still accepted under an old name: the file works, its owner should update it. */
  readonly deprecations: string[] = [];
  /** Records a problem; returns undefined so that parsers can `return problems.add(...)`. */
  add(path: string, message: string): undefined {
    this.list.push({ path, message });
    return undefined;
  }
}

/** Longest reclaim delay: a week. */
const MAX_RECLAIM_DELAY_SECONDS = 7 * 24 * 3600;

export interface ParsedPool<C = PoolConfig | PrefixPoolConfig> {
  readonly name?: string;
  readonly addressSpace: string;
  readonly subnet?: Cidr;
  /** Present only when the pool had no problems of its own. */
  readonly config?: C;
}

export interface CommonFields {
  readonly name?: string;
  readonly addressSpace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly subnet?: Cidr;
  readonly reclaimDelaySeconds: number;
}

export function parseCommon(entry: Mapping, path: string, problems: Problems): CommonFields {
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

/** The settings both pool kinds carry, once their own checks passed. */
export function sharedSettings(name: string, common: CommonFields, subnet: Cidr) {
  return { name, addressSpace: common.addressSpace, labels: common.labels, family: subnet.family, subnet, reclaimDelaySeconds: common.reclaimDelaySeconds };
}

/** Unknown keys are problems, with a suggestion; a key of the other pool kind says so. */
export function checkKeys(value: Mapping, path: string, allowed: readonly string[], problems: Problems, otherKind?: { readonly name: string; readonly keys: readonly string[] }): void {
  for (const key of Object.keys(value)) {
    if (allowed.includes(key)) continue;
    if (otherKind !== undefined && otherKind.keys.includes(key)) {
      problems.add(`${path}.${key}`, `is not used by ${otherKind.name}`);
      continue;
    }
    const suggestion = allowed.find((candidate) => editDistance(key.toLowerCase(), candidate) <= 2);
    const hint = suggestion === undefined ? `expected ${allowed.length === 1 ? `"${allowed[0]}"` : `one of ${allowed.join(', ')}`}` : `did you mean "${suggestion}"?`;
    problems.add(path === '' ? key : `${path}.${key}`, `unknown key (${hint})`);
  }
}

/** The name of a pool or of an address space. */
function parseName(value: unknown, path: string, problems: Problems, what = 'pool'): string | undefined {
  if (value === undefined) return problems.add(path, 'is required');
  if (typeof value !== 'string') return problems.add(path, `must be a string, not ${describeType(value)}`);
  if (!POOL_NAME.test(value)) {
    return problems.add(path, `${show(value)} is not a valid ${what} name: 1 to 63 lowercase letters, digits, ".", "_" or "-", starting and ending with a letter or digit`);
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

function parseSubnet(value: unknown, path: string, problems: Problems): Cidr | undefined {
  if (value === undefined) return problems.add(path, 'is required: a CIDR such as 10.244.0.0/24 or fd00:244::/64');
  return parseCidrField(value, path, undefined, problems);
}

/** A resolv.conf token: non-empty, no whitespace. */
export function parseWord(value: unknown, path: string, problems: Problems): string | undefined {
  if (typeof value !== 'string') return problems.add(path, `must be a string, not ${describeType(value)}`);
  if (!/^\S+$/.test(value)) return problems.add(path, `${JSON.stringify(value)} must be non-empty and without spaces`);
  return value;
}

export function parseAddressField(value: unknown, path: string, family: IpFamily | undefined, problems: Problems, expected = 'an IP address'): IpAddress | undefined {
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
export function parseCidrField(value: unknown, path: string, family: IpFamily | undefined, problems: Problems): Cidr | undefined {
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

/** A gateway must be inside its subnet, and not its network or broadcast address. */
export function checkGateway(gateway: bigint, subnet: Pick<Cidr, 'family' | 'network' | 'prefixLength'>, path: string, problems: Problems): void {
  const bounds = cidrBounds(subnet);
  const shown = formatAddress(gateway, subnet.family);
  const subnetText = formatCidr(subnet.network, subnet.prefixLength, subnet.family);
  if (gateway < bounds.first || gateway > bounds.last) {
    problems.add(path, `${shown} is not inside subnet ${subnetText}`);
  } else if (subnet.family === 4 && subnet.prefixLength < 31 && (gateway === bounds.first || gateway === bounds.last)) {
    problems.add(path, `${shown} is the ${gateway === bounds.first ? 'network' : 'broadcast'} address of ${subnetText}`);
  }
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
