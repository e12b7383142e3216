// Where the repository and its built artefacts are.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIST = join(REPO_ROOT, 'dist');
export const SHIM = join(DIST, 'berth');
export const IPAM_PROTO = join(REPO_ROOT, 'proto', 'berth', 'ipam', 'v1', 'ipam.proto');
export const HOST_LOCAL = '/usr/lib/cni/host-local';
