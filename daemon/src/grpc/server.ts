// The gRPC server: berth's Ipam service, the standard health service and server reflection
// (so grpcurl works with nothing but the socket).
import { Server, ServerCredentials, loadPackageDefinition, type GrpcObject, type ServiceClientConstructor } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import { ipamHandlers, type IpamHandlerDeps } from './ipamHandlers.ts';
import { statusGuard } from './statusGuard.ts';
import { IPAM_SERVICE, loadIpamPackageDefinition, loadPackageDefinitionOf } from './protoDefinition.ts';
import { bindPrivately } from './unixSocket.ts';

export const MAX_REQUEST_BYTES = 1024 * 1024;
export const MAX_REPLY_BYTES = 256 * 1024 * 1024;

export interface GrpcServer {
  readonly health: HealthImplementation;
  /** Stops taking calls; resolves when in-flight calls have finished (or after graceMs). */
  stop(graceMs: number): Promise<void>;
}

export async function startGrpcServer(socketPath: string, deps: IpamHandlerDeps, socketGroupId?: number): Promise<GrpcServer> {
  const packageDefinition = loadIpamPackageDefinition();
  const api = loadPackageDefinition(packageDefinition);
  const ipam = lookupService(api, IPAM_SERVICE);
  const server = new Server({
    'grpc.max_receive_message_length': MAX_REQUEST_BYTES,
    'grpc.max_send_message_length': MAX_REPLY_BYTES,
    'grpc.max_concurrent_streams': 4096,
    // Nothing serves channelz here, and its per-call and per-connection bookkeeping is paid on
    // every ADD (a plugin opens a new connection each time).
    'grpc.enable_channelz': 0,
    interceptors: [statusGuard],
  });
  server.addService(ipam.service, ipamHandlers(deps));
  const health = new HealthImplementation({ '': 'SERVING', [IPAM_SERVICE]: 'SERVING' });
  health.addToServer(server);
  // Reflection describes every service served, health included, so grpcurl can call both.
  new ReflectionService({ ...packageDefinition, ...loadPackageDefinitionOf(healthProtoPath) }).addToServer(server);

  await bindPrivately(socketPath, (address) => new Promise<number>((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port)));
  }), socketGroupId);

  return {
    health,
    stop: (graceMs) => new Promise<void>((resolve) => {
      health.setStatus('', 'NOT_SERVING');
      health.setStatus(IPAM_SERVICE, 'NOT_SERVING');
      const timer = setTimeout(() => { server.forceShutdown(); resolve(); }, graceMs);
      server.tryShutdown(() => { clearTimeout(timer); resolve(); });
    }),
  };
}

function lookupService(api: GrpcObject, fullName: string): ServiceClientConstructor {
  let node: unknown = api;
  for (const part of fullName.split('.')) node = (node as Record<string, unknown>)[part];
  if (typeof node !== 'function') throw new Error(`service ${fullName} missing from the proto`);
  return node as ServiceClientConstructor;
}
