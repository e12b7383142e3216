// The one place where errors become gRPC statuses. Total: whatever the error holds (a pool name
// with non-ASCII or control characters, lone surrogates), the status it gives can be sent.
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { BerthError, CNI_CODE_TRAILER, encodeTrailerValue, errorReasons, REASON_TRAILER, type ErrorReason } from '../errors.ts';
import { wellFormed } from '../fieldRules.ts';

export interface StatusOf {
  readonly reason: ErrorReason;
  readonly error: Partial<ServiceError>;
}

// Detail trailer keys come from code, but a key must still be a valid header name.
const TRAILER_KEY = /^[a-z0-9_.-]+$/;

export function toGrpcStatus(error: unknown, requestId: string): StatusOf {
  const known = error instanceof BerthError;
  const reason: ErrorReason = known ? error.reason : 'INTERNAL';
  const entry = errorReasons[reason];
  const metadata = new Metadata();
  metadata.set(REASON_TRAILER, reason);
  metadata.set(CNI_CODE_TRAILER, String(entry.cni));
  if (known) {
    for (const [key, value] of Object.entries(error.details)) {
      const name = `berth-${key.toLowerCase()}`;
      if (TRAILER_KEY.test(name)) metadata.set(name, encodeTrailerValue(String(value)));
    }
  }
  // grpc-js percent-encodes the message with encodeURI, which throws on a lone surrogate.
  if (!known) metadata.set('berth-request-id', encodeTrailerValue(requestId));
  const details = known ? wellFormed(error.message) : `internal error in berthd (request id ${requestId}); see the daemon log`;
  return { reason, error: { code: entry.grpc as status, details, metadata } };
}

/** The status of last resort, built from constants only: used when even translating an error failed. */
export function internalStatus(requestId: string): Partial<ServiceError> {
  const metadata = new Metadata();
  metadata.set(REASON_TRAILER, 'INTERNAL');
  metadata.set(CNI_CODE_TRAILER, String(errorReasons.INTERNAL.cni));
  metadata.set('berth-request-id', encodeTrailerValue(requestId));
  return { code: status.INTERNAL, details: `internal error in berthd (request id ${requestId}); see the daemon log`, metadata };
}

/**
 * Answers a failed call: its own status, or the status of last resort when even building that
 * throws. `finish` records the outcome (metrics, log) before `answer` sends it.
 */
export function answerFailure(error: unknown, requestId: string,
  finish: (reason: string, error: unknown) => void, answer: (status: Partial<ServiceError>) => void): void {
  try {
    const { reason, error: status } = toGrpcStatus(error, requestId);
    finish(reason, error);
    answer(status);
  } catch (failure) {
    finish('INTERNAL', failure);
    answer(internalStatus(requestId));
  }
}
