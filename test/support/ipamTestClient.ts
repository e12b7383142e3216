// The tests' gRPC client: berthctl's own client, plus a helper that expects a failure.
import { connectIpam, IpamCallError } from '../../daemon/src/grpc/ipamClient.ts';

export interface IpamTestClient {
  call<T = Record<string, unknown>>(method: string, request?: object, timeoutMs?: number): Promise<T>;
  /** Resolves to the failure instead of throwing; throws if the call succeeded. */
  fail(method: string, request?: object): Promise<{ code: number; details: string; reason: string; cniCode: string }>;
  close(): void;
}

export function ipamClient(socketPath: string): IpamTestClient {
  const client = connectIpam(socketPath);
  return {
    call: (method, request, timeoutMs) => client.call(method, request, timeoutMs),
    fail: async (method, request) => {
      try {
        await client.call(method, request);
      } catch (error) {
        if (!(error instanceof IpamCallError)) throw error;
        return { code: error.code, details: error.details, reason: error.reason, cniCode: error.cniCode };
      }
      throw new Error(`${method} succeeded but a failure was expected`);
    },
    close: () => client.close(),
  };
}
