// The berth.ipam.v1 messages the shim sends and reads, as the types protoc-gen-es generates from
// proto/berth/ipam/v1/ipam.proto (cni-shim/src/gen/, `npm run generate`): a field renamed in the
// proto no longer compiles here. Type-only imports: the generated descriptors never reach the
// executable, whose codec is protobufCodec.ts (held to @bufbuild/protobuf by ipamCodec.test.ts).
import type { Message } from '@bufbuild/protobuf';
import type {
  AllocateRequest, AllocateResponse, Allocation, CheckRequest, CheckResponse, Dns, GarbageCollectRequest, GarbageCollectResponse,
  PoolSelector, PoolUsage, ReleaseRequest, ReleaseResponse, Route, StatusRequest, StatusResponse,
} from './gen/berth/ipam/v1/ipam_pb.ts';

/** A decoded message as protobufCodec.ts gives it: the generated type without $typeName, all the way down. */
export type Decoded<T> =
  T extends Message ? { readonly [K in keyof T as K extends '$typeName' | '$unknown' ? never : K]: Decoded<T[K]> }
    : T extends readonly (infer E)[] ? readonly Decoded<E>[]
      : T;

/** What the shim sends: any field may be left out (proto3 defaults). */
type Request<T extends Message> = Partial<Decoded<T>>;

export type AllocationMessage = Decoded<Allocation>;
export type RouteMessage = Decoded<Route>;
export type DnsMessage = Decoded<Dns>;
export type PoolUsageMessage = Decoded<PoolUsage>;
export type PoolSelectorMessage = Decoded<PoolSelector>;

export interface IpamMethods {
  Allocate: { request: Request<AllocateRequest>; response: Decoded<AllocateResponse> };
  Release: { request: Request<ReleaseRequest>; response: Decoded<ReleaseResponse> };
  Check: { request: Request<CheckRequest>; response: Decoded<CheckResponse> };
  GarbageCollect: { request: Request<GarbageCollectRequest>; response: Decoded<GarbageCollectResponse> };
  Status: { request: Request<StatusRequest>; response: Decoded<StatusResponse> };
}
export type IpamMethod = keyof IpamMethods;

/** What the verbs need from the daemon; the gRPC client implements it, tests fake it. */
export interface IpamCaller {
  call<M extends IpamMethod>(method: M, request: IpamMethods[M]['request']): Promise<IpamMethods[M]['response']>;
}
