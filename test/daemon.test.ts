// The real daemon over its real socket, driven by a plain gRPC client.
import { spawn, spawnSync } from 'node:child_process';
import { statSync, writeFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BERTHD, createDaemon, startDaemon, type DaemonHandle } from './support/daemonProcess.ts';
import { ipamClient, type IpamTestClient } from './support/ipamTestClient.ts';

interface AllocationReply { allocations: { pool: string; address: string; gateway: string; family: string; routes: { dst: string }[]; dns: { nameservers: string[] } }[] }
interface LeasesReply { leases: { pool: string; address: string; containerId: string; ifname: string; network: string; podName: string; bootId: string }[] }
interface PoolsReply { pools: { name: string; size: string; allocated: string; free: string; reserved: string }[] }

const attach = (containerId: string, pools = ['v4', 'v6'], extra: object = {}) => ({
  containerId, ifname: 'eth0', pools, network: 'testnet', podNamespace: 'default', podName: `pod-${containerId}`, podUid: `uid-${containerId}`, netns: '/var/run/netns/none', ...extra,
});

describe('berthd over gRPC', () => {
  let daemon: DaemonHandle;
  let client: IpamTestClient;
  beforeAll(async () => {
    daemon = await startDaemon();
    client = ipamClient(daemon.socketPath);
  });
  afterAll(async () => {
    client.close();
    await daemon.dispose();
  });

  it('serves on a 0600 socket', () => {
    expect(statSync(daemon.socketPath).isSocket()).toBe(true);
    expect(statSync(daemon.socketPath).mode & 0o777).toBe(0o600);
    expect(statSync(daemon.dbPath).mode & 0o777).toBe(0o600);
  });

  it('allocates one address per pool, dual-stack, skipping network and gateway', async () => {
    const reply = await client.call<AllocationReply>('Allocate', attach('a1'));
    expect(reply.allocations.map((a) => [a.pool, a.address, a.gateway, a.family])).toEqual([
      ['v4', '10.50.0.2/24', '10.50.0.1', 'IPV4'],
      ['v6', 'fd00:50::2/64', 'fd00:50::1', 'IPV6'],
    ]);
    expect(reply.allocations[0]?.routes).toEqual([{ dst: '0.0.0.0/0', gw: '' }]);
    expect(reply.allocations[0]?.dns.nameservers).toEqual(['10.50.0.53']);
  });

  it('is idempotent: the same attachment asking again gets the same addresses', async () => {
    const again = await client.call<AllocationReply>('Allocate', attach('a1'));
    expect(again.allocations.map((a) => a.address)).toEqual(['10.50.0.2/24', 'fd00:50::2/64']);
    const leases = await client.call<LeasesReply>('ListLeases', { containerId: 'a1' });
    expect(leases.leases).toHaveLength(2);
  });

  it('hands out round-robin: a released address is not reused at once', async () => {
    const second = await client.call<AllocationReply>('Allocate', attach('a2', ['v4']));
    expect(second.allocations[0]?.address).toBe('10.50.0.3/24');
    await client.call('Release', { containerId: 'a2', ifname: 'eth0', pools: ['v4'] });
    const third = await client.call<AllocationReply>('Allocate', attach('a3', ['v4']));
    expect(third.allocations[0]?.address).toBe('10.50.0.4/24');
  });

  it('releases idempotently, and releasing nothing succeeds', async () => {
    const first = await client.call<{ released: unknown[] }>('Release', { containerId: 'a3', ifname: 'eth0', pools: [] });
    expect(first.released).toHaveLength(1);
    const second = await client.call<{ released: unknown[] }>('Release', { containerId: 'a3', ifname: 'eth0', pools: [] });
    expect(second.released).toHaveLength(0);
    await client.call('Release', { containerId: 'never-seen', ifname: 'eth0', pools: ['v4', 'no-such-pool'] });
  });

  it('checks leases: present, missing, different', async () => {
    const ok = await client.call<AllocationReply>('Check', { containerId: 'a1', ifname: 'eth0', pools: ['v4', 'v6'], expectedAddresses: ['10.50.0.2/24', 'fd00:50::2'] });
    expect(ok.allocations).toHaveLength(2);
    const missing = await client.fail('Check', { containerId: 'nobody', ifname: 'eth0', pools: ['v4'] });
    expect(missing).toMatchObject({ code: 5, reason: 'LEASE_MISSING', cniCode: '104' });
    const differs = await client.fail('Check', { containerId: 'a1', ifname: 'eth0', pools: ['v4'], expectedAddresses: ['10.50.0.99/24'] });
    expect(differs).toMatchObject({ code: 9, reason: 'LEASE_MISMATCH', cniCode: '105' });
    expect(differs.details).toMatch(/does not hold 10\.50\.0\.99 \(it holds 10\.50\.0\.2/);
  });

  it('honours requested addresses and refuses conflicts with the holder named', async () => {
    const wanted = await client.call<AllocationReply>('Allocate', attach('r1', ['v4', 'v6'], { requestedIps: ['10.50.0.200/24', 'fd00:50::beef'] }));
    expect(wanted.allocations.map((a) => a.address)).toEqual(['10.50.0.200/24', 'fd00:50::beef/64']);
    const taken = await client.fail('Allocate', attach('r2', ['v4'], { requestedIps: ['10.50.0.200'] }));
    expect(taken).toMatchObject({ code: 6, reason: 'ADDRESS_IN_USE', cniCode: '102' });
    expect(taken.details).toMatch(/10\.50\.0\.200 in pool "v4" is leased to container r1 ifname eth0 \(pod default\/pod-r1\)/);
    const outside = await client.fail('Allocate', attach('r3', ['v4'], { requestedIps: ['192.168.1.1'] }));
    expect(outside).toMatchObject({ code: 3, reason: 'ADDRESS_OUTSIDE_POOL', cniCode: '103' });
    const gateway = await client.fail('Allocate', attach('r4', ['v4'], { requestedIps: ['10.50.0.1'] }));
    expect(gateway.details).toMatch(/10\.50\.0\.1 is reserved in pool "v4"/);
  });

  it('exhausts a pool with a precise error and stays all-or-nothing across pools', async () => {
    await client.call('Allocate', attach('t1', ['tiny']));
    await client.call('Allocate', attach('t2', ['tiny']));
    const exhausted = await client.fail('Allocate', attach('t3', ['v4', 'tiny']));
    expect(exhausted).toMatchObject({ code: 8, reason: 'POOL_EXHAUSTED', cniCode: '100' });
    expect(exhausted.details).toMatch(/pool "tiny" is exhausted: all 2 addresses are leased/);
    const leftovers = await client.call<LeasesReply>('ListLeases', { containerId: 't3' });
    expect(leftovers.leases).toEqual([]);
  });

  it('reports unknown pools and invalid fields precisely', async () => {
    const cases: [object, number, string, RegExp][] = [
      [attach('u1', ['nope']), 5, 'UNKNOWN_POOL', /unknown pool "nope" \(configured: v4, v6, tiny\)/],
      [attach(''), 3, 'INVALID_ARGUMENT', /container_id is required/],
      [attach('bad id!'), 3, 'INVALID_ARGUMENT', /container_id "bad id!"/],
      [{ ...attach('x1'), ifname: 'a-very-long-interface-name' }, 3, 'INVALID_ARGUMENT', /ifname .* longer than 15/],
      [{ ...attach('x2'), ifname: '' }, 3, 'INVALID_ARGUMENT', /ifname is required/],
      [attach('x3', []), 3, 'INVALID_ARGUMENT', /pools: name at least one pool/],
      [attach('x4', ['v4', 'v4']), 3, 'INVALID_ARGUMENT', /pools\[1\] "v4" is named twice/],
      [attach('x5', ['v4'], { requestedIps: ['10.50.0.300'] }), 3, 'INVALID_ARGUMENT', /requested_ips\[0\]: "10\.50\.0\.300" is not an IP address/],
      [attach('x6', ['v4'], { requestedIps: ['10.50.0.9/16'] }), 3, 'INVALID_ARGUMENT', /prefix length \/16 but pool "v4" is a \/24/],
      [attach('x7', ['v4'], { requestedIps: ['10.50.0.9', '10.50.0.10'] }), 3, 'INVALID_ARGUMENT', /at most one per pool/],
    ];
    for (const [request, code, reason, message] of cases) {
      const failure = await client.fail('Allocate', request);
      expect(failure, JSON.stringify(request)).toMatchObject({ code, reason });
      expect(failure.details).toMatch(message);
    }
  });

  it('garbage-collects only the network it is asked about', async () => {
    await client.call('Allocate', attach('g1', ['v4'], { network: 'gcnet' }));
    await client.call('Allocate', attach('g2', ['v4'], { network: 'gcnet' }));
    await client.call('Allocate', attach('g3', ['v4'], { network: 'othernet' }));
    const gc = await client.call<LeasesReply & { released: LeasesReply['leases'] }>('GarbageCollect', { network: 'gcnet', validAttachments: [{ containerId: 'g1', ifname: 'eth0' }] });
    expect(gc.released.map((l) => l.containerId)).toEqual(['g2']);
    const left = await client.call<LeasesReply>('ListLeases', {});
    expect(left.leases.map((l) => l.containerId)).toEqual(expect.arrayContaining(['g1', 'g3']));
    expect(left.leases.map((l) => l.containerId)).not.toContain('g2');
    const refused = await client.fail('GarbageCollect', { network: '', validAttachments: [] });
    expect(refused.reason).toBe('INVALID_ARGUMENT');
  });

  it('reports pool usage', async () => {
    const pools = await client.call<PoolsReply>('ListPools');
    const tiny = pools.pools.find((p) => p.name === 'tiny');
    expect(tiny).toMatchObject({ size: '2', allocated: '2', free: '0', reserved: '2' });
    const v6 = pools.pools.find((p) => p.name === 'v6');
    expect(v6?.size).toBe(((1n << 64n) - 2n).toString());
  });

  it('gives 200 concurrent attachments 200 distinct addresses', async () => {
    const replies = await Promise.all(Array.from({ length: 200 }, (_, i) => client.call<AllocationReply>('Allocate', attach(`burst${i}`, ['v6']))));
    const addresses = new Set(replies.map((r) => r.allocations[0]?.address));
    expect(addresses.size).toBe(200);
  });

  it('keeps leases and the round-robin position across a restart', async () => {
    const before = await client.call<LeasesReply>('ListLeases', {});
    expect(await daemon.stop('SIGTERM')).toBe(0);
    await daemon.start();
    client.close();
    client = ipamClient(daemon.socketPath);
    const after = await client.call<LeasesReply>('ListLeases', {});
    expect(after.leases).toEqual(before.leases);
    const next = await client.call<AllocationReply>('Allocate', attach('after-restart', ['v4']));
    const v4Before = before.leases.filter((l) => l.pool === 'v4').map((l) => l.address);
    expect(v4Before).not.toContain(next.allocations[0]?.address.split('/')[0]);
  });

  it('refuses a second daemon on the same database with a clear message', () => {
    const second = spawnSync(process.execPath, [BERTHD, '--socket', join(daemon.dir, 'other.sock'), '--db', daemon.dbPath, '--config', daemon.configPath], { encoding: 'utf8', timeout: 20_000 });
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(/another berthd is running/);
    // Logged in the callback that calls process.exit, before its flush could run: the exit handler writes it (turnLog.ts).
    const fatal = second.stdout.trim().split('\n').map((line) => JSON.parse(line) as { event?: string; level?: number; msg?: string }).at(-1);
    expect(fatal).toMatchObject({ event: 'daemon.start_failed', level: 60 });
    expect(fatal?.msg).toMatch(/another berthd is running/);
  });

  it('refuses a second daemon on the same socket', () => {
    const second = spawnSync(process.execPath, [BERTHD, '--socket', daemon.socketPath, '--db', join(daemon.dir, 'other.db'), '--config', daemon.configPath], { encoding: 'utf8', timeout: 20_000 });
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(/another berthd is serving on it/);
  });
});

describe('berthd start-up safety', () => {
  it('removes a stale socket but never a regular file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-sock-'));
    const daemon = createDaemon(dir, 'pools: [{ name: p, subnet: 10.9.0.0/24 }]');
    await daemon.start();
    await daemon.stop('SIGKILL');
    // A SIGKILLed daemon leaves its socket behind; the next one replaces it.
    expect(statSync(daemon.socketPath).isSocket()).toBe(true);
    await daemon.start();
    await daemon.stop('SIGKILL');
    rmSync(daemon.socketPath);
    writeFileSync(daemon.socketPath, 'precious');
    await expect(daemon.start()).rejects.toThrow(/exists and is not a socket; refusing to remove it/);
    await daemon.dispose();
  });

  it('refuses a corrupt database and leaves it untouched', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-corrupt-'));
    const daemon = createDaemon(dir, 'pools: [{ name: p, subnet: 10.9.0.0/24 }]');
    writeFileSync(daemon.dbPath, 'not a database '.repeat(500));
    await expect(daemon.start()).rejects.toThrow(/not a valid berth lease database/);
    expect(statSync(daemon.dbPath).size).toBe('not a database '.length * 500);
    await daemon.dispose();
  });

  it('shuts down cleanly on a SIGTERM sent the moment daemon.started is logged', async () => {
    // A supervisor (or the benchmark) may stop berthd as soon as it says it serves; before the fix,
    // about half of these died of the signal itself instead of exiting 0.
    const dir = mkdtempSync(join(tmpdir(), 'berth-sigterm-'));
    writeFileSync(join(dir, 'pools.yaml'), 'pools: [{ name: p, subnet: 10.9.0.0/24 }]');
    const outcomes: string[] = [];
    for (let i = 0; i < 8; i++) {
      const child = spawn(process.execPath, [BERTHD, '--socket', join(dir, `s${i}.sock`), '--db', join(dir, `l${i}.db`), '--config', join(dir, 'pools.yaml'), '--metrics-addr', ''],
        { stdio: ['ignore', 'pipe', 'pipe'] });
      outcomes.push(await new Promise<string>((resolve) => {
        let output = '';
        let sent = false;
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (!sent && output.includes('"daemon.started"')) {
            sent = true;
            child.kill('SIGTERM');
          }
        });
        child.on('exit', (code, signal) => resolve(signal ?? String(code)));
      }));
    }
    rmSync(dir, { recursive: true, force: true });
    expect(outcomes).toEqual(Array.from({ length: 8 }, () => '0'));
  });

  it('refuses a bad config naming the field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-badcfg-'));
    const daemon = createDaemon(dir, 'pools: [{ name: p, subnet: 10.9.0.0/33 }]');
    await expect(daemon.start()).rejects.toThrow(/pools\[0\]\.subnet/);
    await daemon.dispose();
  });
});
