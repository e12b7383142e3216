// What an operator uses: metrics and probes, grpcurl-style reflection, health, berthctl,
// backup/restore, hot reload, and the stale-lease cleaner against real namespaces.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseStore } from '../daemon/src/store/leaseStore.ts';
import { createDaemon, LOG_LINE_WAIT, startDaemon, waitUntil, type DaemonHandle } from './support/daemonProcess.ts';
import { berthctl } from './support/berthctlExec.ts';
import { ipamClient, type IpamTestClient } from './support/ipamTestClient.ts';
import { createNetns, deleteNetns, uniqueName } from './support/netns.ts';
import { callByReflection, healthStatus, listServices } from './support/reflectionClient.ts';


function metricsUrl(daemon: DaemonHandle): string {
  const line = daemon.logs().split('\n').reverse().find((l) => l.includes('"daemon.started"'));
  const url = (JSON.parse(line ?? '{}') as { metrics?: string }).metrics;
  if (!url) throw new Error('daemon logged no metrics URL');
  return url;
}

async function metricValue(daemon: DaemonHandle, name: string, labels: string): Promise<number | undefined> {
  const text = await (await fetch(`${metricsUrl(daemon)}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

const allocate = (client: IpamTestClient, containerId: string, pools: string[], extra: object = {}) =>
  client.call<{ allocations: { address: string }[] }>('Allocate', { containerId, ifname: 'eth0', pools, network: 'opsnet', ...extra });

describe('observability', () => {
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

  it('exposes pool gauges that move after an ADD, plus health and readiness', async () => {
    const before = await metricValue(daemon, 'berth_pool_addresses', 'pool="v4",state="allocated"');
    expect(before).toBe(0);
    await allocate(client, 'm1', ['v4']);
    expect(await metricValue(daemon, 'berth_pool_addresses', 'pool="v4",state="allocated"')).toBe(1);
    expect(await metricValue(daemon, 'berth_pool_addresses', 'pool="v4",state="total"')).toBe(253);
    expect(await metricValue(daemon, 'berth_allocations_total', 'pool="v4",result="ok"')).toBe(1);
    const text = await (await fetch(`${metricsUrl(daemon)}/metrics`)).text();
    expect(text).toMatch(/berth_rpc_duration_seconds_bucket\{le="[^"]+",method="Allocate",code="OK"\}/);
    expect(text).toContain('berth_store_commit_duration_seconds_count');
    expect(text).toContain('process_resident_memory_bytes');
    expect((await fetch(`${metricsUrl(daemon)}/healthz`)).status).toBe(200);
    const ready = await fetch(`${metricsUrl(daemon)}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.text()).toBe('ready\n');
  });

  it('counts exhaustion per pool', async () => {
    await allocate(client, 'x1', ['tiny']);
    await allocate(client, 'x2', ['tiny']);
    await expect(allocate(client, 'x3', ['tiny'])).rejects.toThrow(/exhausted/);
    expect(await metricValue(daemon, 'berth_pool_exhausted_total', 'pool="tiny"')).toBe(1);
    expect(await metricValue(daemon, 'berth_allocations_total', 'pool="tiny",result="POOL_EXHAUSTED"')).toBe(1);
  });

  it('lists and calls the API through reflection alone, like grpcurl', async () => {
    const services = await listServices(daemon.socketPath);
    expect(services).toContain('berth.ipam.v1.Ipam');
    expect(services).toContain('grpc.health.v1.Health');
    expect(await callByReflection(daemon.socketPath, 'grpc.health.v1.Health', 'Check', { service: '' })).toEqual({ status: 'SERVING' });
    const reply = await callByReflection(daemon.socketPath, 'berth.ipam.v1.Ipam', 'Allocate', { containerId: 'refl', ifname: 'eth0', pools: ['v6'], network: 'opsnet' }) as { allocations: { address: string }[] };
    expect(reply.allocations[0]?.address).toMatch(/^fd00:50::[0-9a-f]+\/64$/);
  });

  it('reports SERVING on the standard health service', async () => {
    expect(await healthStatus(daemon.socketPath)).toBe('SERVING');
    expect(await healthStatus(daemon.socketPath, 'berth.ipam.v1.Ipam')).toBe('SERVING');
  });

  it('writes an audit event per allocation with who and what', async () => {
    await allocate(client, 'audit1', ['v4'], { podNamespace: 'shop', podName: 'cart-7', podUid: 'uid-7' });
    await waitUntil(() => daemon.logs().includes('"containerId":"audit1"'), 5_000);
    const event = daemon.logs().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((entry) => entry.event === 'lease.allocated' && entry.containerId === 'audit1');
    expect(event).toMatchObject({ pool: 'v4', ifname: 'eth0', podNamespace: 'shop', podName: 'cart-7', method: 'Allocate' });
    expect(event?.address).toMatch(/^10\.50\.0\.\d+$/);
    expect(typeof event?.requestId).toBe('string');
  });
});

describe('berthctl', () => {
  let daemon: DaemonHandle;
  let client: IpamTestClient;
  beforeAll(async () => {
    daemon = await startDaemon();
    client = ipamClient(daemon.socketPath);
    await allocate(client, 'ctl-a', ['v4', 'v6'], { podNamespace: 'ns1', podName: 'pod-a' });
    await allocate(client, 'ctl-b', ['v4']);
  });
  afterAll(async () => {
    client.close();
    await daemon.dispose();
  });

  it('shows pools as a table and as JSON', () => {
    const human = berthctl(daemon.socketPath, 'pools');
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^POOL\s+KIND\s+SPACE\s+SUBNET\s+USED/);
    expect(human.stdout).toMatch(/v4\s+address\s+default\s+10\.50\.0\.0\/24\s+\[\.+\]\s+0\.7%\s+2\s+0\s+251\s+253\s+address\s+roundRobin/);
    const json = JSON.parse(berthctl(daemon.socketPath, 'pools', '--json').stdout) as { name: string; allocated: string }[];
    expect(json.find((p) => p.name === 'v4')?.allocated).toBe('2');
  });

  it('lists leases with filters', () => {
    const all = JSON.parse(berthctl(daemon.socketPath, 'leases', '--json').stdout) as { containerId: string }[];
    expect(all).toHaveLength(3);
    const one = berthctl(daemon.socketPath, 'leases', '--container', 'ctl-a', '--pool', 'v6');
    expect(one.stdout).toMatch(/v6\s+fd00:50::2\s+active\s+ctl-a\s+eth0\s+opsnet\s+ns1\/pod-a/);
  });

  it('checks and releases an attachment, with exit codes scripts can rely on', () => {
    expect(berthctl(daemon.socketPath, 'check', 'ctl-b', '--pool', 'v4').code).toBe(0);
    const missing = berthctl(daemon.socketPath, 'check', 'ctl-b', '--pool', 'v6');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/holds no lease in pool "v6" \(LEASE_MISSING, CNI code 104\)/);
    const released = berthctl(daemon.socketPath, 'release', 'ctl-b');
    expect(released.code).toBe(0);
    expect(released.stdout).toMatch(/released:\n.*10\.50\.0\.3/s);
    expect(berthctl(daemon.socketPath, 'release', 'ctl-b').stdout).toMatch(/nothing held by ctl-b eth0/);
    expect(berthctl(daemon.socketPath, 'bogus-command').code).toBe(2);
    expect(berthctl(join(daemon.dir, 'nowhere.sock'), '--timeout', '1', 'pools').code).toBe(3);
  });

  it('reports status, and exit 4 when a pool is exhausted', async () => {
    expect(berthctl(daemon.socketPath, 'status', '--pool', 'v4').code).toBe(0);
    await allocate(client, 'full-1', ['tiny']);
    await allocate(client, 'full-2', ['tiny']);
    const status = berthctl(daemon.socketPath, 'status');
    expect(status.code).toBe(4);
    expect(status.stdout).toMatch(/NOT serving: exhausted pools: tiny/);
  });

  it('gc needs an explicit list of what to keep', () => {
    expect(berthctl(daemon.socketPath, 'gc', '--network', 'opsnet').code).toBe(2);
    const gc = berthctl(daemon.socketPath, 'gc', '--network', 'opsnet', '--valid', 'ctl-a/eth0', '--json');
    expect(gc.code).toBe(0);
    expect((JSON.parse(gc.stdout) as { containerId: string }[]).map((l) => l.containerId).sort()).toEqual(['full-1', 'full-2']);
  });

  it('exports and imports leases into an empty daemon, refusing conflicts', async () => {
    const backup = join(daemon.dir, 'backup.json');
    expect(berthctl(daemon.socketPath, 'export', '--output', backup).code).toBe(0);
    const exported = JSON.parse(readFileSync(backup, 'utf8')) as { format: string; leases: { containerId: string }[] };
    expect(exported.format).toBe('berth-leases/v1');
    expect(exported.leases.map((l) => l.containerId)).toEqual(['ctl-a', 'ctl-a']);

    const target = await startDaemon();
    try {
      const imported = berthctl(target.socketPath, 'import', backup);
      expect(imported.stdout + imported.stderr).toMatch(/imported 2 lease\(s\), 0 already present/);
      expect(berthctl(target.socketPath, 'import', backup).stdout).toMatch(/imported 0 lease\(s\), 2 already present/);
      const targetClient = ipamClient(target.socketPath);
      // The restored attachment gets its addresses back; nobody else can take them.
      const again = await targetClient.call<{ allocations: { address: string }[] }>('Allocate', { containerId: 'ctl-a', ifname: 'eth0', pools: ['v4', 'v6'], network: 'opsnet' });
      expect(again.allocations.map((a) => a.address)).toEqual(['10.50.0.2/24', 'fd00:50::2/64']);
      await targetClient.call('Release', { containerId: 'ctl-a', ifname: 'eth0', pools: [] });
      await targetClient.call('Allocate', { containerId: 'squatter', ifname: 'eth0', pools: ['v4'], requestedIps: ['10.50.0.2'], network: 'x' });
      const conflict = berthctl(target.socketPath, 'import', backup);
      expect(conflict.code).toBe(1);
      expect(conflict.stderr).toMatch(/import refused, nothing was imported: 1 conflict\(s\): leases\[0\]: 10\.50\.0\.2 is leased to container squatter/);
      expect((await targetClient.call<{ leases: unknown[] }>('ListLeases', { containerId: 'ctl-a' })).leases).toEqual([]);
      targetClient.close();
    } finally {
      await target.dispose();
    }
  });
});

describe('hot reload', () => {
  const base = (ranges: string, extra = '') => `
pools:
  - name: p
    subnet: 10.70.0.0/24
    ranges: [${ranges}]
${extra}`;
  const q = `  - name: q
    subnet: 10.71.0.0/24`;
  let daemon: DaemonHandle;
  let client: IpamTestClient;
  beforeAll(async () => {
    daemon = await startDaemon(base('{ start: 10.70.0.10, end: 10.70.0.20 }'));
    client = ipamClient(daemon.socketPath);
    await allocate(client, 'r1', ['p']);
  });
  afterAll(async () => {
    client.close();
    await daemon.dispose();
  });
  const poolNames = async () => (await client.call<{ pools: { name: string; size: string }[] }>('ListPools')).pools.map((p) => `${p.name}:${p.size}`);
  const configError = async () => (await client.call<{ configError: string }>('Status', {})).configError;

  it('applies added pools and grown ranges when the file changes', async () => {
    writeFileSync(daemon.configPath, base('{ start: 10.70.0.10, end: 10.70.0.30 }', q));
    await waitUntil(() => daemon.logs().includes('"config.reloaded"'), 10_000);
    expect(await poolNames()).toEqual(['p:21', 'q:254']);
    expect(await configError()).toBe('');
  });

  it('refuses removing a pool that holds leases, keeps serving the old pools, and says why', async () => {
    writeFileSync(daemon.configPath, `pools:\n${q}\n`);
    process.kill(daemon.process.pid!, 'SIGHUP');
    await waitUntil(() => daemon.logs().includes('"config.reload_refused"'), 10_000);
    expect(await poolNames()).toEqual(['p:21', 'q:254']);
    expect(await configError()).toMatch(/removing pool "p" would orphan its 1 lease/);
    const text = await (await fetch(`${metricsUrl(daemon)}/metrics`)).text();
    expect(text).toMatch(/^berth_config_reload_failing 1$/m);
    expect(berthctl(daemon.socketPath, 'status').stdout).toMatch(/config reload refused: removing pool "p"/);
  });

  it('refuses shrinking a range below a lease, and recovers when the config is fixed', async () => {
    writeFileSync(daemon.configPath, base('{ start: 10.70.0.15, end: 10.70.0.30 }', q));
    process.kill(daemon.process.pid!, 'SIGHUP');
    await waitUntil(() => daemon.logs().split('"config.reload_refused"').length > 2, 10_000);
    expect(await configError()).toMatch(/pool "p": the new ranges no longer cover leased addresses 10\.70\.0\.10/);
    expect((await client.call<{ leases: unknown[] }>('ListLeases', { pool: 'p' })).leases).toHaveLength(1);
    writeFileSync(daemon.configPath, base('{ start: 10.70.0.10, end: 10.70.0.40 }', q));
    process.kill(daemon.process.pid!, 'SIGHUP');
    await waitUntil(() => daemon.logs().split('"config.reloaded"').length > 2, 10_000);
    expect(await configError()).toBe('');
    expect(await poolNames()).toEqual(['p:31', 'q:254']);
  });

  it('rejects an invalid file with the field path and keeps serving', async () => {
    writeFileSync(daemon.configPath, 'pools: [{ name: p, subnet: 10.70.0.0/99 }]');
    process.kill(daemon.process.pid!, 'SIGHUP');
    await waitUntil(() => daemon.logs().includes('"result":"invalid"'), 10_000);
    expect(await configError()).toMatch(/pools\[0\]\.subnet/);
    expect(await poolNames()).toEqual(['p:31', 'q:254']);
  });
});

describe('stale leases (netns gone, DEL lost)', () => {
  it('releases a lease once its netns has been gone for the grace period, and keeps live ones', async () => {
    const daemon = await startDaemon(undefined, ['--netns-grace-seconds', '1', '--netns-check-seconds', '1']);
    const client = ipamClient(daemon.socketPath);
    const live = uniqueName('berth-live-');
    const doomed = uniqueName('berth-gone-');
    try {
      await allocate(client, 'live', ['v4'], { netns: createNetns(live) });
      await allocate(client, 'doomed', ['v4'], { netns: createNetns(doomed) });
      await allocate(client, 'unknown', ['v4'], { netns: '/nonexistent-dir/ns' });
      deleteNetns(doomed);
      await waitUntil(() => daemon.logs().includes('"lease.stale_released"'), 10_000);
      const leases = (await client.call<{ leases: { containerId: string }[] }>('ListLeases', {})).leases.map((l) => l.containerId).sort();
      expect(leases).toEqual(['live', 'unknown']);
      expect(await metricValue(daemon, 'berth_stale_leases_released_total', 'reason="netns-gone"')).toBe(1);
    } finally {
      deleteNetns(live);
      deleteNetns(doomed);
      client.close();
      await daemon.dispose();
    }
  });

  it('at start, releases leases of an earlier boot whose netns is gone (unless told not to)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-reboot-'));
    const survivor = uniqueName('berth-surv-');
    try {
      const daemon = createDaemon(dir, 'pools: [{ name: p, subnet: 10.80.0.0/24 }]');
      const store = LeaseStore.open(daemon.dbPath);
      const survivorPath = createNetns(survivor);
      const lease = { pool: 'p', addressSpace: 'default', family: 4 as const, ifname: 'eth0', network: 'n', podNamespace: '', podName: '', podUid: '', createdAtMs: 1 };
      store.insertLease({ ...lease, address: 0x0a500005n, containerId: 'before-reboot', netns: '/var/run/netns/long-gone-ns', bootId: 'old-boot' });
      store.insertLease({ ...lease, address: 0x0a500006n, containerId: 'still-there', netns: survivorPath, bootId: 'old-boot' });
      store.close();

      await daemon.start(['--no-release-stale-on-boot']);
      const client = ipamClient(daemon.socketPath);
      expect((await client.call<{ leases: unknown[] }>('ListLeases', {})).leases).toHaveLength(2);
      await daemon.stop();
      await daemon.start();
      const left = (await client.call<{ leases: { containerId: string }[] }>('ListLeases', {})).leases.map((l) => l.containerId);
      expect(left).toEqual(['still-there']);
      await expect.poll(() => daemon.logs(), LOG_LINE_WAIT).toMatch(/"event":"lease.stale_released","reason":"reboot".*"containerId":"before-reboot"/);
      client.close();
      await daemon.dispose();
    } finally {
      deleteNetns(survivor);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
