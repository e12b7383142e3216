// The one place where errors become gRPC statuses.
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { BerthError, CNI_CODE_TRAILER, errorReasons, REASON_TRAILER, type ErrorReason } from '../errors.ts';

export interface StatusOf {
  readonly reason: ErrorReason;
  readonly error: Partial<ServiceError>;
}

export function toGrpcStatus(error: unknown, requestId: string): StatusOf {
  const known = error instanceof BerthError;
  const reason: ErrorReason = known ? error.reason : 'INTERNAL';
  const entry = errorReasons[reason];
  const metadata = new Metadata();
  metadata.set(REASON_TRAILER, reason);
  metadata.set(CNI_CODE_TRAILER, String(entry.cni));
  if (known) for (const [key, value] of Object.entries(error.details)) metadata.set(`berth-${key.toLowerCase()}`, value);
  const details = known ? error.message : `internal error in berthd (request id ${requestId}); see the daemon log`;
  return { reason, error: { code: entry.grpc as status, details, metadata } };
}
