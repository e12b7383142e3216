// Faults under --db: a full disk (a small tmpfs this test mounts) and the database file deleted
// or replaced while berthd runs. In both, no acknowledged lease is lost and nothing is silent.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseStore } from '../daemon/src/store/leaseStore.ts';
import { createDaemon, LOG_LINE_WAIT, startDaemon, type DaemonHandle } from './support/daemonProcess.ts';
import { ipamClient, type IpamTestClient } from './support/ipamTestClient.ts';

const CONFIG = `
pools:
  - name: v4
    subnet: 10.130.0.0/16
`;

function metricsUrl(daemon: DaemonHandle): string {
  const line = daemon.logs().split('\n').reverse().find((l) => l.includes('"daemon.started"'));
  return (JSON.parse(line ?? '{}') as { metrics: string }).metrics;
}

const allocate = (client: IpamTestClient, containerId: string) =>
  client.call<{ allocations: { address: string }[] }>('Allocate', { containerId, ifname: 'eth0', pools: ['v4'], network: 'faultnet' });

describe('disk full under --db', () => {
  const mountPoint = mkdtempSync(join(tmpdir(), 'berth-backup-diskfull-'));
  let daemon: DaemonHandle;
  let client: IpamTestClient;
  beforeAll(async () => {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m,mode=0700', 'berth-backup-diskfull', mountPoint]);
    daemon = createDaemon(mountPoint, CONFIG);
    await daemon.start();
    client = ipamClient(daemon.socketPath);
  });
  afterAll(async () => {
    client?.close();
    await daemon?.stop();
    spawnSync('umount', [mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  });

  it('ADD fails with CNI 5 and changes nothing; reads go on; it recovers by itself when space returns', async () => {
    for (let i = 0; i < 20; i++) await allocate(client, `before-${i}`);
    // Take every free block: the next write that needs one finds none.
    const filler = join(mountPoint, 'filler');
    spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k'], { stdio: 'ignore' });
    let failure: Awaited<ReturnType<IpamTestClient['fail']>> | undefined;
    let acknowledged = 20;
    let failedId = '';
    for (let i = 0; i < 5000 && failure === undefined; i++) {
      try {
        await allocate(client, `full-${i}`);
        acknowledged++;
      } catch {
        failedId = `full-${i}`;
        failure = await client.fail('Allocate', { containerId: failedId, ifname: 'eth0', pools: ['v4'], network: 'faultnet' });
      }
    }
    expect(failure, 'the disk never filled').toBeDefined();
    expect(failure).toMatchObject({ reason: 'STORE_FAILURE', cniCode: '5' });
    expect(failure!.details).toMatch(/SQLITE_FULL|nothing was changed/);
    // Reads are served, and show exactly the acknowledged leases.
    const leases = (await client.call<{ leases: { containerId: string }[] }>('ListLeases', {})).leases;
    expect(leases).toHaveLength(acknowledged);
    expect(leases.map((l) => l.containerId)).not.toContain(failedId);
    expect((await client.call<{ pools: { allocated: string }[] }>('Status', {})).pools[0]!.allocated).toBe(String(acknowledged));
    // Space comes back: the next ADD works, with no restart.
    unlinkSync(filler);
    const after = await allocate(client, failedId);
    expect(after.allocations).toHaveLength(1);
    expect(daemon.process.exitCode).toBeNull();
  });
});

describe('the database file deleted or replaced while berthd runs', () => {
  let daemon: DaemonHandle;
  let client: IpamTestClient;
  beforeAll(async () => {
    daemon = await startDaemon(CONFIG);
    client = ipamClient(daemon.socketPath);
  });
  afterAll(async () => {
    client.close();
    await daemon.dispose();
  });

  it.each(['deleted', 'replaced'] as const)('%s: writes are refused, reads go on, readyz, the log and a metric say why, and a rescue copy holds every lease', async (fault) => {
    await daemon.stop();
    for (const name of readdirSync(daemon.dir)) if (name.startsWith('leases.db')) rmSync(join(daemon.dir, name));
    await daemon.start();
    client.close();
    client = ipamClient(daemon.socketPath);
    for (let i = 0; i < 5; i++) await allocate(client, `${fault}-${i}`);
    if (fault === 'deleted') {
      unlinkSync(daemon.dbPath);
    } else {
      const other = join(daemon.dir, 'other.db');
      copyFileSync(daemon.dbPath, other);
      renameSync(other, daemon.dbPath);
    }
    // berthd looks once a second; on a busy machine give it a while.
    for (const deadline = Date.now() + 30_000; (await fetch(`${metricsUrl(daemon)}/readyz`)).status !== 503;) {
      if (Date.now() > deadline) throw new Error(`berthd did not notice the ${fault} database within 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const readyz = await (await fetch(`${metricsUrl(daemon)}/readyz`)).text();
    expect(readyz).toMatch(new RegExp(`was ${fault}( by another file)? while berthd had it open; every lease acknowledged so far is saved in `));
    const refused = await client.fail('Allocate', { containerId: `${fault}-late`, ifname: 'eth0', pools: ['v4'], network: 'faultnet' });
    expect(refused).toMatchObject({ reason: 'STORE_FAILURE', cniCode: '5' });
    expect(refused.details).toContain(`was ${fault}`);
    expect((await client.call<{ leases: unknown[] }>('ListLeases', {})).leases).toHaveLength(5);
    expect(await (await fetch(`${metricsUrl(daemon)}/metrics`)).text()).toMatch(/^berth_store_file_lost 1$/m);
    await expect.poll(() => daemon.logs(), LOG_LINE_WAIT).toContain('"event":"store.file_lost"');
    const rescue = readdirSync(daemon.dir).find((name) => name.startsWith('leases.db.rescued-'));
    expect(rescue).toBeDefined();
    const copy = LeaseStore.open(join(daemon.dir, rescue!));
    try {
      expect(copy.listLeases({}).map((lease) => lease.containerId).sort()).toEqual([0, 1, 2, 3, 4].map((i) => `${fault}-${i}`));
    } finally {
      copy.close();
    }
    rmSync(join(daemon.dir, rescue!));
    expect(existsSync(daemon.dbPath)).toBe(fault === 'replaced');
  });
});
