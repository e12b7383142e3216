// Loads the API from proto/ at run time (the daemon ships with its proto directory).
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const IPAM_PROTO_FILE = 'berth/ipam/v1/ipam.proto';
export const IPAM_SERVICE = 'berth.ipam.v1.Ipam';

/** The repository's proto/ directory, found by walking up from this module (source or dist/). */
export function protoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'proto');
    if (existsSync(join(candidate, IPAM_PROTO_FILE))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find proto/${IPAM_PROTO_FILE} above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

const LOAD_OPTIONS = { keepCase: false, longs: Number, enums: String, defaults: true, arrays: true, oneofs: true } as const;

export function loadIpamPackageDefinition(): PackageDefinition {
  return loadSync(IPAM_PROTO_FILE, { ...LOAD_OPTIONS, includeDirs: [protoRoot()] });
}

/** Any other proto file (e.g. grpc.health.v1's), loaded like berth's, for server reflection. */
export function loadPackageDefinitionOf(protoFile: string): PackageDefinition {
  return loadSync(protoFile, LOAD_OPTIONS);
}
