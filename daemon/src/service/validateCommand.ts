// Field rules shared by every RPC; a violation names the field and the value.
import { InvalidArgumentError } from '../errors.ts';

const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.\-]*$/;
const MAX_ID_LENGTH = 256;
const MAX_IFNAME_LENGTH = 15;

export function requireContainerId(value: string, field = 'container_id'): void {
  if (value.length === 0) throw new InvalidArgumentError(`${field} is required`);
  if (value.length > MAX_ID_LENGTH) throw new InvalidArgumentError(`${field} is longer than ${MAX_ID_LENGTH} characters`);
  if (!CONTAINER_ID.test(value)) throw new InvalidArgumentError(`${field} ${JSON.stringify(value)} may hold only letters, digits, "_", "." and "-" and must start with a letter or digit`);
}

export function requireIfname(value: string, field = 'ifname'): void {
  if (value.length === 0) throw new InvalidArgumentError(`${field} is required`);
  if (value.length > MAX_IFNAME_LENGTH) throw new InvalidArgumentError(`${field} ${JSON.stringify(value)} is longer than ${MAX_IFNAME_LENGTH} characters`);
  if (value === '.' || value === '..' || /[/:\s]/.test(value)) throw new InvalidArgumentError(`${field} ${JSON.stringify(value)} is not a valid interface name`);
}

export function requireShortText(value: string, field: string): void {
  if (value.length > MAX_ID_LENGTH * 4) throw new InvalidArgumentError(`${field} is longer than ${MAX_ID_LENGTH * 4} characters`);
}

export function requireDistinct(values: readonly string[], field: string): void {
  const seen = new Set<string>();
  for (const [i, value] of values.entries()) {
    if (value.length === 0) throw new InvalidArgumentError(`${field}[${i}] is empty`);
    if (seen.has(value)) throw new InvalidArgumentError(`${field}[${i}] "${value}" is named twice`);
    seen.add(value);
  }
}

const MAX_LABELS = 64;

/** A label map from a request (pod labels, a selector): bounded, with non-empty keys. */
export function requireLabels(labels: Readonly<Record<string, string>>, field: string): void {
  const entries = Object.entries(labels);
  if (entries.length > MAX_LABELS) throw new InvalidArgumentError(`${field} has ${entries.length} labels; at most ${MAX_LABELS}`);
  for (const [key, value] of entries) {
    if (key.length === 0) throw new InvalidArgumentError(`${field} has an empty label name`);
    requireShortText(key, `${field} label name`);
    requireShortText(value, `${field}.${key}`);
  }
}
