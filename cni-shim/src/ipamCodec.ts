// Encoders and decoders for the shim's berthd methods, from the generated schema (ipamSchema.ts).
import type { IpamMethod, IpamMethods } from './ipamMessages.ts';
import { IPAM_METHODS, IPAM_SCHEMAS } from './ipamSchema.ts';
import { decodeMessage, encodeMessage } from './protobufCodec.ts';

export interface MethodCodec<M extends IpamMethod> {
  /** HTTP/2 path, "/berth.ipam.v1.Ipam/Allocate". */
  readonly path: string;
  encode(request: IpamMethods[M]['request']): Uint8Array;
  decode(bytes: Uint8Array): IpamMethods[M]['response'];
}

export function methodCodec<M extends IpamMethod>(method: M): MethodCodec<M> {
  const { path, request, response } = IPAM_METHODS[method];
  return {
    path,
    encode: (message) => encodeMessage(IPAM_SCHEMAS, request, message),
    // The table-driven decoder returns records; that they have the generated types' shape is
    // what ipamCodec.test.ts checks against @bufbuild/protobuf's fromBinary, message by message.
    decode: (bytes) => decodeMessage(IPAM_SCHEMAS, response, bytes) as unknown as IpamMethods[M]['response'],
  };
}
