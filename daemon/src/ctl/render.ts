// Human output for berthctl: plain tables, utilisation bars. Pure: strings in, strings out.

export interface PoolRow {
  name: string; subnet: string; size: string; allocated: string; free: string; reserved: string;
  kind: string; addressSpace: string; strategy: string; cooling: string; labels: Record<string, string>; prefixLength: number;
}
export interface PrefixRow {
  pool: string; prefix: string; owner: string; addressSpace: string; state: string; createdAtUnixMs: number; reusableAtUnixMs: number;
}
export interface LeaseRow {
  pool: string; address: string; containerId: string; ifname: string; network: string; podNamespace: string; podName: string; createdAtUnixMs: number;
  addressSpace: string; state: string; reusableAtUnixMs: number;
}

export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** Used share of a pool, as a percentage with one decimal; exact for IPv6-sized pools. */
export function utilisation(allocated: string, size: string): number {
  const total = BigInt(size);
  if (total === 0n) return 0;
  return Number((BigInt(allocated) * 1000n) / total) / 10;
}

export function bar(percent: number, width = 20): string {
  const filled = Math.min(width, Math.round((percent / 100) * width));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

export function renderPools(pools: readonly PoolRow[]): string {
  // Prefix pools count whole prefixes of their prefixLength (UNIT), address pools addresses.
  // SPACE is the address space; NETWORK (leases) the CNI network name.
  return table(['POOL', 'KIND', 'SPACE', 'SUBNET', 'USED', '', 'ALLOCATED', 'COOLING', 'FREE', 'SIZE', 'UNIT', 'STRATEGY', 'LABELS'], pools.map((pool) => {
    const percent = utilisation(pool.allocated, pool.size);
    const labels = Object.entries(pool.labels).map(([key, value]) => `${key}=${value}`).join(',');
    const unit = pool.kind === 'PREFIX' ? `/${pool.prefixLength}` : 'address';
    return [pool.name, pool.kind.toLowerCase(), pool.addressSpace, pool.subnet, bar(percent), `${percent.toFixed(1)}%`, pool.allocated,
      pool.cooling, pool.free, pool.size, unit, pool.strategy, labels || '-'];
  }));
}

export function renderLeases(leases: readonly LeaseRow[]): string {
  if (leases.length === 0) return 'no leases\n';
  return table(['POOL', 'ADDRESS', 'STATE', 'CONTAINER', 'IFNAME', 'NETWORK', 'POD', 'SINCE'], leases.map((lease) => [
    lease.pool, lease.address, lease.state === 'COOLING' ? `cooling until ${new Date(lease.reusableAtUnixMs).toISOString()}` : 'active',
    lease.containerId.slice(0, 16), lease.ifname, lease.network,
    lease.podName ? `${lease.podNamespace}/${lease.podName}` : '-', new Date(lease.createdAtUnixMs).toISOString(),
  ]));
}

export function renderPrefixes(prefixes: readonly PrefixRow[]): string {
  if (prefixes.length === 0) return 'no prefixes\n';
  return table(['POOL', 'PREFIX', 'OWNER', 'STATE', 'SPACE', 'SINCE'], prefixes.map((lease) => [
    lease.pool, lease.prefix, lease.owner, lease.state === 'COOLING' ? `cooling until ${new Date(lease.reusableAtUnixMs).toISOString()}` : 'active',
    lease.addressSpace, new Date(lease.createdAtUnixMs).toISOString(),
  ]));
}
