// Addresses as numbers. The only module that imports ip-address: everything else works on
// bigint values tagged with their family, and converts to text only at the edges.
import { Address4, Address6 } from 'ip-address';

export type IpFamily = 4 | 6;

export interface IpAddress {
  readonly family: IpFamily;
  readonly value: bigint;
}

/** A subnet: `network` is the first address, `prefixLength` the mask length. */
export interface Cidr {
  readonly family: IpFamily;
  readonly network: bigint;
  readonly prefixLength: number;
  /** The address as written before masking (e.g. 10.0.0.5 in "10.0.0.5/24"). */
  readonly address: bigint;
}

export class IpParseError extends Error {
  constructor(readonly input: string, reason: string) {
    super(`"${input}" is not ${reason}`);
    this.name = 'IpParseError';
  }
}

export function familyBits(family: IpFamily): number {
  return family === 4 ? 32 : 128;
}

const DOTTED_QUAD = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Parses a bare IPv4 or IPv6 address (no prefix, no zone). */
export function parseAddress(text: string): IpAddress {
  if (typeof text !== 'string' || text.length === 0 || text.length > 45) {
    throw new IpParseError(String(text), 'an IP address');
  }
  if (DOTTED_QUAD.test(text)) {
    return { family: 4, value: new Address4(text).bigInt() };
  }
  if (text.includes(':') && !text.includes('%') && !text.includes('/') && Address6.isValid(text)) {
    return { family: 6, value: new Address6(text).bigInt() };
  }
  throw new IpParseError(text, 'an IP address');
}

/** Parses "address/prefix". */
export function parseCidr(text: string): Cidr {
  if (typeof text !== 'string') throw new IpParseError(String(text), 'a CIDR');
  const slash = text.indexOf('/');
  if (slash < 0) throw new IpParseError(text, 'a CIDR (missing "/prefix")');
  const prefixText = text.slice(slash + 1);
  let address: IpAddress;
  try {
    address = parseAddress(text.slice(0, slash));
  } catch {
    throw new IpParseError(text, 'a CIDR (bad address)');
  }
  if (!/^\d{1,3}$/.test(prefixText)) throw new IpParseError(text, 'a CIDR (bad prefix length)');
  const prefixLength = Number(prefixText);
  if (prefixLength > familyBits(address.family)) throw new IpParseError(text, 'a CIDR (prefix length too long)');
  return { family: address.family, address: address.value, prefixLength, network: maskAddress(address.value, prefixLength, address.family) };
}

/** Parses "address" or "address/prefix"; the prefix, when present, is returned too. */
export function parseAddressWithOptionalPrefix(text: string): IpAddress & { prefixLength?: number } {
  if (typeof text === 'string' && text.includes('/')) {
    const cidr = parseCidr(text);
    return { family: cidr.family, value: cidr.address, prefixLength: cidr.prefixLength };
  }
  return parseAddress(text);
}

export function maskAddress(value: bigint, prefixLength: number, family: IpFamily): bigint {
  const hostBits = BigInt(familyBits(family) - prefixLength);
  return (value >> hostBits) << hostBits;
}

/** First and last address of a subnet. */
export function cidrBounds(cidr: Pick<Cidr, 'family' | 'network' | 'prefixLength'>): { first: bigint; last: bigint } {
  const hostBits = BigInt(familyBits(cidr.family) - cidr.prefixLength);
  return { first: cidr.network, last: cidr.network + (1n << hostBits) - 1n };
}

/**
 * Canonical text: dotted quad, or RFC 5952 for IPv6 (lowercase, no leading zeros, the longest run
 * of two or more zero groups, the first on a tie, as "::"). Hand-written rather than through
 * ip-address: it runs several times per request (the test compares it with ip-address).
 */
export function formatAddress(value: bigint, family: IpFamily): string {
  if (family === 4) {
    const n = Number(value);
    return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) { bestStart = i; bestLength = j - i; }
    i = j;
  }
  const hex = (from: number, to: number) => groups.slice(from, to).map((group) => group.toString(16)).join(':');
  return bestStart < 0 ? hex(0, 8) : `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}

export function formatCidr(value: bigint, prefixLength: number, family: IpFamily): string {
  return `${formatAddress(value, family)}/${prefixLength}`;
}

/** 16-byte big-endian key, so that keys sort like addresses in SQLite (IPv4 uses the low 4 bytes). */
export function addressKey(value: bigint): Buffer {
  const key = Buffer.alloc(16);
  key.writeBigUInt64BE(value >> 64n, 0);
  key.writeBigUInt64BE(value & 0xffff_ffff_ffff_ffffn, 8);
  return key;
}

export function addressFromKey(key: Uint8Array): bigint {
  const buf = Buffer.isBuffer(key) ? key : Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  return (buf.readBigUInt64BE(0) << 64n) | buf.readBigUInt64BE(8);
}
