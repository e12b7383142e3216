// A grpc-js client for berth's API, used by berthctl and the tests. (The CNI shim has its own
// lean client: it must start in milliseconds.)
import { credentials, loadPackageDefinition, Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import { resolve } from 'node:path';
import { CNI_CODE_TRAILER, REASON_TRAILER } from '../errors.ts';
import { IPAM_SERVICE, loadIpamPackageDefinition } from './protoDefinition.ts';

type UnaryMethod = (request: object, metadata: Metadata, options: { deadline: number }, callback: (error: ServiceError | null, reply: unknown) => void) => void;

/** A failed call, with berth's trailers read out. */
export class IpamCallError extends Error {
  constructor(readonly method: string, readonly code: number, readonly details: string, readonly reason: string, readonly cniCode: string) {
    super(details);
    this.name = 'IpamCallError';
  }
}

export interface IpamClient {
  call<T = Record<string, unknown>>(method: string, request?: object, timeoutMs?: number): Promise<T>;
  close(): void;
}

export function connectIpam(socketPath: string): IpamClient {
  const api = loadPackageDefinition(loadIpamPackageDefinition());
  let ctor: unknown = api;
  for (const part of IPAM_SERVICE.split('.')) ctor = (ctor as Record<string, unknown>)[part];
  const client = new (ctor as new (address: string, creds: ReturnType<typeof credentials.createInsecure>, options: object) => Client)(
    `unix://${resolve(socketPath)}`, credentials.createInsecure(), { 'grpc.max_receive_message_length': 256 * 1024 * 1024 });
  return {
    call: <T>(method: string, request: object = {}, timeoutMs = 15_000) => new Promise<T>((resolve, reject) => {
      const fn = (client as unknown as Record<string, UnaryMethod | undefined>)[method];
      if (!fn) {
        reject(new Error(`no method ${method} in ${IPAM_SERVICE}`));
        return;
      }
      fn.call(client, request, new Metadata(), { deadline: Date.now() + timeoutMs }, (error, reply) => {
        if (!error) resolve(reply as T);
        else reject(new IpamCallError(method, error.code, error.details, String(error.metadata?.get(REASON_TRAILER)[0] ?? ''), String(error.metadata?.get(CNI_CODE_TRAILER)[0] ?? '')));
      });
    }),
    close: () => client.close(),
  };
}
