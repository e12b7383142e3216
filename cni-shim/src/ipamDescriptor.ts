// The berth.ipam.v1 API as protobufjs reflection types. The bundle carries the descriptor as JSON
// (scripts/build.mjs defines __BERTH_IPAM_DESCRIPTOR__), so the executable needs no .proto file and
// no parser; unbundled (tests) the .proto is parsed at run time.
import protobuf from 'protobufjs/light.js';
import type { INamespace, Root, Type } from 'protobufjs/light.js';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IpamMethod, IpamMethods } from './ipamMessages.ts';

declare const __BERTH_IPAM_DESCRIPTOR__: string | undefined;

export const IPAM_SERVICE = 'berth.ipam.v1.Ipam';
const PROTO_FILE = 'proto/berth/ipam/v1/ipam.proto';

export function loadIpamRoot(): Root {
  if (typeof __BERTH_IPAM_DESCRIPTOR__ === 'string') {
    return protobuf.Root.fromJSON(JSON.parse(__BERTH_IPAM_DESCRIPTOR__) as INamespace);
  }
  return loadProtoFile();
}

// Through createRequire so that the bundler never pulls the .proto parser into the shim.
function loadProtoFile(): Root {
  const moduleName = 'protobufjs';
  const full = createRequire(import.meta.url)(moduleName) as typeof protobuf & { loadSync(file: string): Root };
  return full.loadSync(findProtoFile());
}

function findProtoFile(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, PROTO_FILE);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find ${PROTO_FILE} above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

export interface MethodCodec<M extends IpamMethod> {
  /** HTTP/2 path, "/berth.ipam.v1.Ipam/Allocate". */
  readonly path: string;
  encode(request: IpamMethods[M]['request']): Uint8Array;
  decode(bytes: Uint8Array): IpamMethods[M]['response'];
}

export function methodCodec<M extends IpamMethod>(root: Root, method: M): MethodCodec<M> {
  const rpc = root.lookupService(IPAM_SERVICE).methods[method];
  if (rpc === undefined) throw new Error(`${IPAM_SERVICE} has no method ${method}`);
  const requestType: Type = root.lookupType(rpc.requestType);
  const responseType: Type = root.lookupType(rpc.responseType);
  return {
    path: `/${IPAM_SERVICE}/${method}`,
    encode: (request) => requestType.encode(requestType.fromObject(request)).finish(),
    // The wire boundary: the proto is the contract for the shape named by IpamMethods.
    decode: (bytes) => responseType.toObject(responseType.decode(bytes),
      { enums: String, longs: Number, defaults: true, arrays: true }) as IpamMethods[M]['response'],
  };
}
