// Load and flow control against the real daemon: a flood of concurrent Allocate calls straight
// over gRPC with a small --max-queued-requests, and 500 real shim processes in flight at once.
// Excess work must be refused with RESOURCE_EXHAUSTED/OVERLOADED (never a crash, never a
// duplicate address, never a lease nobody was told about), and memory must stay bounded.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrpcStatus } from '../daemon/src/errors.ts';
import { IpamCallError } from '../daemon/src/grpc/ipamClient.ts';
import type { ExecResult } from './support/cniExec.ts';
import { BERTHD, startDaemon, type DaemonHandle } from './support/daemonProcess.ts';
import { ipamClient, type IpamTestClient } from './support/ipamTestClient.ts';
import { residentBytes, sampleResident } from './support/processStatus.ts';
import { connectionsTo } from './support/unixSocketConnections.ts';
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
const SHIM_TIMEOUT_SECONDS = 45;
/** Longest wait for 500 processes to start on a busy 2-core machine before berthd is released anyway. */
const GATE_LIMIT_MS = 75_000;
/** Shims starting (spawned, not yet connected) at any moment. */
const START_AT_ONCE = 24;

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

  it('refuses a --max-queued-requests that is not a positive whole number', () => {
    for (const value of ['0', '-1', '2.5', 'many']) {
      const refused = spawnSync(process.execPath, [BERTHD, '--socket', join(daemon.dir, 'x.sock'), '--db', join(daemon.dir, 'x.db'), '--config', daemon.configPath,
        '--metrics-addr', '', '--max-queued-requests', value], { encoding: 'utf8', timeout: 20_000 });
      expect(refused.status, value).toBe(1);
      expect(refused.stderr).toContain(`--max-queued-requests: "${value}" is not a positive whole number`);
    }
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

  it('a berthd that accepts but never answers (SIGSTOP): ADD gives 11 and STATUS 50 within their timeouts, never a hang', async () => {
    const config = networkConfig(daemon.socketPath, { name: 'stopped', cniVersion: '1.1.0' }, { pools: ['shim-v4'], timeoutSeconds: 2 });
    daemon.process.kill('SIGSTOP');
    try {
      const [add, status] = await Promise.all([
        runShim({ command: 'ADD', containerId: 'stopped-1' }, config, 15_000),
        runShim({ command: 'STATUS', env: { CNI_CONTAINERID: undefined, CNI_IFNAME: undefined, CNI_NETNS: undefined } }, { ...config, ipam: { ...(config.ipam as object), timeoutSeconds: 30 } }, 15_000),
      ]);
      expect(add.json, add.stdout).toMatchObject({ code: 11 });
      expect(String(add.json?.msg)).toContain(daemon.socketPath);
      expect(add.ms).toBeLessThan(2000 + 3000);
      expect(status.json, status.stdout).toMatchObject({ code: 50 });
      expect(String(status.json?.msg)).toContain(daemon.socketPath);
      expect(status.ms).toBeLessThan(2000 + 3000);
    } finally {
      daemon.process.kill('SIGCONT');
    }
    // Its ADD may have reached berthd and be served once it runs again: a DEL cleans it, as a runtime would.
    expect((await runShim({ command: 'DEL', containerId: 'stopped-1' }, config)).code).toBe(0);
    expect((await control.call<LeasesReply>('ListLeases', { network: 'stopped' })).leases).toEqual([]);
  });

  it(`${SHIMS} shim processes in flight at once: each succeeds or prints code 11 within its timeout; no duplicates`, async () => {
    const config = networkConfig(daemon.socketPath, { name: 'shimflood' }, { pools: ['shim-v4', 'shim-v6'], timeoutSeconds: SHIM_TIMEOUT_SECONDS });
    const logsBefore = daemon.logs().length;
    const started = Date.now();
    // berthd is held (SIGSTOP) while all 500 start, connect and send their ADD, then released: on
    // 2 cores the processes could not otherwise start fast enough to be in flight together. At most
    // START_AT_ONCE are starting at any moment, so the machine stays usable for everyone else.
    // Connections already open (the control client's) are not shims.
    const others = connectionsTo(daemon.socketPath);
    const shimConnections = () => connectionsTo(daemon.socketPath) - others;
    daemon.process.kill('SIGSTOP');
    let inFlightAtRelease = 0;
    let releasedAt = 0;
    const running: Promise<{ containerId: string; result: ExecResult }>[] = [];
    try {
      for (let i = 0; i < SHIMS && Date.now() - started < GATE_LIMIT_MS; i++) {
        while (running.length - shimConnections() >= START_AT_ONCE && Date.now() - started < GATE_LIMIT_MS) await sleep(10);
        const containerId = `shim-${i}`;
        // Killed (code null) if it outlives its own timeout by far: that would be a hang.
        running.push(runShim({ command: 'ADD', containerId, netns: '/var/run/netns/shimflood' }, config, SHIM_TIMEOUT_SECONDS * 1000 + 30_000)
          .then((result) => ({ containerId, result })));
      }
      while (shimConnections() < SHIMS && Date.now() - started < GATE_LIMIT_MS) await sleep(20);
      await sleep(200); // the last to connect write their request
      inFlightAtRelease = shimConnections();
    } finally {
      daemon.process.kill('SIGCONT');
      releasedAt = Date.now();
    }
    const results = await Promise.all(running);
    const doneAt = Date.now();

    expect(daemon.process.exitCode).toBeNull();
    expect(inFlightAtRelease).toBe(SHIMS);
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
    // Reported, not asserted: one request per connection is committed per loop turn, so even 500
    // at once rarely fill a queue of 32 (the gRPC flood above is what proves the limit).
    const overloaded = daemon.logs().slice(logsBefore).split('\n')
      .filter((line) => line.includes('"code":"OVERLOADED"') && line.includes('"containerId":"shim-')).length;

    console.log(`500 shims: wall ${doneAt - started} ms (${releasedAt - started} ms to start all ${inFlightAtRelease} against a held berthd, ` +
      `${doneAt - releasedAt} ms from release to the last answer), outcomes ${JSON.stringify(Object.fromEntries(codes))}, ` +
      `${overloaded} OVERLOADED refusals retried by the shims, ${leases.length} leases`);
    expect(codes.get('ok') ?? 0).toBeGreaterThan(SHIMS / 2);
    // Starting 500 processes is the machine's part (about 12 s alone, 35 s beside the rest of the
    // suite on 2 cores); answering them all once released is berthd's.
    expect(doneAt - releasedAt).toBeLessThan(30_000);
    expect(doneAt - started).toBeLessThan(90_000);
  }, 150_000);
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
