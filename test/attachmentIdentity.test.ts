// Attachment identity and all-or-nothing through the real plugin binary against a real berthd:
// the whereabouts StatefulSet lesson (a new pod reusing a pod name is a new attachment; a late DEL
// for the old container never frees the new pod's address), multi-pool ADDs that fail half-way
// leaving nothing behind, and IPv6 excludes and ranges behaving exactly like IPv4.
import { describe, expect, it } from 'vitest';
import type { ExecResult } from './support/cniExec.ts';
import { useDaemon } from './support/daemonFixture.ts';
import { runShim } from './support/shimExec.ts';

const CONFIG = `
pools:
  - name: sts-v4
    subnet: 10.160.0.0/24
  - name: sts-cool
    subnet: 10.161.0.0/24
    reclaimDelaySeconds: 300
  - name: big
    subnet: 10.162.0.0/24
  - name: big-v6
    subnet: fd00:162::/64
  - name: full
    subnet: 10.163.0.0/30
  # The same layout in both families: range 0x10-0x1f, gateway 0x11, excluded 0x10, 0x12-0x13 (a
  # CIDR) and 0x19. Free: 0x14-0x18 and 0x1a-0x1f, eleven addresses each.
  - name: ex-v4
    subnet: 10.164.0.0/24
    gateway: 10.164.0.17
    ranges: [{ start: 10.164.0.16, end: 10.164.0.31 }]
    exclude: [10.164.0.16, 10.164.0.18/31, 10.164.0.25]
  - name: ex-v6
    subnet: fd00:164::/64
    gateway: fd00:164::11
    ranges: [{ start: "fd00:164::10", end: "fd00:164::1f" }]
    exclude: ["fd00:164::10", "fd00:164::12/127", "fd00:164::19"]
`;

interface Lease { pool: string; address: string; containerId: string; ifname: string; podName: string; podUid: string; state: string }
interface LeasesReply { leases: Lease[] }

const pod = (name: string, uid: string) => `IgnoreUnknown=1;K8S_POD_NAMESPACE=db;K8S_POD_NAME=${name};K8S_POD_UID=${uid};K8S_POD_INFRA_CONTAINER_ID=x`;
const shown = (result: ExecResult) => `exit ${result.code}: ${result.stdout}${result.stderr}`;
const addressesOf = (result: ExecResult) => ((result.json?.ips ?? []) as { address: string }[]).map((entry) => entry.address);

describe('attachment identity through dist/berth', () => {
  const env = useDaemon(CONFIG);
  const conf = (pools: readonly string[], name = 'idnet', extra: Record<string, unknown> = {}) =>
    ({ cniVersion: '1.0.0', name, type: 'bridge', ...extra, ipam: { type: 'berth', socket: env.daemon.socketPath, pools } });
  const leasesOf = async (filter: object) => (await env.client.call<LeasesReply>('ListLeases', filter)).leases;
  const allocated = async () => Object.fromEntries((await env.client.call<{ pools: { name: string; allocated: string }[] }>('ListPools')).pools.map((p) => [p.name, p.allocated]));
  const add = async (containerId: string, pools: readonly string[], args?: string, extra: Record<string, unknown> = {}) =>
    runShim({ command: 'ADD', containerId, ...(args ? { args } : {}) }, conf(pools, 'idnet', extra));


  it('a new pod reusing a StatefulSet name gets its own lease; a late DEL of the old container leaves it alone', async () => {
    const old = await add('sts-old', ['sts-v4'], pod('web-0', 'uid-1'));
    expect(old.code, shown(old)).toBe(0);
    // The old sandbox's DEL has not come yet when the new one is set up (a lost node, a slow kubelet).
    const fresh = await add('sts-new', ['sts-v4'], pod('web-0', 'uid-2'));
    expect(fresh.code, shown(fresh)).toBe(0);
    const [oldAddress] = addressesOf(old);
    const [newAddress] = addressesOf(fresh);
    expect(newAddress).not.toBe(oldAddress);
    const both = await leasesOf({ pool: 'sts-v4' });
    expect(both.map((l) => `${l.containerId} ${l.podName} ${l.podUid}`).sort()).toEqual(['sts-new web-0 uid-2', 'sts-old web-0 uid-1']);

    const lateDel = await runShim({ command: 'DEL', containerId: 'sts-old', args: pod('web-0', 'uid-1') }, conf(['sts-v4']));
    expect(lateDel.code, shown(lateDel)).toBe(0);
    const after = await leasesOf({ pool: 'sts-v4' });
    expect(after.map((l) => `${l.containerId} ${l.address}`)).toEqual([`sts-new ${newAddress!.split('/')[0]}`]);
    const check = await runShim({ command: 'CHECK', containerId: 'sts-new' }, { ...conf(['sts-v4']), prevResult: fresh.json });
    expect(check.code, shown(check)).toBe(0);
    // And a DEL retried for the old container, after all that, still changes nothing.
    expect((await runShim({ command: 'DEL', containerId: 'sts-old' }, conf(['sts-v4']))).code).toBe(0);
    expect(await leasesOf({ pool: 'sts-v4' })).toEqual(after);
  });

  it('with a reclaim delay the restarted pod gets its old address back, and a duplicate late DEL of the old container does not free it', async () => {
    const first = await add('cool-old', ['sts-cool'], pod('db-1', 'uid-a'));
    expect(first.code, shown(first)).toBe(0);
    const [address] = addressesOf(first);
    expect((await runShim({ command: 'DEL', containerId: 'cool-old' }, conf(['sts-cool']))).code).toBe(0);
    expect((await leasesOf({ pool: 'sts-cool' })).map((l) => l.state)).toEqual(['COOLING']);

    const second = await add('cool-new', ['sts-cool'], pod('db-1', 'uid-b'));
    expect(second.code, shown(second)).toBe(0);
    expect(addressesOf(second)).toEqual([address]);
    const lateDel = await runShim({ command: 'DEL', containerId: 'cool-old' }, conf(['sts-cool']));
    expect(lateDel.code, shown(lateDel)).toBe(0);
    const held = await leasesOf({ pool: 'sts-cool' });
    expect(held.map((l) => `${l.containerId} ${l.address} ${l.state} ${l.podUid}`)).toEqual([`cool-new ${address!.split('/')[0]} ACTIVE uid-b`]);
    expect((await runShim({ command: 'CHECK', containerId: 'cool-new' }, { ...conf(['sts-cool']), prevResult: second.json })).code).toBe(0);
    // Another pod asking for that address is told who holds it.
    const other = await add('cool-other', ['sts-cool'], pod('db-2', 'uid-c'), { runtimeConfig: { ips: [address] } });
    expect(other.json, shown(other)).toMatchObject({ code: 102 });
    expect(String(other.json?.msg)).toContain('cool-new');
  });

  it('an ADD repeated with another requested address is refused naming what the attachment holds, and changes nothing', async () => {
    const first = await add('re-add', ['big'], undefined, { runtimeConfig: { ips: ['10.162.0.60'] } });
    expect(addressesOf(first), shown(first)).toEqual(['10.162.0.60/24']);
    const same = await add('re-add', ['big'], undefined, { runtimeConfig: { ips: ['10.162.0.60/24'] } });
    expect(addressesOf(same), shown(same)).toEqual(['10.162.0.60/24']);
    const other = await add('re-add', ['big'], undefined, { runtimeConfig: { ips: ['10.162.0.61'] } });
    expect(other.json, shown(other)).toMatchObject({ code: 7 });
    expect(String(other.json?.msg)).toContain('requested 10.162.0.61 in pool "big", but container re-add ifname eth0 already holds 10.162.0.60');
    expect((await leasesOf({ containerId: 're-add' })).map((l) => l.address)).toEqual(['10.162.0.60']);
    // 10.162.0.61 was never taken: someone else can have it.
    const taker = await add('re-add-2', ['big'], undefined, { runtimeConfig: { ips: ['10.162.0.61'] } });
    expect(addressesOf(taker), shown(taker)).toEqual(['10.162.0.61/24']);
    for (const id of ['re-add', 're-add-2']) expect((await runShim({ command: 'DEL', containerId: id }, conf(['big']))).code).toBe(0);
  });

  it('GC keys on the attachment, not the pod name: the stale sandbox of a reused name is freed, the live one kept', async () => {
    expect((await add('gc-old', ['sts-v4'], pod('web-9', 'uid-x'))).code).toBe(0);
    expect((await add('gc-new', ['sts-v4'], pod('web-9', 'uid-y'))).code).toBe(0);
    const gc = await runShim({ command: 'GC', env: { CNI_CONTAINERID: undefined, CNI_IFNAME: undefined, CNI_NETNS: undefined } },
      { ...conf(['sts-v4'], 'idnet'), cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: 'gc-new', ifname: 'eth0' }, { containerID: 'sts-new', ifname: 'eth0' }, { containerID: 'cool-new', ifname: 'eth0' }] });
    expect(gc.code, shown(gc)).toBe(0);
    expect((await leasesOf({ pool: 'sts-v4' })).map((l) => l.containerId).sort()).toEqual(['gc-new', 'sts-new']);
  });

  it('a multi-pool ADD whose second pool is exhausted leaves nothing in the first', async () => {
    for (const id of ['full-1', 'full-2']) expect((await add(id, ['full'])).code).toBe(0);
    const before = await allocated();
    for (const pools of [['big', 'full'], ['big', 'big-v6', 'full']]) {
      const failed = await add('half', pools);
      expect(failed.json, shown(failed)).toMatchObject({ code: 100 });
      expect(String(failed.json?.msg)).toContain('pool "full" is exhausted');
      expect(await leasesOf({ containerId: 'half' })).toEqual([]);
    }
    // The same for a second pool refusing a requested address (held, then outside the pool).
    const held = await add('held-v6', ['big-v6'], undefined, { runtimeConfig: { ips: ['fd00:162::77'] } });
    expect(held.code, shown(held)).toBe(0);
    const conflict = await add('half', ['big', 'big-v6'], undefined, { runtimeConfig: { ips: ['10.162.0.50', 'fd00:162::77'] } });
    expect(conflict.json, shown(conflict)).toMatchObject({ code: 102 });
    const outside = await add('half', ['big', 'big-v6'], undefined, { runtimeConfig: { ips: ['fd00:999::1'] } });
    expect(outside.json, shown(outside)).toMatchObject({ code: 103 });
    expect(await leasesOf({ containerId: 'half' })).toEqual([]);
    expect(await allocated()).toEqual({ ...before, 'big-v6': String(Number(before['big-v6']) + 1) });
    // The address it asked for in the first pool is still free for anyone.
    const later = await add('later', ['big'], undefined, { runtimeConfig: { ips: ['10.162.0.50'] } });
    expect(addressesOf(later), shown(later)).toEqual(['10.162.0.50/24']);
  });

  it('races: 20 concurrent ADDs of one attachment get one address per pool; 20 attachments racing for one address, one wins', async () => {
    const same = await Promise.all(Array.from({ length: 20 }, () => add('race-same', ['big', 'big-v6'])));
    for (const result of same) expect(result.code, shown(result)).toBe(0);
    expect(new Set(same.map((result) => addressesOf(result).join(' '))).size).toBe(1);
    expect(await leasesOf({ containerId: 'race-same' })).toHaveLength(2);

    const racing = await Promise.all(Array.from({ length: 20 }, (_, i) => add(`race-${i}`, ['big'], undefined, { runtimeConfig: { ips: ['10.162.0.99'] } })));
    const winners = racing.filter((result) => result.code === 0);
    expect(winners.map(addressesOf)).toEqual([['10.162.0.99/24']]);
    for (const loser of racing.filter((result) => result.code !== 0)) {
      expect(loser.json, shown(loser)).toMatchObject({ code: 102 });
      expect(String(loser.json?.msg)).toMatch(/10\.162\.0\.99 in pool "big" is leased to container race-\d+/);
    }
    const holders = (await leasesOf({ pool: 'big' })).filter((l) => l.address === '10.162.0.99');
    expect(holders).toHaveLength(1);
    expect(await Promise.all(Array.from({ length: 20 }, async (_, i) => (await leasesOf({ containerId: `race-${i}` })).length)))
      .toEqual(Array.from({ length: 20 }, (_, i) => (racing[i]!.code === 0 ? 1 : 0)));
  });

  it('IPv6 excludes, gateway and ranges behave exactly like IPv4', async () => {
    // Requests for reserved or out-of-range addresses are refused alike in both families.
    const refusals: [string, string][] = [
      ['10.164.0.16', 'fd00:164::10'], // excluded address
      ['10.164.0.17', 'fd00:164::11'], // gateway
      ['10.164.0.19', 'fd00:164::13'], // inside an excluded CIDR
      ['10.164.0.25', 'fd00:164::19'], // excluded address
      ['10.164.0.32', 'fd00:164::20'], // in the subnet, outside the range
    ];
    for (const [v4, v6] of refusals) {
      for (const [address, pool] of [[v4, 'ex-v4'], [v6, 'ex-v6']] as const) {
        const refused = await add('ex-req', [pool], undefined, { runtimeConfig: { ips: [address] } });
        expect(refused.json, `${address}: ${shown(refused)}`).toMatchObject({ code: 103 });
        expect(String(refused.json?.msg)).toContain(address);
      }
    }
    expect(await leasesOf({ containerId: 'ex-req' })).toEqual([]);

    // Eleven dual-stack ADDs at once take exactly the eleven free offsets, the same in both families.
    const results = await Promise.all(Array.from({ length: 11 }, (_, i) => add(`ex-${i}`, ['ex-v4', 'ex-v6'])));
    const offsets = { v4: new Set<number>(), v6: new Set<number>() };
    for (const result of results) {
      expect(result.code, shown(result)).toBe(0);
      const [v4, v6] = addressesOf(result);
      expect(v4).toMatch(/^10\.164\.0\.\d+\/24$/);
      expect(v6).toMatch(/^fd00:164::[0-9a-f]+\/64$/);
      offsets.v4.add(Number(v4!.split('/')[0]!.split('.')[3]));
      offsets.v6.add(Number.parseInt(v6!.split('/')[0]!.split(':').pop()!, 16));
    }
    const free = [0x14, 0x15, 0x16, 0x17, 0x18, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f];
    expect([...offsets.v4].sort((a, b) => a - b)).toEqual(free);
    expect([...offsets.v6].sort((a, b) => a - b)).toEqual(free);

    // Both exhausted: the twelfth fails with 100 and holds nothing in either.
    const twelfth = await add('ex-11', ['ex-v4', 'ex-v6']);
    expect(twelfth.json, shown(twelfth)).toMatchObject({ code: 100 });
    expect(String(twelfth.json?.msg)).toMatch(/pool "ex-v(4|6)" is exhausted: all 11 /);
    for (const pool of ['ex-v6', 'ex-v4']) {
      const alone = await add('ex-11', [pool]);
      expect(alone.json, shown(alone)).toMatchObject({ code: 100 });
      expect(String(alone.json?.msg)).toContain(`pool "${pool}" is exhausted: all 11 `);
    }
    expect(await leasesOf({ containerId: 'ex-11' })).toEqual([]);

    // A freed address is found again in either family, whatever its textual form in the request.
    expect((await runShim({ command: 'DEL', containerId: 'ex-0' }, conf(['ex-v4', 'ex-v6']))).code).toBe(0);
    const [freedV4, freedV6] = addressesOf(results[0]!).map((a) => a.split('/')[0]!);
    const longForm = freedV6!.replace('fd00:164::', 'fd00:0164:0000:0000:0000:0000:0000:00');
    const back = await add('ex-back', ['ex-v4', 'ex-v6'], undefined, { args: { cni: { ips: [freedV4, longForm] } } });
    expect(addressesOf(back), shown(back)).toEqual([`${freedV4}/24`, `${freedV6}/64`]);
    // The same address in another textual form is still the same address: held.
    const again = await add('ex-dup', ['ex-v6'], undefined, { args: { cni: { ips: [longForm.toUpperCase()] } } });
    expect(again.json, shown(again)).toMatchObject({ code: 102 });
  });
});
