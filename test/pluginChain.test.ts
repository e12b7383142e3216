// Debian's real CNI plugins (bridge, macvlan, tuning) delegating IPAM to the real berth binary,
// inside real network namespaces, chained the way libcni chains a conflist.
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addNetworkList, runNetworkList, type Conflist } from './support/cniExec.ts';
import { SHIM, startDaemon, type DaemonHandle } from './support/daemonProcess.ts';
import { ipamClient, type IpamTestClient } from './support/ipamClient.ts';
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

  for (const cniVersion of ['0.3.1', '0.4.0', '1.0.0']) {
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

      // CHECK, where the version has it.
      if (cniVersion !== '0.3.1') {
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

  it('macvlan on a veth master gets its address from a berth range', async () => {
    const master = uniqueName('bmv');
    links.push(master);
    ip('link', 'add', master, 'type', 'veth', 'peer', 'name', `${master}p`);
    ip('link', 'set', master, 'up');
    const list: Conflist = {
      cniVersion: '1.0.0',
      name: 'berth-macvlan',
      plugins: [{ type: 'macvlan', master, mode: 'bridge', ipam: { type: 'berth', pools: 'mac-v4', socket: daemon.socketPath } }],
    };
    const ns = newNetns();
    const attachment = { containerId: uniqueName('cm'), netns: ns.path, ifname: 'net1' };
    const added = await addNetworkList(list, attachment, cniPath);
    expect(added.code, added.stdout + added.stderr).toBe(0);
    const address = ((added.json?.ips ?? []) as { address: string }[])[0]?.address;
    expect(address).toBe('10.98.0.100/24');
    expect(inNetns(ns.name, 'ip', '-o', 'addr', 'show', 'dev', 'net1')).toContain('inet 10.98.0.100/24');
    const deleted = await runNetworkList('DEL', list, attachment, cniPath, added.json);
    expect(deleted[0]?.code).toBe(0);
    expect((await client.call<{ leases: unknown[] }>('ListLeases', { pool: 'mac-v4' })).leases).toEqual([]);
  });
});
