// A grpc-js client for berth's API, used by berthctl and the tests. (The CNI shim has its own
// lean client: it must start in milliseconds.)
import { credentials, loadPackageDefinition, Metadata, type Client, type ClientWritableStream, type ServiceError } from '@grpc/grpc-js';
import { resolve } from 'node:path';
import { CNI_CODE_TRAILER, REASON_TRAILER } from '../errors.ts';
import { IPAM_SERVICE, loadIpamPackageDefinition } from './protoDefinition.ts';

type ClientStreamMethod = (metadata: Metadata, options: object, callback: (error: ServiceError | null, reply: unknown) => void) => ClientWritableStream<object>;
type UnaryMethod = (request: object, metadata: Metadata, options: { deadline: number }, callback: (error: ServiceError | null, reply: unknown) => void) => void;

/** A failed call, with berth's trailers read out. */
export class IpamCallError extends Error {
  constructor(readonly method: string, readonly code: number, readonly details: string, readonly reason: string, readonly cniCode: string) {
    super(details);
    this.name = 'IpamCallError';
  }
}

/** A client-streaming call: write messages (waiting when the socket is full), then end for the reply. */
export interface ClientStream<T> {
  write(message: object): Promise<void>;
  end(): Promise<T>;
  cancel(): void;
}

export interface IpamClient {
  call<T = Record<string, unknown>>(method: string, request?: object, timeoutMs?: number): Promise<T>;
  /** Starts a client-streaming call (no deadline: a large restore takes as long as it takes). */
  stream<T = Record<string, unknown>>(method: string): ClientStream<T>;
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
        else reject(callError(method, error));
      });
    }),
    stream: <T>(method: string): ClientStream<T> => {
      const fn = (client as unknown as Record<string, ClientStreamMethod | undefined>)[method];
      if (!fn) throw new Error(`no method ${method} in ${IPAM_SERVICE}`);
      let settle: { resolve: (reply: T) => void; reject: (error: unknown) => void } | undefined;
      let outcome: { error: IpamCallError | null; reply: unknown } | undefined;
      // A write waiting for 'drain' when the daemon ends the call (it refused an entry) gets its error.
      const waitingWrites = new Set<(error: unknown) => void>();
      const call = fn.call(client, new Metadata(), {}, (error, reply) => {
        outcome = { error: error ? callError(method, error) : null, reply };
        for (const reject of waitingWrites) reject(outcome.error ?? new Error(`${method} ended before the stream did`));
        if (settle) (outcome.error ? settle.reject(outcome.error) : settle.resolve(reply as T));
      });
      return {
        write: (message) => new Promise<void>((resolve, reject) => {
          if (outcome?.error) {
            reject(outcome.error);
            return;
          }
          if (call.write(message)) {
            resolve();
            return;
          }
          waitingWrites.add(reject);
          call.once('drain', () => { waitingWrites.delete(reject); resolve(); });
        }),
        end: () => new Promise<T>((resolve, reject) => {
          settle = { resolve, reject };
          call.end();
          if (outcome) (outcome.error ? reject(outcome.error) : resolve(outcome.reply as T));
        }),
        cancel: () => call.cancel(),
      };
    },
    close: () => client.close(),
  };
}

function callError(method: string, error: ServiceError): IpamCallError {
  return new IpamCallError(method, error.code, error.details, String(error.metadata?.get(REASON_TRAILER)[0] ?? ''), String(error.metadata?.get(CNI_CODE_TRAILER)[0] ?? ''));
}
