// The last line of the one error path: every status berthd sends passes through here, including
// those grpc-js sends itself before any handler runs (a request over the size limit, a request
// that is not protobuf). Those get berth's reason and CNI code too, and no status may carry a value
// that cannot be encoded (which would throw inside grpc-js).
import { Metadata, status as GrpcCode, type ServerInterceptingCallInterface, type ServerInterceptor, type StatusObject } from '@grpc/grpc-js';
import { CNI_CODE_TRAILER, errorReasons, REASON_TRAILER, type ErrorReason } from '../errors.ts';
import { wellFormed } from '../fieldRules.ts';
import { IPAM_SERVICE } from './protoDefinition.ts';

type PartialStatus = Partial<StatusObject>;

/** Wraps the call's own sendStatus: grpc-js calls it directly for failures found while reading the request. */
export const statusGuard: ServerInterceptor = (method, call) => {
  // Health and reflection answer in their own terms (NOT_FOUND for an unknown service is theirs).
  const berthMethod = method.path.startsWith(`/${IPAM_SERVICE}/`);
  const send = call.sendStatus.bind(call) as (status: PartialStatus) => void;
  (call as { sendStatus: (status: PartialStatus) => void }).sendStatus = (status) => {
    let guarded: PartialStatus;
    try {
      guarded = guardStatus(status, berthMethod);
    } catch {
      guarded = { code: GrpcCode.INTERNAL, details: 'internal error in berthd while sending a status; see the daemon log', metadata: reasonMetadata('INTERNAL') };
    }
    send(guarded);
  };
  return call as ReturnType<ServerInterceptor> & ServerInterceptingCallInterface;
};

export function guardStatus(status: PartialStatus, berthMethod = true): PartialStatus {
  const code = status.code ?? GrpcCode.UNKNOWN;
  const details = wellFormed(String(status.details ?? ''));
  if (code === GrpcCode.OK || !berthMethod) return { ...status, details };
  const metadata = status.metadata ?? new Metadata();
  if (metadata.get(REASON_TRAILER).length > 0) return { ...status, details, metadata };
  const reason = reasonOfBareStatus(code, details);
  if (reason === undefined) return { ...status, details, metadata };
  const merged = metadata.clone();
  merged.merge(reasonMetadata(reason));
  const explained = reason === 'REQUEST_TOO_LARGE' ? `request refused: ${details} (berthd takes requests up to 1 MiB; split it)` : details;
  return { ...status, code: errorReasons[reason].grpc, details: explained, metadata: merged };
}

/** What grpc-js itself reports, as berth's reasons; berth's own statuses already carry one. */
function reasonOfBareStatus(code: number, details: string): ErrorReason | undefined {
  if (code === GrpcCode.RESOURCE_EXHAUSTED && /larger than/i.test(details)) return 'REQUEST_TOO_LARGE';
  // Not protobuf, no request message, or two of them on a unary call: the request is malformed.
  if (code === GrpcCode.INTERNAL && /deseriali[sz]|decompress/i.test(details)) return 'INVALID_ARGUMENT';
  if (code === GrpcCode.UNIMPLEMENTED && /request message/i.test(details)) return 'INVALID_ARGUMENT';
  // A handler that threw past berth's own catch (grpc-js answers UNKNOWN): berth's bug, say so.
  if (code === GrpcCode.UNKNOWN) return 'INTERNAL';
  return undefined;
}

function reasonMetadata(reason: ErrorReason): Metadata {
  const metadata = new Metadata();
  metadata.set(REASON_TRAILER, reason);
  metadata.set(CNI_CODE_TRAILER, String(errorReasons[reason].cni));
  return metadata;
}
