// The slice of the berth.ipam.v1 messages the shim sends and reads, as protobufjs objects
// (camelCase fields, enums as names, defaults filled in). proto/berth/ipam/v1/ipam.proto is the source.

export type IpFamilyName = 'IP_FAMILY_UNSPECIFIED' | 'IPV4' | 'IPV6';

export interface RouteMessage { readonly dst: string; readonly gw: string }
export interface DnsMessage {
  readonly nameservers: readonly string[];
  readonly domain: string;
  readonly search: readonly string[];
  readonly options: readonly string[];
}
export interface AllocationMessage {
  readonly pool: string;
  readonly address: string;
  readonly gateway: string;
  readonly routes: readonly RouteMessage[];
  /** Absent when the pool has no DNS settings. */
  readonly dns?: DnsMessage | null;
  readonly family: IpFamilyName;
}
export interface PoolUsageMessage { readonly name: string; readonly free: string; readonly size: string }
export interface PoolSelectorMessage { readonly matchLabels: Readonly<Record<string, string>> }

export interface IpamMethods {
  Allocate: {
    request: {
      containerId: string; ifname: string; pools: readonly string[]; requestedIps: readonly string[];
      podNamespace: string; podName: string; podUid: string; netns: string; network: string;
      podLabels?: Readonly<Record<string, string>>; poolSelector?: PoolSelectorMessage;
    };
    response: { allocations: readonly AllocationMessage[] };
  };
  Release: {
    request: { containerId: string; ifname: string; pools: readonly string[] };
    response: { released: readonly unknown[] };
  };
  Check: {
    request: { containerId: string; ifname: string; pools: readonly string[]; expectedAddresses: readonly string[]; poolSelector?: PoolSelectorMessage };
    response: { allocations: readonly AllocationMessage[] };
  };
  GarbageCollect: {
    request: { network: string; validAttachments: readonly { containerId: string; ifname: string }[] };
    response: { released: readonly unknown[] };
  };
  Status: {
    request: { pools: readonly string[]; poolSelector?: PoolSelectorMessage };
    response: { pools: readonly PoolUsageMessage[]; configError: string };
  };
}
export type IpamMethod = keyof IpamMethods;

/** What the verbs need from the daemon; the gRPC client implements it, tests fake it. */
export interface IpamCaller {
  call<M extends IpamMethod>(method: M, request: IpamMethods[M]['request']): Promise<IpamMethods[M]['response']>;
}
