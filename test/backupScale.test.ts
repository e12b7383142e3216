// Backup, restore and listing past what one gRPC message holds: ListLeases pages on a keyset,
// berthctl export and import stream, ImportLeasesStream restores all or none in one transaction,
// and cooling leases and prefixes travel with the backup.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type DaemonHandle } from './support/daemonProcess.ts';
import { berthctl } from './support/berthctlExec.ts';
import { ipamClient, type IpamTestClient } from './support/ipamTestClient.ts';
import { connectIpam, IpamCallError } from '../daemon/src/grpc/ipamClient.ts';
import { callByReflection } from './support/reflectionClient.ts';

const CONFIG = `
pools:
  - name: big
    subnet: 10.120.0.0/16
  - name: slow
    subnet: 10.121.0.0/24
    reclaimDelaySeconds: 600
  - name: blocks
    kind: prefix
    subnet: 10.122.0.0/16
    prefixLength: 24
    reclaimDelaySeconds: 600
`;

/** More leases than one 1 MiB request can carry (~250 bytes each): only a stream restores them. */
const LEASES = 8000;

interface LeaseMessage { pool: string; address: string; containerId: string; state: string; reusableAtUnixMs: number }
interface LeasePageReply { leases: LeaseMessage[]; nextPageToken: string }

/** A container id as long as a runtime's (64 characters). */
function containerOf(i: number): string {
  return `restore-${String(i).padStart(6, '0')}-`.padEnd(64, 'f');
}

function addressOf(i: number): string {
  return `10.120.${Math.floor((i + 2) / 256)}.${(i + 2) % 256}`;
}

/** A backup as an older berthctl wrote it: one pretty-printed document. */
function writeGeneratedBackup(path: string, conflictAt?: number): void {
  const leases = Array.from({ length: LEASES }, (_, i) => ({
    pool: 'big', address: addressOf(i), containerId: containerOf(i), ifname: 'eth0', network: 'scalenet',
    podNamespace: 'scale', podName: `pod-${i}`, podUid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    netns: `/var/run/netns/cni-${i}`, bootId: '', createdAtUnixMs: 1_700_000_000_000 + i, networkInstance: 'default', state: 'ACTIVE',
  }));
  if (conflictAt !== undefined) leases[conflictAt] = { ...leases[conflictAt]!, address: addressOf(0) };
  writeFileSync(path, JSON.stringify({ format: 'berth-leases/v1', exportedAtUnixMs: Date.now(), leases, prefixes: [] }, null, 2));
}

async function allPages(client: IpamTestClient, filter: object, pageSize: number, between?: (page: number) => Promise<void>): Promise<LeaseMessage[][]> {
  const pages: LeaseMessage[][] = [];
  let pageToken = '';
  do {
    const reply = await client.call<LeasePageReply>('ListLeases', { ...filter, pageSize, pageToken });
    pages.push(reply.leases);
    pageToken = reply.nextPageToken;
    await between?.(pages.length);
  } while (pageToken !== '');
  return pages;
}

// Each case runs berthctl over thousands of leases, several times: generous on a busy machine.
describe('backup and listing at scale', { timeout: 240_000 }, () => {
  let source: DaemonHandle;
  let client: IpamTestClient;
  let backup: string;
  beforeAll(async () => {
    source = await startDaemon(CONFIG);
    client = ipamClient(source.socketPath);
    backup = join(source.dir, 'backup.json');
  });
  afterAll(async () => {
    client.close();
    await source.dispose();
  });

  it('berthctl import streams a backup larger than one request into one transaction', async () => {
    const generated = join(source.dir, 'generated.json');
    writeGeneratedBackup(generated);
    const imported = berthctl(source.socketPath, '--timeout', '60', 'import', generated);
    expect(imported.stderr).toBe('');
    expect(imported.stdout).toBe(`imported ${LEASES} lease(s), 0 already present; 0 prefix lease(s), 0 already present\n`);
    const unary = await client.fail('ImportLeases', JSON.parse(readFileSync(generated, 'utf8')) as object);
    expect(unary.code).toBe(8); // RESOURCE_EXHAUSTED: over the 1 MiB request limit, which is why the stream exists
  });

  it('pages ListLeases on a keyset: every lease present throughout comes exactly once while others come and go', async () => {
    let churn = 0;
    const pages = await allPages(client, { pool: 'big' }, 1000, async (page) => {
      // Between pages: release a lease already listed and one not yet listed, add a new one.
      await client.call('Release', { containerId: containerOf(page * 7), ifname: 'eth0', pools: [] });
      await client.call('Release', { containerId: containerOf(LEASES - page), ifname: 'eth0', pools: [] });
      await client.call('Allocate', { containerId: `churn-${churn++}`, ifname: 'eth0', pools: ['big'], network: 'scalenet' });
    });
    const listed = pages.flat().map((lease) => lease.containerId);
    expect(new Set(listed).size).toBe(listed.length);
    expect(pages.slice(0, -1).every((page) => page.length === 1000)).toBe(true);
    const touched = new Set(Array.from({ length: pages.length }, (_, i) => [(i + 1) * 7, LEASES - i - 1]).flat());
    const listedSet = new Set(listed);
    const missing = Array.from({ length: LEASES }, (_, i) => i).filter((i) => !touched.has(i) && !listedSet.has(containerOf(i)));
    expect(missing).toEqual([]);
    // Addresses come in order within the pool.
    const addresses = pages.flat().map((lease) => lease.address.split('.').map(Number).reduce((sum, octet) => sum * 256 + octet, 0));
    expect(addresses).toEqual([...addresses].sort((a, b) => a - b));
  });

  it('answers a caller that does not page with one page of everything (up to 10000), and refuses a page token it did not issue', async () => {
    const all = await client.call<LeasePageReply>('ListLeases', {});
    expect(all.leases.length).toBeGreaterThan(LEASES - 100);
    expect(all.nextPageToken).toBe('');
    const huge = await client.call<LeasePageReply>('ListLeases', { pageSize: 4_000_000_000 });
    expect(huge.leases).toHaveLength(all.leases.length);
    const bad = await client.fail('ListLeases', { pageToken: 'bm90LWEtdG9rZW4' });
    expect(bad).toMatchObject({ code: 3, reason: 'INVALID_ARGUMENT' });
    expect(bad.details).toMatch(/^page_token: /);
    // As grpcurl calls it: by reflection, with the proto's JSON names.
    const byReflection = await callByReflection(source.socketPath, 'berth.ipam.v1.Ipam', 'ListLeases', { pool: 'big', pageSize: 2 }) as LeasePageReply;
    expect(byReflection.leases).toHaveLength(2);
    const next = await callByReflection(source.socketPath, 'berth.ipam.v1.Ipam', 'ListLeases', { pool: 'big', pageSize: 2, pageToken: byReflection.nextPageToken }) as LeasePageReply;
    expect(next.leases[0]!.address).not.toBe(byReflection.leases[1]!.address);
  });

  it('exports every lease, cooling ones and prefixes included, and restores them as they were', async () => {
    await client.call('Allocate', { containerId: 'cooler', ifname: 'eth0', pools: ['slow'], network: 'scalenet', podNamespace: 'ns', podName: 'cool-0' });
    await client.call('Release', { containerId: 'cooler', ifname: 'eth0', pools: [] });
    const [cooling] = (await client.call<LeasePageReply>('ListLeases', { pool: 'slow' })).leases;
    expect(cooling).toMatchObject({ state: 'COOLING', containerId: 'cooler' });
    await client.call('AllocatePrefix', { pool: 'blocks', owner: 'node/a' });
    await client.call('ReleasePrefix', { pool: 'blocks', owner: 'node/a' });
    await client.call('AllocatePrefix', { pool: 'blocks', owner: 'node/b' });
    const before = (await allPages(client, {}, 5000)).flat();

    const exported = berthctl(source.socketPath, 'export', '--output', backup);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stderr).toBe(`exported ${before.length} lease(s) and 2 prefix lease(s) to ${backup}\n`);
    const text = readFileSync(backup, 'utf8');
    // One lease per line (read back a line at a time), and one JSON document (jq reads it).
    expect(text.split('\n').length).toBe(before.length + 6);
    const written = JSON.parse(text) as { leases: LeaseMessage[]; prefixes: { owner: string; state: string }[] };
    expect(written.leases).toEqual(before);
    expect(written.prefixes.map((p) => `${p.owner} ${p.state}`).sort()).toEqual(['node/a COOLING', 'node/b ACTIVE']);
    const toStdout = berthctl(source.socketPath, 'export');
    const undated = (written: string) => written.replace(/"exportedAtUnixMs":\d+/, '"exportedAtUnixMs":0');
    expect(undated(toStdout.stdout) === undated(text)).toBe(true);

    const target = await startDaemon(CONFIG);
    const targetClient = ipamClient(target.socketPath);
    try {
      const restored = berthctl(target.socketPath, '--timeout', '60', 'import', backup);
      expect(restored.stdout, restored.stderr).toBe(`imported ${before.length} lease(s), 0 already present; 2 prefix lease(s), 0 already present\n`);
      const after = (await allPages(targetClient, {}, 5000)).flat();
      expect(after).toEqual(before);
      expect(after.find((lease) => lease.containerId === 'cooler')).toEqual(cooling);
      // Importing the same backup again changes nothing.
      expect(berthctl(target.socketPath, '--timeout', '60', 'import', backup).stdout).toBe(`imported 0 lease(s), ${before.length} already present; 0 prefix lease(s), 2 already present\n`);
      // The cooling address is still kept from others, and its owner gets it back.
      const taken = await targetClient.fail('Allocate', { containerId: 'other', ifname: 'eth0', pools: ['slow'], requestedIps: [cooling!.address] });
      expect(taken.reason).toBe('ADDRESS_IN_USE');
      const back = await targetClient.call<{ allocations: { address: string }[] }>('Allocate', { containerId: 'cooler-2', ifname: 'eth0', pools: ['slow'], podNamespace: 'ns', podName: 'cool-0' });
      expect(back.allocations[0]!.address).toBe(`${cooling!.address}/24`);
      const prefixes = (await targetClient.call<{ prefixes: { owner: string; state: string }[] }>('ListPrefixes', {})).prefixes;
      expect(prefixes.map((p) => `${p.owner} ${p.state}`).sort()).toEqual(['node/a COOLING', 'node/b ACTIVE']);
    } finally {
      targetClient.close();
      await target.dispose();
    }
  });

  it('refuses the whole stream for one conflict at its very end, and a file cut short before sending it', async () => {
    const target = await startDaemon(CONFIG);
    const targetClient = ipamClient(target.socketPath);
    try {
      const conflicting = join(target.dir, 'conflicting.json');
      writeGeneratedBackup(conflicting, LEASES - 1);
      const refused = berthctl(target.socketPath, '--timeout', '60', 'import', conflicting);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`import refused, nothing was imported: 1 conflict(s): leases[${LEASES - 1}]: ${addressOf(0)} is leased to container ${containerOf(0)}`);
      expect((await targetClient.call<LeasePageReply>('ListLeases', {})).leases).toEqual([]);

      const cut = join(target.dir, 'cut.json');
      const text = readFileSync(backup, 'utf8');
      writeFileSync(cut, text.slice(0, Math.floor(text.length * 0.6)));
      const damaged = berthctl(target.socketPath, 'import', cut);
      expect(damaged.code).toBe(2);
      expect(damaged.stderr).toMatch(/ends early|not JSON/);
      expect((await targetClient.call<LeasePageReply>('ListLeases', {})).leases).toEqual([]);
    } finally {
      targetClient.close();
      await target.dispose();
    }
  });

  it('tells leases present already from conflicts, and after a refused stream holds exactly what it held', async () => {
    const target = await startDaemon(CONFIG);
    const raw = connectIpam(target.socketPath);
    const usage = async () => (await raw.call<{ pools: { name: string; allocated: string }[] }>('ListPools')).pools.find((p) => p.name === 'big')!.allocated;
    const lease = (containerId: string, address: string) => ({ pool: 'big', address, containerId, ifname: 'eth0', network: 'scalenet', podNamespace: '', podName: '',
      podUid: '', netns: '', bootId: '', createdAtUnixMs: 1_700_000_000_000, addressSpace: 'default', state: 'ACTIVE' });
    const restore = async (leases: object[]) => {
      const stream = raw.stream<{ imported: number; alreadyPresent: number }>('ImportLeasesStream');
      await stream.write({ leases, prefixes: [] });
      return stream.end();
    };
    try {
      await raw.call('Allocate', { containerId: 'held', ifname: 'eth0', pools: ['big'], network: 'scalenet' });
      const held = (await raw.call<LeasePageReply>('ListLeases', {})).leases;
      expect(await usage()).toBe('1');
      // The same lease twice in a stream, and an attachment that holds another address already.
      const refused = await restore([lease('c1', '10.120.9.1'), lease('c1', '10.120.9.1'), lease('held', '10.120.9.2')]).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(IpamCallError);
      expect((refused as IpamCallError).details).toContain(`1 conflict(s): leases[2]: container held ifname eth0 already holds ${held[0]!.address} in pool "big"`);
      // Rolled back in the database and in memory: the pool counts what it held before.
      expect((await raw.call<LeasePageReply>('ListLeases', {})).leases).toEqual(held);
      expect(await usage()).toBe('1');
      expect(await restore([lease('c1', '10.120.9.1'), lease('c1', '10.120.9.1')])).toMatchObject({ imported: 1, alreadyPresent: 1 });
      expect(await usage()).toBe('2');
      const taken = await raw.call('Allocate', { containerId: 'other', ifname: 'eth0', pools: ['big'], requestedIps: ['10.120.9.1'] }).catch((error: unknown) => error);
      expect((taken as IpamCallError).reason).toBe('ADDRESS_IN_USE');
    } finally {
      raw.close();
      await target.dispose();
    }
  });
});
