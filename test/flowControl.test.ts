// Load and flow control against the real daemon: a flood of concurrent Allocate calls straight
// over gRPC with a small --max-queued-requests, and 500 real shim processes in flight at once.
// Excess work must be refused with RESOURCE_EXHAUSTED/OVERLOADED (never a crash, never a
// duplicate address, never a lease nobody was told about), and memory must stay bounded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrpcStatus } from '../daemon/src/errors.ts';
import { IpamCallError } from '../daemon/src/grpc/ipamClient.ts';
import { startDaemon, type DaemonHandle } from './support/daemonProcess.ts';
import { ipamClient, type IpamTestClient } from './support/ipamClient.ts';
import { residentBytes, sampleResident } from './support/processStatus.ts';
import { networkConfig, runShim } from './support/shimExec.ts';

const CONFIG = `
pools:
  - name: flood-v4
    subnet: 10.130.0.0/16
  - name: shim-v4
    subnet: 10.131.0.0/16
  - name: shim-v6
    subnet: fd00:131::/64
`;

const FLOOD_CALLS = 2000;
const FLOOD_CONNECTIONS = 8;
const MAX_QUEUED = 32;
const SHIMS = 500;
const SHIM_TIMEOUT_SECONDS = 30;

interface LeasesReply { leases: { pool: string; address: string; containerId: string; ifname: string }[] }
interface AllocationReply { allocations: { pool: string; address: string }[] }

describe('flow control', () => {
  let daemon: DaemonHandle;
  let control: IpamTestClient;
  beforeAll(async () => {
    daemon = await startDaemon(CONFIG, ['--max-queued-requests', String(MAX_QUEUED)]);
    control = ipamClient(daemon.socketPath);
  });
  afterAll(async () => {
    control.close();
    await daemon.dispose();
  });

  it(`${FLOOD_CALLS} concurrent Allocate calls: each gets a distinct address or OVERLOADED; RSS stays bounded`, async () => {
    const pid = daemon.process.pid!;
    await control.call('ListPools');
    const rssBefore = residentBytes(pid)!;
    const clients = Array.from({ length: FLOOD_CONNECTIONS }, () => ipamClient(daemon.socketPath));
    const rss = sampleResident(pid);
    const started = Date.now();
    const outcomes = await Promise.all(Array.from({ length: FLOOD_CALLS }, async (_, i) => {
      const containerId = `flood-${i}`;
      try {
        const reply = await clients[i % FLOOD_CONNECTIONS]!.call<AllocationReply>('Allocate',
          { containerId, ifname: 'eth0', pools: ['flood-v4'], network: 'floodnet', netns: '/var/run/netns/flood' }, 60_000);
        return { containerId, address: reply.allocations[0]?.address.split('/')[0] };
      } catch (error) {
        if (!(error instanceof IpamCallError)) throw error;
        return { containerId, error: { code: error.code, reason: error.reason, cniCode: error.cniCode, details: error.details } };
      }
    }));
    const ms = Date.now() - started;
    const peak = rss.stop();
    for (const client of clients) client.close();

    expect(daemon.process.exitCode, daemon.logs().slice(-2000)).toBeNull();
    const successes = outcomes.filter((o) => o.address !== undefined);
    const refused = outcomes.filter((o) => o.error !== undefined);
    for (const o of refused) {
      expect(o.error, o.containerId).toMatchObject({ code: GrpcStatus.RESOURCE_EXHAUSTED, reason: 'OVERLOADED', cniCode: '11' });
      expect(o.error?.details).toMatch(new RegExp(`requests waiting \\(limit ${MAX_QUEUED}\\)`));
    }
    expect(successes.length + refused.length).toBe(FLOOD_CALLS);
    // The limit really bit (the queue is far smaller than the burst) and the daemon still did real work.
    expect(refused.length).toBeGreaterThan(0);
    expect(successes.length).toBeGreaterThan(MAX_QUEUED);
    expect(new Set(successes.map((o) => o.address)).size).toBe(successes.length);

    // Exactly the acknowledged allocations are leased: nothing lost, nothing for a refused call.
    const leases = (await control.call<LeasesReply>('ListLeases', { network: 'floodnet' })).leases;
    expect(leases.map((l) => `${l.containerId} ${l.address}`).sort()).toEqual(successes.map((o) => `${o.containerId} ${o.address}`).sort());

    const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
    console.log(`flood: ${FLOOD_CALLS} calls on ${FLOOD_CONNECTIONS} connections in ${ms} ms, ${successes.length} allocated, ` +
      `${refused.length} OVERLOADED (limit ${MAX_QUEUED}); berthd RSS ${mb(rssBefore)} MB before, ${mb(peak)} MB peak`);
    expect(peak).toBeLessThan(rssBefore + 200 * 1024 * 1024);
    expect(peak).toBeLessThan(400 * 1024 * 1024);

    // Overload is transient: the same calls retried one at a time all succeed.
    const retried = await Promise.all(refused.slice(0, 20).map((o) =>
      control.call<AllocationReply>('Allocate', { containerId: o.containerId, ifname: 'eth0', pools: ['flood-v4'], network: 'floodnet' })));
    expect(retried.every((r) => r.allocations.length === 1)).toBe(true);
  });

  it(`${SHIMS} shim processes in flight at once: each succeeds or prints code 11 within its timeout; no duplicates`, async () => {
    const config = networkConfig(daemon.socketPath, { name: 'shimflood' }, { pools: ['shim-v4', 'shim-v6'], timeoutSeconds: SHIM_TIMEOUT_SECONDS });
    const logsBefore = daemon.logs().length;
    const started = Date.now();
    // All spawned at once: 500 processes (about 11 MB private memory each) connect to berthd together.
    const results = await Promise.all(Array.from({ length: SHIMS }, async (_, i) => {
      const containerId = `shim-${i}`;
      // Killed (code null) if it outlives its own timeout by far: that would be a hang.
      const result = await runShim({ command: 'ADD', containerId, netns: '/var/run/netns/shimflood' }, config, SHIM_TIMEOUT_SECONDS * 1000 + 30_000);
      return { containerId, result };
    }));
    const wallMs = Date.now() - started;

    expect(daemon.process.exitCode).toBeNull();
    const codes = new Map<string, number>();
    const added = new Map<string, string[]>();
    for (const { containerId, result } of results) {
      const key = result.code === 0 ? 'ok' : String(result.json?.code ?? `exit ${result.code}`);
      codes.set(key, (codes.get(key) ?? 0) + 1);
      if (result.code === 0) {
        const ips = ((result.json?.ips ?? []) as { address: string }[]).map((entry) => entry.address.split('/')[0]!);
        expect(ips, result.stdout).toHaveLength(2);
        added.set(containerId, ips);
      } else {
        expect(result.code, `${containerId}: ${result.stdout}${result.stderr}`).toBe(1);
        expect(result.json, result.stdout).toMatchObject({ code: 11 });
      }
      expect(result.ms, containerId).toBeLessThan(SHIM_TIMEOUT_SECONDS * 1000 + 20_000);
    }
    const all = [...added.values()].flat();
    expect(new Set(all).size).toBe(all.length);
    const leases = (await control.call<LeasesReply>('ListLeases', { network: 'shimflood' })).leases;
    const held = new Map<string, string[]>();
    for (const lease of leases) held.set(lease.containerId, [...(held.get(lease.containerId) ?? []), lease.address]);
    for (const [containerId, ips] of added) expect(held.get(containerId)?.sort(), containerId).toEqual([...ips].sort());
    // A shim that gave up may still have been served (its answer lost): that is for the runtime's DEL
    // to clean. Anything else leased must belong to a shim that reported success.
    const gaveUp = new Set(results.filter((r) => r.result.code !== 0).map((r) => r.containerId));
    expect([...held.keys()].filter((id) => !added.has(id) && !gaveUp.has(id))).toEqual([]);
    // The shims really pushed berthd past its queue limit and retried (OVERLOADED is logged per refusal).
    const overloadedDuringShims = countOf(daemon.logs().slice(logsBefore), '"code":"OVERLOADED"');

    const slowest = Math.max(...results.map((r) => r.result.ms));
    console.log(`500 shims: wall ${wallMs} ms, slowest process ${slowest} ms, outcomes ${JSON.stringify(Object.fromEntries(codes))}, ` +
      `${overloadedDuringShims} OVERLOADED refusals retried by the shims, ${leases.length} leases`);
    expect(codes.get('ok') ?? 0).toBeGreaterThan(SHIMS / 2);
    expect(wallMs).toBeLessThan(60_000);
  }, 120_000);
});

function countOf(text: string, needle: string): number {
  return text.split(needle).length - 1;
}
