// The error a CNI plugin prints: {"cniVersion","code","msg","details"} on stdout with a non-zero exit.
import { CniCode } from '../../../daemon/src/errors.ts';

export class CniError extends Error {
  constructor(readonly code: number, msg: string, readonly details = '') {
    super(msg);
    this.name = 'CniError';
  }

  toJson(cniVersion: string): string {
    return JSON.stringify({ cniVersion, code: this.code, msg: this.message, details: this.details });
  }
}

/** Wraps anything thrown that is not already a CniError: a bug in the shim, never a 999. */
export function asCniError(error: unknown): CniError {
  if (error instanceof CniError) return error;
  const text = error instanceof Error ? error.message : String(error);
  return new CniError(CniCode.INTERNAL, `internal error in the berth CNI plugin: ${text}`);
}
