// Every verb under every cniVersion, through the real plugin binary (dist/berth) against a real
// berthd: result shapes per version, CHECK/DEL semantics, the GC and STATUS gates of 1.1.0, GC
// scoping by network and attachment, and STATUS when a pool is exhausted or the daemon is down.
// (Debian's containernetworking-plugins 1.1.1 stop at 1.0.0, so 1.1.0 is covered here, not in
// pluginChain.test.ts.)
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SUPPORTED_VERSIONS } from '../cni-shim/src/cni/versions.ts';
import type { ExecResult } from './support/cniExec.ts';
import { useDaemon } from './support/daemonFixture.ts';
import { runShim } from './support/shimExec.ts';

const CONFIG = `
pools:
  - name: mx-v4
    subnet: 10.140.0.0/24
    gateway: 10.140.0.1
    routes: [{ dst: 0.0.0.0/0 }, { dst: 192.168.140.0/24, gw: 10.140.0.254 }]
    dns: { nameservers: [10.140.0.53], domain: mx.local, search: [svc.mx.local], options: ["ndots:3"] }
  - name: mx-v6
    subnet: fd00:140::/64
    gateway: fd00:140::1
    routes: [{ dst: "::/0" }]
  - name: gc-v4
    subnet: 10.141.0.0/24
  - name: mx-tiny
    subnet: 10.142.0.0/30
`;

const MODERN = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
const GC_ENV = { CNI_CONTAINERID: undefined, CNI_IFNAME: undefined, CNI_NETNS: undefined };

interface LeasesReply { leases: { pool: string; address: string; containerId: string; ifname: string; network: string }[] }

function output(result: ExecResult): string {
  return `exit ${result.code}\n${result.stdout}${result.stderr}`;
}

describe('CNI version matrix through dist/berth', () => {
  const env = useDaemon(CONFIG);
  const conf = (cniVersion: string, name: string, ipam: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
    ({ cniVersion, name, type: 'bridge', ...extra, ipam: { type: 'berth', socket: env.daemon.socketPath, pools: ['mx-v4', 'mx-v6'], ...ipam } });
  const leasesOf = async (filter: object) => (await env.client.call<LeasesReply>('ListLeases', filter)).leases;


  for (const version of MODERN) {
    it(`${version}: ADD result shape, CHECK with prevResult, DEL twice, DEL of nothing, VERSION`, async () => {
      const network = `mx-${version}`;
      const config = conf(version, network);
      const containerId = `mx-${version.replaceAll('.', '')}`;
      const add = await runShim({ command: 'ADD', containerId }, config);
      expect(add.code, output(add)).toBe(0);
      const result = add.json!;
      expect(Object.keys(result).sort()).toEqual(['cniVersion', 'dns', 'ips', 'routes']);
      expect(result.cniVersion).toBe(version);
      const ips = result.ips as { version?: string; address: string; gateway?: string; interface?: number }[];
      expect(ips).toHaveLength(2);
      const [v4, v6] = ips;
      expect(v4?.address).toMatch(/^10\.140\.0\.\d+\/24$/);
      expect(v6?.address).toMatch(/^fd00:140::[0-9a-f]+\/64$/);
      expect(v4?.gateway).toBe('10.140.0.1');
      expect(v6?.gateway).toBe('fd00:140::1');
      if (version === '1.0.0' || version === '1.1.0') {
        expect(ips.every((ip) => !('version' in ip))).toBe(true);
      } else {
        expect(ips.map((ip) => ip.version)).toEqual(['4', '6']);
      }
      // An IPAM plugin never reports interfaces.
      expect(JSON.stringify(result)).not.toContain('interface');
      expect(result.routes).toEqual([{ dst: '0.0.0.0/0' }, { dst: '192.168.140.0/24', gw: '10.140.0.254' }, { dst: '::/0' }]);
      expect(result.dns).toEqual({ nameservers: ['10.140.0.53'], domain: 'mx.local', search: ['svc.mx.local'], options: ['ndots:3'] });
      const leased = await leasesOf({ containerId });
      expect(leased.map((l) => l.address).sort()).toEqual([v4!.address.split('/')[0], v6!.address.split('/')[0]].sort());
      expect(leased.every((l) => l.network === network && l.ifname === 'eth0')).toBe(true);

      // CHECK exists from 0.4.0; before that it is an incompatible-version error and changes nothing.
      const check = await runShim({ command: 'CHECK', containerId }, { ...config, prevResult: result });
      if (version === '0.3.0' || version === '0.3.1') {
        expect(check.code).toBe(1);
        expect(check.json).toMatchObject({ cniVersion: version, code: 1 });
        expect(String(check.json?.msg)).toContain(`config version ${version} does not allow CHECK`);
      } else {
        expect(check.code, output(check)).toBe(0);
        expect(check.stdout).toBe('');
        // A prevResult naming another address fails with berth's mismatch code.
        const wrong = { ...result, ips: [{ ...v4, address: '10.140.0.250/24' }, v6] };
        const mismatch = await runShim({ command: 'CHECK', containerId }, { ...config, prevResult: wrong });
        expect(mismatch.json, output(mismatch)).toMatchObject({ cniVersion: version, code: 105 });
        expect(String(mismatch.json?.msg)).toContain('10.140.0.250');
      }

      const del = await runShim({ command: 'DEL', containerId }, { ...config, prevResult: result });
      expect(del.code, output(del)).toBe(0);
      expect(del.stdout).toBe('');
      expect(await leasesOf({ containerId })).toEqual([]);
      const again = await runShim({ command: 'DEL', containerId }, { ...config, prevResult: result });
      expect(again.code, output(again)).toBe(0);
      const never = await runShim({ command: 'DEL', containerId: `never-${containerId}` }, config);
      expect(never.code, output(never)).toBe(0);
      expect(never.stdout).toBe('');

      if (version !== '0.3.0' && version !== '0.3.1') {
        // CHECK after DEL: the lease is gone.
        const gone = await runShim({ command: 'CHECK', containerId }, { ...config, prevResult: result });
        expect(gone.json, output(gone)).toMatchObject({ code: 104 });
        expect(String(gone.json?.msg)).toMatch(/mx-v4|mx-v6/);
      }

      const versionOut = await runShim({ command: 'VERSION' }, { cniVersion: version });
      expect(versionOut.code).toBe(0);
      expect(versionOut.json).toEqual({ cniVersion: version, supportedVersions: [...SUPPORTED_VERSIONS] });
    });

    it(`${version}: GC and STATUS ${version === '1.1.0' ? 'succeed' : 'fail with code 1'}`, async () => {
      const config = conf(version, `gate-${version}`, {}, { 'cni.dev/valid-attachments': [] });
      const gc = await runShim({ command: 'GC', env: GC_ENV }, config);
      const status = await runShim({ command: 'STATUS', env: GC_ENV }, config);
      if (version === '1.1.0') {
        expect(gc.code, output(gc)).toBe(0);
        expect(gc.stdout).toBe('');
        expect(status.code, output(status)).toBe(0);
        expect(status.stdout).toBe('');
      } else {
        for (const [verb, result] of [['GC', gc], ['STATUS', status]] as const) {
          expect(result.code).toBe(1);
          expect(result.json, output(result)).toMatchObject({ cniVersion: version, code: 1 });
          expect(String(result.json?.msg)).toContain(`does not allow ${verb}`);
        }
      }
    });
  }

  for (const version of ['0.1.0', '0.2.0'] as const) {
    it(`${version}: VERSION echoes the version; ADD gives the legacy ip4/ip6 result`, async () => {
      const versionOut = await runShim({ command: 'VERSION' }, { cniVersion: version });
      expect(versionOut.code).toBe(0);
      expect(versionOut.json).toEqual({ cniVersion: version, supportedVersions: [...SUPPORTED_VERSIONS] });
      const containerId = `legacy-${version.replaceAll('.', '')}`;
      const config = conf(version, `legacy-${version}`);
      const add = await runShim({ command: 'ADD', containerId }, config);
      expect(add.code, output(add)).toBe(0);
      expect(add.json).toMatchObject({
        cniVersion: version,
        ip4: { ip: expect.stringMatching(/^10\.140\.0\.\d+\/24$/), gateway: '10.140.0.1', routes: [{ dst: '0.0.0.0/0' }, { dst: '192.168.140.0/24', gw: '10.140.0.254' }] },
        ip6: { ip: expect.stringMatching(/^fd00:140::[0-9a-f]+\/64$/), gateway: 'fd00:140::1', routes: [{ dst: '::/0' }] },
      });
      expect(add.json).not.toHaveProperty('ips');
      expect((await runShim({ command: 'DEL', containerId }, config)).code).toBe(0);
      expect(await leasesOf({ containerId })).toEqual([]);
    });
  }

  it('GC (1.1.0) releases exactly the leases of its network that are not listed, and nothing of another network', async () => {
    const add = async (containerId: string, network: string, ifname = 'eth0') => {
      const result = await runShim({ command: 'ADD', containerId, ifname }, conf('1.1.0', network, { pools: ['gc-v4'] }));
      expect(result.code, output(result)).toBe(0);
    };
    await add('keep-1', 'gc-a');
    await add('keep-1', 'gc-a', 'net1'); // same container, other interface: not listed, so collected
    await add('drop-1', 'gc-a');
    await add('drop-2', 'gc-a');
    await add('other-1', 'gc-b'); // another network: never touched, listed or not
    await add('keep-1', 'gc-b', 'net2'); // another network, same container as a collected lease
    const before = await leasesOf({ pool: 'gc-v4' });
    expect(before).toHaveLength(6);

    const gcConfig = conf('1.1.0', 'gc-a', { pools: ['gc-v4'] }, {
      'cni.dev/valid-attachments': [{ containerID: 'keep-1', ifname: 'eth0' }, { containerID: 'not-leased', ifname: 'eth0' }],
    });
    // disableGC turns the verb into a no-op.
    const disabled = await runShim({ command: 'GC', env: GC_ENV }, { ...gcConfig, disableGC: true });
    expect(disabled.code, output(disabled)).toBe(0);
    expect(await leasesOf({ pool: 'gc-v4' })).toEqual(before);

    const gc = await runShim({ command: 'GC', env: GC_ENV }, gcConfig);
    expect(gc.code, output(gc)).toBe(0);
    const after = await leasesOf({ pool: 'gc-v4' });
    const key = (l: LeasesReply['leases'][number]) => `${l.network} ${l.containerId}/${l.ifname} ${l.address}`;
    expect(after.map(key).sort()).toEqual(before.filter((l) => l.network === 'gc-b' || (l.containerId === 'keep-1' && l.ifname === 'eth0')).map(key).sort());
    expect(after.map((l) => `${l.network} ${l.containerId}/${l.ifname}`).sort()).toEqual(['gc-a keep-1/eth0', 'gc-b keep-1/net2', 'gc-b other-1/eth0']);

    // GC again is a no-op; GC of the other network with an empty list frees all of it.
    expect((await runShim({ command: 'GC', env: GC_ENV }, gcConfig)).code).toBe(0);
    expect(await leasesOf({ pool: 'gc-v4' })).toEqual(after);
    const emptyList = await runShim({ command: 'GC', env: GC_ENV }, conf('1.1.0', 'gc-b', { pools: ['gc-v4'] }, { 'cni.dev/valid-attachments': [] }));
    expect(emptyList.code, output(emptyList)).toBe(0);
    expect((await leasesOf({ pool: 'gc-v4' })).map((l) => l.containerId)).toEqual(['keep-1']);
  });

  it('STATUS (1.1.0) gives 50 naming the exhausted pool, and 0 again once an address is free', async () => {
    const config = conf('1.1.0', 'tinynet', { pools: ['mx-tiny'] });
    expect((await runShim({ command: 'STATUS', env: GC_ENV }, config)).code).toBe(0);
    for (const containerId of ['tiny-1', 'tiny-2']) expect((await runShim({ command: 'ADD', containerId }, config)).code).toBe(0);
    const exhausted = await runShim({ command: 'STATUS', env: GC_ENV }, config);
    expect(exhausted.code).toBe(1);
    expect(exhausted.json, output(exhausted)).toMatchObject({ cniVersion: '1.1.0', code: 50 });
    expect(String(exhausted.json?.msg)).toContain('mx-tiny');
    // Only the named pools count: a config on other pools is still fine.
    expect((await runShim({ command: 'STATUS', env: GC_ENV }, conf('1.1.0', 'mxnet'))).code).toBe(0);
    expect((await runShim({ command: 'DEL', containerId: 'tiny-1' }, config)).code).toBe(0);
    expect((await runShim({ command: 'STATUS', env: GC_ENV }, config)).code).toBe(0);
  });

  it('STATUS (1.1.0) gives 50 naming the socket when berthd is down, quickly; ADD gives 11', async () => {
    const socket = join(env.daemon.dir, 'nobody-listens.sock');
    const status = await runShim({ command: 'STATUS', env: GC_ENV }, conf('1.1.0', 'down', { socket, timeoutSeconds: 20 }));
    expect(status.json, output(status)).toMatchObject({ cniVersion: '1.1.0', code: 50 });
    expect(String(status.json?.msg)).toContain(socket);
    // Answered now, not after retrying for its 20 s: half the budget is the line on a busy machine.
    expect(status.ms).toBeLessThan(10_000);
    const add = await runShim({ command: 'ADD', containerId: 'down-1' }, conf('1.1.0', 'down', { socket, timeoutSeconds: 1 }));
    expect(add.json, output(add)).toMatchObject({ code: 11 });
    expect(String(add.json?.msg)).toContain(socket);
  });
});
