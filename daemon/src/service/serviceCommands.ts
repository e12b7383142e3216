// What callers ask the services for, independent of gRPC (the plugin's CNI verbs are cni-shim/src/commands.ts).
export interface AllocateCommand {
  readonly containerId: string;
  readonly ifname: string;
  readonly pools: readonly string[];
  readonly requestedIps: readonly string[];
  readonly podNamespace: string;
  readonly podName: string;
  readonly podUid: string;
  readonly netns: string;
  /** CNI network name (the scope of GC), kept on the lease; not the pool's address space. */
  readonly network: string;
  /** Labels of the pod, matched by label pre-allocations. */
  readonly podLabels: Readonly<Record<string, string>>;
  /** Instead of pools: the pools whose labels match (empty: none). */
  readonly poolSelector: Readonly<Record<string, string>>;
  /** When the caller gives up (epoch ms); bounds any wait for a cluster pool block. */
  readonly deadlineMs?: number;
}

export interface ReleaseCommand {
  readonly containerId: string;
  readonly ifname: string;
  /** Empty: every pool. */
  readonly pools: readonly string[];
}

export interface CheckCommand {
  readonly containerId: string;
  readonly ifname: string;
  readonly pools: readonly string[];
  readonly expectedAddresses: readonly string[];
  readonly poolSelector: Readonly<Record<string, string>>;
}

export interface Attachment {
  readonly containerId: string;
  readonly ifname: string;
}

export interface GarbageCollectCommand {
  readonly network: string;
  readonly validAttachments: readonly Attachment[];
}

export interface AllocatePrefixCommand {
  readonly pool: string;
  readonly owner: string;
  /** 0: the pool's prefixLength. */
  readonly prefixLength: number;
  /** Empty: the pool's strategy picks. */
  readonly requestedPrefix: string;
  /** When the caller gives up (epoch ms): not allocated at all once passed. */
  readonly deadlineMs?: number;
}

export interface ReleasePrefixCommand {
  readonly pool: string;
  readonly owner: string;
}
