// The one place where daemon failures become CNI errors. Never 999: a runtime acts on the code.
import { CNI_CODE_TRAILER, CniCode, decodeTrailerValue, errorReasons, GrpcStatus, isErrorReason, REASON_TRAILER } from '../../daemon/src/errors.ts';
import { CniError } from './cni/cniError.ts';
import { GrpcCallError, statusName } from './grpcCallError.ts';

const DETAIL_TRAILER_PREFIX = 'berth-';

export function cniErrorOf(error: GrpcCallError): CniError {
  const reason = error.trailers[REASON_TRAILER];
  if (reason !== undefined && isErrorReason(reason)) {
    const sent = Number(error.trailers[CNI_CODE_TRAILER]);
    const code = Number.isInteger(sent) && sent > 0 ? sent : errorReasons[reason].cni;
    const extra = Object.entries(error.trailers)
      .filter(([key]) => key.startsWith(DETAIL_TRAILER_PREFIX) && key !== REASON_TRAILER && key !== CNI_CODE_TRAILER)
      .map(([key, value]) => `${key.slice(DETAIL_TRAILER_PREFIX.length)}=${decodeTrailerValue(value)}`);
    return new CniError(code, error.detail, [`reason=${reason}`, ...extra].join('; '));
  }
  if (error.transport || error.code === GrpcStatus.UNAVAILABLE || error.code === GrpcStatus.DEADLINE_EXCEEDED) {
    return unreachable(error, CniCode.TRY_AGAIN_LATER);
  }
  return new CniError(CniCode.INTERNAL, `berthd ${error.method} failed with gRPC status ${statusName(error.code)}: ${error.detail}`,
    `socket=${error.socketPath}`);
}

/**
 * STATUS: a daemon that cannot be reached means the plugin is not available (50), not "retry";
 * so does a pool it names that berthd does not serve (CNI STATUS answers with 50/51, not 101).
 */
export function statusErrorOf(error: GrpcCallError): CniError {
  const translated = cniErrorOf(error);
  if (translated.code === CniCode.UNKNOWN_POOL) return new CniError(CniCode.NOT_AVAILABLE, translated.message, translated.details);
  if (translated.code !== CniCode.TRY_AGAIN_LATER) return translated;
  return unreachable(error, CniCode.NOT_AVAILABLE);
}

function unreachable(error: GrpcCallError, code: number): CniError {
  const tries = error.attempts === 1 ? '1 attempt' : `${error.attempts} attempts`;
  return new CniError(code, `berthd is not reachable on ${error.socketPath}: ${error.detail} (${tries})`,
    `method=${error.method}; status=${statusName(error.code)}; is berthd running and listening there?`);
}
