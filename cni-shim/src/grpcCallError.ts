// A failed call to berthd, as gRPC reported it (or as the transport failed); cniTranslation.ts
// turns it into what the runtime reads.
import { GrpcStatus } from '../../daemon/src/errors.ts';

export class GrpcCallError extends Error {
  override readonly name = 'GrpcCallError';
  constructor(
    readonly method: string,
    readonly code: number,
    /** grpc-message, or the transport failure (e.g. "connect ENOENT /run/berth/berthd.sock"). */
    readonly detail: string,
    /** Response metadata with string values (headers and trailers merged). */
    readonly trailers: Readonly<Record<string, string>>,
    readonly socketPath: string,
    readonly attempts: number,
    /** True when no gRPC status came back: connect failed, the stream broke, or the deadline passed. */
    readonly transport: boolean,
  ) {
    super(`${method}: ${statusName(code)}: ${detail}`);
  }
}

export function statusName(code: number): string {
  return Object.entries(GrpcStatus).find(([, value]) => value === code)?.[0] ?? `status ${code}`;
}
