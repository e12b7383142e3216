// A cluster pool's definition as recorded in the cluster store: the first node to serve the pool
// records it, every other node must bring the same one (see cluster/poolRegistry.ts).
import type { ClusterPoolDefinition } from '../cluster/index.ts';
import type { ClusterPoolConfig } from '../config/types.ts';
import { familyBits, formatAddress, formatCidr } from '../ip/address.ts';

/** What every node must agree on for a pool: block carving, and every setting that shapes a lease. */
export function definitionOf(pool: ClusterPoolConfig): ClusterPoolDefinition {
  const text = (value: bigint) => formatAddress(value, pool.family);
  return {
    name: pool.name,
    subnet: formatCidr(pool.subnet.network, pool.subnet.prefixLength, pool.family),
    blockSize: pool.blockSize,
    exclude: pool.exclude.flatMap((interval) => intervalAsCidrs(interval, familyBits(pool.family)).map(([start, length]) => `${text(start)}/${length}`)),
    settings: {
      addressSpace: pool.addressSpace, gateway: pool.gateway, strategy: pool.strategy, reclaimDelaySeconds: pool.reclaimDelaySeconds,
      routes: pool.routes.map((route) => ({ ...route })), dns: { ...pool.dns, nameservers: [...pool.dns.nameservers], search: [...pool.dns.search], options: [...pool.dns.options] },
      nodeSelector: { ...pool.nodeSelector }, labels: { ...pool.labels },
    },
  };
}

/** The fewest aligned CIDRs covering exactly [start, end], as [first address, prefix length]. */
function intervalAsCidrs(interval: { start: bigint; end: bigint }, bits: number): [bigint, number][] {
  const cidrs: [bigint, number][] = [];
  let start = interval.start;
  while (start <= interval.end) {
    let size = 0;
    while (size < bits && (start & ((1n << BigInt(size + 1)) - 1n)) === 0n && start + (1n << BigInt(size + 1)) - 1n <= interval.end) size++;
    cidrs.push([start, bits - size]);
    start += 1n << BigInt(size);
  }
  return cidrs;
}

