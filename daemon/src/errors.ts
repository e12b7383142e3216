// Every failure berth can report, defined once: its ErrorReason (proto), the gRPC status it
// travels as, and the CNI error code the shim prints. Pure data and classes: both the daemon
// (grpc/errorStatus.ts) and the shim (cni-shim) read this table.

/** gRPC status codes used here (values from the gRPC spec; no grpc-js import in this file). */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type GrpcStatusCode = (typeof GrpcStatus)[keyof typeof GrpcStatus];

/** CNI error codes: 0-99 from the CNI spec, 100+ berth's own. */
export const CniCode = {
  INCOMPATIBLE_VERSION: 1,
  UNSUPPORTED_FIELD: 2,
  UNKNOWN_CONTAINER: 3,
  INVALID_ENVIRONMENT: 4,
  IO_FAILURE: 5,
  DECODE_FAILURE: 6,
  INVALID_NETWORK_CONFIG: 7,
  TRY_AGAIN_LATER: 11,
  NOT_AVAILABLE: 50,
  POOL_EXHAUSTED: 100,
  UNKNOWN_POOL: 101,
  ADDRESS_IN_USE: 102,
  ADDRESS_OUTSIDE_POOL: 103,
  LEASE_MISSING: 104,
  LEASE_MISMATCH: 105,
  AMBIGUOUS_POOL_SELECTOR: 106,
  INTERNAL: 110,
} as const;
export type CniCodeValue = (typeof CniCode)[keyof typeof CniCode];

export const errorReasons = {
  INVALID_ARGUMENT: { grpc: GrpcStatus.INVALID_ARGUMENT, cni: CniCode.INVALID_NETWORK_CONFIG },
  UNKNOWN_POOL: { grpc: GrpcStatus.NOT_FOUND, cni: CniCode.UNKNOWN_POOL },
  POOL_EXHAUSTED: { grpc: GrpcStatus.RESOURCE_EXHAUSTED, cni: CniCode.POOL_EXHAUSTED },
  ADDRESS_IN_USE: { grpc: GrpcStatus.ALREADY_EXISTS, cni: CniCode.ADDRESS_IN_USE },
  ADDRESS_OUTSIDE_POOL: { grpc: GrpcStatus.INVALID_ARGUMENT, cni: CniCode.ADDRESS_OUTSIDE_POOL },
  LEASE_MISSING: { grpc: GrpcStatus.NOT_FOUND, cni: CniCode.LEASE_MISSING },
  LEASE_MISMATCH: { grpc: GrpcStatus.FAILED_PRECONDITION, cni: CniCode.LEASE_MISMATCH },
  OVERLOADED: { grpc: GrpcStatus.RESOURCE_EXHAUSTED, cni: CniCode.TRY_AGAIN_LATER },
  SHUTTING_DOWN: { grpc: GrpcStatus.UNAVAILABLE, cni: CniCode.TRY_AGAIN_LATER },
  STORE_FAILURE: { grpc: GrpcStatus.INTERNAL, cni: CniCode.IO_FAILURE },
  INTERNAL: { grpc: GrpcStatus.INTERNAL, cni: CniCode.INTERNAL },
  AMBIGUOUS_POOL_SELECTOR: { grpc: GrpcStatus.INVALID_ARGUMENT, cni: CniCode.AMBIGUOUS_POOL_SELECTOR },
  REQUEST_TOO_LARGE: { grpc: GrpcStatus.RESOURCE_EXHAUSTED, cni: CniCode.INVALID_NETWORK_CONFIG },
  // Not UNAVAILABLE: the plugin retries that until its timeout, and this must fail fast; the
  // node is up, only a new block cannot be claimed until the cluster store is back.
  CLUSTER_UNAVAILABLE: { grpc: GrpcStatus.FAILED_PRECONDITION, cni: CniCode.TRY_AGAIN_LATER },
  // The caller's deadline passed while the request waited for its turn: nothing was written,
  // the caller has gone (and will retry).
  DEADLINE_EXCEEDED: { grpc: GrpcStatus.DEADLINE_EXCEEDED, cni: CniCode.TRY_AGAIN_LATER },
} as const satisfies Record<string, { grpc: GrpcStatusCode; cni: CniCodeValue }>;
export type ErrorReason = keyof typeof errorReasons;

export function isErrorReason(value: string): value is ErrorReason {
  return Object.hasOwn(errorReasons, value);
}

/** Trailer keys that carry the reason and CNI code across the wire. */
export const REASON_TRAILER = 'berth-error-reason';
export const CNI_CODE_TRAILER = 'berth-cni-code';

/** Base of every domain error. The message is what an operator reads; it names the pool, address or field. */
export abstract class BerthError extends Error {
  abstract readonly reason: ErrorReason;
  constructor(message: string, readonly details: Record<string, string> = {}) {
    super(message);
    this.name = new.target.name;
  }
}

export class InvalidArgumentError extends BerthError {
  readonly reason = 'INVALID_ARGUMENT' as const;
}
export class UnknownPoolError extends BerthError {
  readonly reason = 'UNKNOWN_POOL' as const;
  constructor(readonly pool: string, known: readonly string[], message?: string) {
    super(message ?? `unknown pool "${pool}" (configured: ${known.length > 0 ? known.join(', ') : 'none'})`, { pool });
  }
}
export class PoolExhaustedError extends BerthError {
  readonly reason = 'POOL_EXHAUSTED' as const;
  constructor(readonly pool: string, size: bigint, what = 'addresses are leased or cooling down') {
    super(`pool "${pool}" is exhausted: all ${size} ${what}`, { pool });
  }
}
export class AmbiguousPoolSelectorError extends BerthError {
  readonly reason = 'AMBIGUOUS_POOL_SELECTOR' as const;
}
export class AddressInUseError extends BerthError {
  readonly reason = 'ADDRESS_IN_USE' as const;
  /** coolingSecondsLeft: the holder released it and it is cooling down (reclaim delay). */
  constructor(readonly address: string, pool: string, holder: { containerId: string; ifname: string; podNamespace?: string; podName?: string }, coolingSecondsLeft?: number) {
    const pod = holder.podName ? ` (pod ${holder.podNamespace ?? ''}/${holder.podName})` : '';
    const who = `container ${holder.containerId} ifname ${holder.ifname}${pod}`;
    super(coolingSecondsLeft === undefined
      ? `address ${address} in pool "${pool}" is leased to ${who}`
      : `address ${address} in pool "${pool}" is cooling down after ${who} released it; it is free for others in ${coolingSecondsLeft} s`,
      { pool, address, containerId: holder.containerId, ifname: holder.ifname });
  }
}
export class AddressOutsidePoolError extends BerthError {
  readonly reason = 'ADDRESS_OUTSIDE_POOL' as const;
}
export class LeaseMissingError extends BerthError {
  readonly reason = 'LEASE_MISSING' as const;
}
export class LeaseMismatchError extends BerthError {
  readonly reason = 'LEASE_MISMATCH' as const;
}
export class OverloadedError extends BerthError {
  readonly reason = 'OVERLOADED' as const;
}
export class ShuttingDownError extends BerthError {
  readonly reason = 'SHUTTING_DOWN' as const;
}
/** A cluster pool needs a new block and the cluster store cannot be reached (degraded mode). */
export class ClusterUnavailableForPoolError extends BerthError {
  readonly reason = 'CLUSTER_UNAVAILABLE' as const;
  constructor(readonly pool: string, outage: string) {
    super(`cluster pool "${pool}" has no free address in the blocks this node owns, and no new block can be claimed: ${outage}; retry when the cluster store is back`, { pool });
  }
}
/** The request's deadline passed before its work reached the database: it was not done. */
export class DeadlineExceededError extends BerthError {
  readonly reason = 'DEADLINE_EXCEEDED' as const;
}
export class StoreFailureError extends BerthError {
  readonly reason = 'STORE_FAILURE' as const;
}
export class PrefixInUseError extends BerthError {
  readonly reason = 'ADDRESS_IN_USE' as const;
  /** coolingSecondsLeft: the holder released it and it is cooling down (reclaim delay). */
  constructor(readonly prefix: string, pool: string, holder: { owner: string; prefix: string }, coolingSecondsLeft?: number, message?: string) {
    const overlap = holder.prefix === prefix ? '' : ` (it overlaps ${holder.prefix})`;
    super(message ?? (coolingSecondsLeft === undefined
      ? `prefix ${prefix} in pool "${pool}" is held by owner "${holder.owner}"${overlap}`
      : `prefix ${prefix} in pool "${pool}" is cooling down after owner "${holder.owner}" released it${overlap}; it is free for others in ${coolingSecondsLeft} s`),
      { pool, prefix, owner: holder.owner });
  }
}
/** An import (berthctl import) refused as a whole: every conflict is named. */
export class ImportConflictsError extends BerthError {
  readonly reason = 'ADDRESS_IN_USE' as const;
  /** `total`: how many there were, when only the first few were kept (a streamed import). */
  constructor(conflicts: readonly string[], total = conflicts.length) {
    super(`import refused, nothing was imported: ${total} conflict(s): ${conflicts.slice(0, 20).join('; ')}${total > 20 ? '; ...' : ''}`);
  }
}

/**
 * A trailer value as it may travel: HTTP/2 header values (and grpc-js) take printable ASCII only,
 * and a value that is not crashes the call's status write. Every UTF-8 byte outside 0x20-0x7e,
 * and "%" itself, is percent-encoded; decodeTrailerValue gives the text back.
 */
export function encodeTrailerValue(value: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(value)) return value;
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function decodeTrailerValue(value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
