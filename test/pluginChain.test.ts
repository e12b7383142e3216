// Debian's real CNI plugins (bridge, macvlan, tuning) delegating IPAM to the real berth binary,
// inside real network namespaces, chained the way libcni chains a conflist.
// Debian's plugins (1.1.1) speak 0.1.0-1.0.0 only: a 1.1.0 conflist is refused by bridge itself
// ("incompatible CNI versions"), so 1.1.0, GC and STATUS are covered through the plugin binary
// alone in cniVersionMatrix.test.ts.
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addNetworkList, execPlugin, runNetworkList, type Conflist } from './support/cniExec.ts';
import { SHIM, startDaemon, type DaemonHandle } from './support/daemonProcess.ts';
import { ipamClient, type IpamTestClient } from './support/ipamTestClient.ts';
import { createNetns, deleteLink, deleteNetns, inNetns, ip, tryInNetns, uniqueName } from './support/netns.ts';

const CONFIG = `
pools:
  - name: chain-v4
    subnet: 10.99.0.0/24
    gateway: 10.99.0.1
    routes: [{ dst: 0.0.0.0/0 }]
  - name: chain-v6
    subnet: fd00:99::/64
    gateway: fd00:99::1
    routes: [{ dst: "::/0" }]
  - name: mac-v4
    subnet: 10.98.0.0/24
    ranges: [{ start: 10.98.0.100, end: 10.98.0.110 }]
  - name: mac-v6
    subnet: fd00:98::/64
    ranges: [{ start: "fd00:98::100", end: "fd00:98::110" }]
`;

describe('plugin chains with Debian containernetworking-plugins', () => {
  let daemon: DaemonHandle;
  let client: IpamTestClient;
  let cniPath: string;
  const netnsNames: string[] = [];
  const links: string[] = [];

  beforeAll(async () => {
    daemon = await startDaemon(CONFIG);
    client = ipamClient(daemon.socketPath);
    cniPath = join(daemon.dir, 'cni-bin');
    mkdirSync(cniPath);
    for (const plugin of ['bridge', 'macvlan', 'tuning']) symlinkSync(`/usr/lib/cni/${plugin}`, join(cniPath, plugin));
    symlinkSync(SHIM, join(cniPath, 'berth'));
  });

  afterAll(async () => {
    client.close();
    for (const name of netnsNames) deleteNetns(name);
    for (const link of links) deleteLink(link);
    await daemon.dispose();
  });

  const newNetns = () => {
    const name = uniqueName('berth-t-');
    netnsNames.push(name);
    return { name, path: createNetns(name) };
  };

  for (const cniVersion of ['0.3.0', '0.3.1', '0.4.0', '1.0.0']) {
    it(`bridge + tuning, dual-stack, cniVersion ${cniVersion}: ADD, ping, CHECK, DEL`, async () => {
      const bridge = uniqueName('brb');
      links.push(bridge);
      const list: Conflist = {
        cniVersion,
        name: `berthnet-${cniVersion}`,
        plugins: [
          { type: 'bridge', bridge, isGateway: true, ipMasq: false, ipam: { type: 'berth', pools: ['chain-v4', 'chain-v6'], socket: daemon.socketPath } },
          { type: 'tuning', sysctl: { 'net.ipv4.conf.eth0.arp_notify': '1' } },
        ],
      };
      const a = newNetns();
      const b = newNetns();
      const attachA = { containerId: uniqueName('ca'), netns: a.path, ifname: 'eth0', args: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_UID=u-1' };
      const attachB = { containerId: uniqueName('cb'), netns: b.path, ifname: 'eth0' };

      const added = await addNetworkList(list, attachA, cniPath);
      expect(added.code, added.stdout + added.stderr).toBe(0);
      const addedB = await addNetworkList(list, attachB, cniPath);
      expect(addedB.code, addedB.stdout + addedB.stderr).toBe(0);

      const ips = (added.json?.ips ?? []) as { address: string; gateway?: string; version?: string }[];
      const v4 = ips.find((entry) => entry.address.startsWith('10.99.'))!;
      const v6 = ips.find((entry) => entry.address.startsWith('fd00:99:'))!;
      expect(v4.gateway).toBe('10.99.0.1');
      expect(v6.gateway).toBe('fd00:99::1');
      if (cniVersion === '1.0.0') expect(v4.version).toBeUndefined();
      else expect(v4.version).toBe('4');

      // The address is on the interface inside the netns, and the default routes point at the bridge.
      const addresses = inNetns(a.name, 'ip', '-o', 'addr', 'show', 'dev', 'eth0');
      expect(addresses).toContain(`inet ${v4.address}`);
      expect(addresses).toContain(`inet6 ${v6.address}`);
      expect(inNetns(a.name, 'ip', 'route', 'show', 'default')).toContain('default via 10.99.0.1 dev eth0');
      expect(inNetns(a.name, 'ip', '-6', 'route', 'show', 'default')).toContain('default via fd00:99::1 dev eth0');

      // Connectivity: to the bridge gateway and to the other container, both families.
      const bV4 = ((addedB.json?.ips ?? []) as { address: string }[]).find((entry) => entry.address.startsWith('10.99.'))!.address.split('/')[0]!;
      const bV6 = ((addedB.json?.ips ?? []) as { address: string }[]).find((entry) => entry.address.startsWith('fd00:99:'))!.address.split('/')[0]!;
      for (const target of ['10.99.0.1', bV4]) expect(tryInNetns(a.name, 'ping', '-c', '1', '-W', '2', target).ok, `ping ${target}`).toBe(true);
      for (const target of ['fd00:99::1', bV6]) expect(tryInNetns(a.name, 'ping', '-6', '-c', '1', '-W', '3', target).ok, `ping ${target}`).toBe(true);

      const lease = await client.call<{ leases: { podName: string; podNamespace: string; network: string; netns: string }[] }>('ListLeases', { containerId: attachA.containerId });
      expect(lease.leases).toHaveLength(2);
      expect(lease.leases[0]).toMatchObject({ podName: 'web-0', podNamespace: 'default', network: list.name, netns: a.path });

      // CHECK, where the version has it (0.4.0 on).
      if (cniVersion !== '0.3.0' && cniVersion !== '0.3.1') {
        const checked = await runNetworkList('CHECK', list, attachA, cniPath, added.json);
        expect(checked.map((r) => r.code), checked.map((r) => r.stdout + r.stderr).join('\n')).toEqual([0, 0]);
        // Losing the lease behind the runtime's back makes CHECK fail with berth's code.
        await client.call('Release', { containerId: attachA.containerId, ifname: 'eth0', pools: ['chain-v6'] });
        const broken = await runNetworkList('CHECK', list, attachA, cniPath, added.json);
        expect(broken[0]?.code).not.toBe(0);
        expect(broken[0]?.stdout + (broken[0]?.stderr ?? '')).toMatch(/104|chain-v6/);
      }

      // DEL removes the interface and frees the leases; a second DEL still succeeds.
      for (const attachment of [attachA, attachB]) {
        const deleted = await runNetworkList('DEL', list, attachment, cniPath, added.json);
        expect(deleted.map((r) => r.code), deleted.map((r) => r.stdout + r.stderr).join('\n')).toEqual([0, 0]);
      }
      expect(tryInNetns(a.name, 'ip', 'link', 'show', 'eth0').ok).toBe(false);
      const again = await runNetworkList('DEL', list, attachA, cniPath, added.json);
      expect(again.map((r) => r.code)).toEqual([0, 0]);
      const remaining = await client.call<{ leases: unknown[] }>('ListLeases', { network: list.name });
      expect(remaining.leases).toEqual([]);
      // The next version's bridge reuses the gateway address: remove this one.
      deleteLink(bridge);
    });
  }

  it('Debian\'s plugins stop at 1.0.0 (when this fails, add 1.1.0 to the chains above)', async () => {
    for (const plugin of ['bridge', 'macvlan']) {
      const version = await execPlugin(join(cniPath, plugin), { CNI_COMMAND: 'VERSION' }, { cniVersion: '1.0.0' });
      expect((version.json?.supportedVersions as string[] | undefined) ?? []).toEqual(['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0']);
    }
    const bridge = uniqueName('brv');
    const refused = await addNetworkList({ cniVersion: '1.1.0', name: 'berth-110', plugins: [{ type: 'bridge', bridge, ipam: { type: 'berth', pools: ['chain-v4'], socket: daemon.socketPath } }] },
      { containerId: uniqueName('cv'), netns: newNetns().path, ifname: 'eth0' }, cniPath);
    expect(refused.json, refused.stdout).toMatchObject({ code: 1, msg: 'incompatible CNI versions' });
    // Refused before IPAM ran: nothing was leased.
    expect((await client.call<{ leases: unknown[] }>('ListLeases', { network: 'berth-110' })).leases).toEqual([]);
  });

  for (const cniVersion of ['0.4.0', '1.0.0']) {
    it(`macvlan on a veth master, dual-stack from berth ranges, cniVersion ${cniVersion}: ADD, CHECK, DEL frees both`, async () => {
      const master = uniqueName('bmv');
      links.push(master);
      ip('link', 'add', master, 'type', 'veth', 'peer', 'name', `${master}p`);
      ip('link', 'set', master, 'up');
      ip('link', 'set', `${master}p`, 'up');
      const list: Conflist = {
        cniVersion,
        name: `berth-macvlan-${cniVersion}`,
        plugins: [{ type: 'macvlan', master, mode: 'bridge', ipam: { type: 'berth', pools: 'mac-v4,mac-v6', socket: daemon.socketPath } }],
      };
      const ns = newNetns();
      const attachment = { containerId: uniqueName('cm'), netns: ns.path, ifname: 'net1' };
      const added = await addNetworkList(list, attachment, cniPath);
      expect(added.code, added.stdout + added.stderr).toBe(0);
      const ips = (added.json?.ips ?? []) as { address: string; version?: string }[];
      // Each version's test frees its addresses, and the ranges hand out round-robin from their start.
      const [v4, v6] = ips.map((entry) => entry.address);
      expect(v4).toMatch(/^10\.98\.0\.1(0\d|10)\/24$/);
      expect(v6).toMatch(/^fd00:98::1[01][0-9a-f]\/64$/);
      if (cniVersion === '1.0.0') expect(ips.every((entry) => entry.version === undefined)).toBe(true);
      else expect(ips.map((entry) => entry.version)).toEqual(['4', '6']);
      const onLink = inNetns(ns.name, 'ip', '-o', 'addr', 'show', 'dev', 'net1');
      expect(onLink).toContain(`inet ${v4}`);
      expect(onLink).toContain(`inet6 ${v6}`);
      const leases = await client.call<{ leases: { pool: string; address: string }[] }>('ListLeases', { containerId: attachment.containerId });
      expect(leases.leases.map((l) => `${l.pool} ${l.address}`).sort()).toEqual([`mac-v4 ${v4!.split('/')[0]}`, `mac-v6 ${v6!.split('/')[0]}`]);

      const checked = await runNetworkList('CHECK', list, attachment, cniPath, added.json);
      expect(checked.map((r) => r.code), checked.map((r) => r.stdout + r.stderr).join('\n')).toEqual([0]);
      // The IPv6 lease lost behind the runtime's back: macvlan's CHECK fails with berth's code.
      await client.call('Release', { containerId: attachment.containerId, ifname: 'net1', pools: ['mac-v6'] });
      const broken = await runNetworkList('CHECK', list, attachment, cniPath, added.json);
      expect(broken[0]?.code).not.toBe(0);
      expect(broken[0]?.stdout + (broken[0]?.stderr ?? '')).toMatch(/mac-v6/);
      await client.call('Allocate', { containerId: attachment.containerId, ifname: 'net1', pools: ['mac-v6'], requestedIps: [v6], network: list.name });
      expect((await runNetworkList('CHECK', list, attachment, cniPath, added.json)).map((r) => r.code)).toEqual([0]);

      const deleted = await runNetworkList('DEL', list, attachment, cniPath, added.json);
      expect(deleted.map((r) => r.code), deleted.map((r) => r.stdout + r.stderr).join('\n')).toEqual([0]);
      expect(tryInNetns(ns.name, 'ip', 'link', 'show', 'net1').ok).toBe(false);
      for (const pool of ['mac-v4', 'mac-v6']) expect((await client.call<{ leases: unknown[] }>('ListLeases', { pool })).leases, pool).toEqual([]);
      const again = await runNetworkList('DEL', list, attachment, cniPath, added.json);
      expect(again.map((r) => r.code)).toEqual([0]);
    });
  }
});
