// Writes wait in berthd's commit queue; a restore of many leases holds it (one transaction, all or
// none) while berthd goes on reading requests. An ADD whose caller's deadline passes while it
// waits there is not done: the caller has gone and will retry, and a lease made for it would be a
// lease nobody knows of. An ADD whose caller still waits is done once the restore has committed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectIpam, IpamCallError, type IpamClient } from '../daemon/src/grpc/ipamClient.ts';
import { GrpcStatus } from '../daemon/src/errors.ts';
import { startDaemon, type DaemonHandle } from './support/daemonProcess.ts';

const CONFIG = `
pools:
  - name: big
    subnet: 10.128.0.0/14
  - name: other
    subnet: 10.140.0.0/24
`;

/** Enough that restoring them takes far longer than the short deadline, even on a fast machine. */
const LEASES = 150_000;
const PER_MESSAGE = 2500;

function leaseOf(i: number) {
  return {
    pool: 'big', address: `10.${128 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, containerId: `deadline-${i}`, ifname: 'eth0',
    network: 'deadlinenet', podNamespace: 'ns', podName: `pod-${i}`, podUid: '', netns: '', bootId: '', createdAtUnixMs: 1_700_000_000_000,
    addressSpace: 'default', state: 'ACTIVE',
  };
}

describe('a write whose deadline passed while it waited', { timeout: 240_000 }, () => {
  let daemon: DaemonHandle;
  let client: IpamClient;
  beforeAll(async () => {
    daemon = await startDaemon(CONFIG);
    client = connectIpam(daemon.socketPath);
  });
  afterAll(async () => {
    client?.close();
    await daemon?.dispose();
  });

  it('is not done (DEADLINE_EXCEEDED, no lease); one whose caller still waits is done after the restore', async () => {
    const stream = client.stream<{ imported: number }>('ImportLeasesStream');
    // 10.128.0.0 and .1 are the subnet's network address and gateway: start at 2.
    for (let first = 2; first < LEASES + 2; first += PER_MESSAGE) {
      await stream.write({ leases: Array.from({ length: Math.min(PER_MESSAGE, LEASES + 2 - first) }, (_, k) => leaseOf(first + k)), prefixes: [] });
    }
    const restored = stream.end();
    // The restore has begun once its first rows show (reads on berthd's connection see its open
    // transaction); from then on until it commits, every write waits behind it.
    while ((await client.call<{ leases: unknown[] }>('ListLeases', { pool: 'big', pageSize: 1 })).leases.length === 0) { /* again */ }
    const late = client.call('Allocate', { containerId: 'late', ifname: 'eth0', pools: ['other'], network: 'deadlinenet' }, 400)
      .then(() => undefined, (error: unknown) => error);
    const patient = client.call<{ allocations: { address: string }[] }>('Allocate',
      { containerId: 'patient', ifname: 'eth0', pools: ['other'], network: 'deadlinenet' }, 200_000);

    expect((await restored).imported).toBe(LEASES);
    const failure = await late;
    expect(failure).toBeInstanceOf(IpamCallError);
    expect((failure as IpamCallError).code).toBe(GrpcStatus.DEADLINE_EXCEEDED);
    expect((await patient).allocations).toHaveLength(1);

    // berthd itself dropped it (not only the client giving up), and wrote nothing for it.
    await expect.poll(() => daemon.logs()).toContain('the request deadline passed while it waited for the lease database');
    const other = await client.call<{ leases: { containerId: string }[] }>('ListLeases', { pool: 'other' });
    expect(other.leases.map((lease) => lease.containerId)).toEqual(['patient']);
  });
});
