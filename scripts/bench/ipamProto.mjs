// The berth API loaded the way the daemon loads it, for the load client and the echo server.
import { loadPackageDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { dirname } from 'node:path';
import { IPAM_PROTO } from './paths.mjs';

export const PROTO_OPTIONS = { keepCase: false, longs: Number, enums: String, defaults: true, arrays: true, oneofs: true };

export function loadIpamPackage() {
  const definition = loadSync(IPAM_PROTO, { ...PROTO_OPTIONS, includeDirs: [dirname(dirname(dirname(dirname(IPAM_PROTO))))] });
  return { definition, ipam: loadPackageDefinition(definition).berth.ipam.v1 };
}
