// The pool model end to end: the real berth shim and berthctl against a real berthd, for address
// spaces, per-range gateways, pre-allocations, reclaim delay, strategies and pool selectors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { berthctl } from './support/berthctlExec.ts';
import { startDaemon, type DaemonHandle } from './support/daemonProcess.ts';
import { ipamClient, type IpamTestClient } from './support/ipamTestClient.ts';
import { runShim } from './support/shimExec.ts';

const CONFIG = `
pools:
  - name: red-v4
    addressSpace: red
    subnet: 10.70.0.0/24
    labels: { net: red, zone: a }
    strategy: lowestFree
    reclaimDelaySeconds: 600
  - name: red-v6
    addressSpace: red
    subnet: "fd00:70::/64"
    labels: { net: red }
  - name: blue-v4
    network: blue  # the deprecated key: still accepted
    subnet: 10.70.0.0/24
    labels: { net: blue, zone: a }
  - name: metal
    subnet: 10.71.0.0/16
    gateway: 10.71.0.1
    ranges:
      - { start: 10.71.0.10, end: 10.71.0.10 }
      - { start: 10.71.5.10, end: 10.71.5.20, prefixLength: 24, gateway: 10.71.5.1 }
    preAllocations:
      - { address: 10.71.5.15, labels: { app: router } }
      - { address: 10.71.5.16, pod: infra/dns-0 }
`;

let daemon: DaemonHandle;
let client: IpamTestClient;
const selectorConfig = (labels: Record<string, string>, extra: Record<string, unknown> = {}) => ({
  cniVersion: '1.1.0', name: 'selnet', type: 'bridge', ...extra,
  ipam: { type: 'berth', socket: daemon.socketPath, poolSelector: { matchLabels: labels } },
});
const poolsConfig = (pools: string[], extra: Record<string, unknown> = {}) => ({
  cniVersion: '1.0.0', name: 'poolnet', type: 'bridge', ...extra, ipam: { type: 'berth', socket: daemon.socketPath, pools },
});
const ips = (json: Record<string, unknown> | undefined) => (json?.ips as { address: string; gateway?: string }[] | undefined) ?? [];

beforeAll(async () => {
  daemon = await startDaemon(CONFIG);
  client = ipamClient(daemon.socketPath);
});
afterAll(async () => {
  client?.close();
  await daemon?.dispose();
});

describe('pool model through the shim and berthctl', () => {
  it('a pool selector picks the dual-stack pair of one network; another network reuses the same subnet', async () => {
    const red = await runShim({ command: 'ADD', containerId: 'sel-red' }, selectorConfig({ net: 'red' }));
    expect(red.code, red.stdout + red.stderr).toBe(0);
    expect(ips(red.json).map((ip) => ip.address)).toEqual(['10.70.0.1/24', 'fd00:70::1/64']);
    const blue = await runShim({ command: 'ADD', containerId: 'sel-blue' }, selectorConfig({ net: 'blue' }));
    expect(ips(blue.json).map((ip) => ip.address)).toEqual(['10.70.0.1/24']);
    const check = await runShim({ command: 'CHECK', containerId: 'sel-red' }, selectorConfig({ net: 'red' }, { prevResult: red.json }));
    expect(check.code, check.stdout).toBe(0);
    const status = await runShim({ command: 'STATUS' }, selectorConfig({ net: 'red' }));
    expect(status.code, status.stdout).toBe(0);

    const listed = berthctl(daemon.socketPath, 'leases', '--address-space', 'blue');
    expect(listed.stdout).toMatch(/blue-v4\s+10\.70\.0\.1\s+active\s+sel-blue/);
    expect(listed.stdout).not.toMatch(/red-v4/);
    // The old flag still works, and the old config key was logged as deprecated, once, naming its pool.
    expect(berthctl(daemon.socketPath, 'leases', '--network-instance', 'blue').stdout).toBe(listed.stdout);
    expect(daemon.logs().split('"config.deprecated"')).toHaveLength(2);
    expect(daemon.logs()).toMatch(/pools\[2\]\.network \(pool \\"blue-v4\\"\): \\"network\\" is deprecated; write \\"addressSpace: blue\\"/);
    const pools = berthctl(daemon.socketPath, 'pools');
    expect(pools.stdout).toMatch(/red-v4\s+address\s+red\s+10\.70\.0\.0\/24 .* lowestFree\s+net=red/);
    expect(pools.stdout).toMatch(/blue-v4\s+address\s+blue\s+10\.70\.0\.0\/24/);
  });

  it('selector errors are precise CNI errors', async () => {
    const none = await runShim({ command: 'ADD', containerId: 'sel-none' }, selectorConfig({ net: 'green' }));
    expect(none.json).toMatchObject({ code: 101 });
    expect(String(none.json?.msg)).toMatch(/no pool matches selector \{net=green\}/);
    const ambiguous = await runShim({ command: 'ADD', containerId: 'sel-amb' }, selectorConfig({ zone: 'a' }));
    expect(ambiguous.json).toMatchObject({ code: 106 });
    expect(String(ambiguous.json?.msg)).toMatch(/matches 2 IPv4 pools \("red-v4", "blue-v4"\)/);
    const both = await runShim({ command: 'ADD', containerId: 'sel-both' }, {
      ...selectorConfig({ zone: 'a' }), ipam: { type: 'berth', socket: daemon.socketPath, pools: ['red-v4'], poolSelector: { matchLabels: { zone: 'a' } } } });
    expect(both.json).toMatchObject({ code: 7 });
    expect(await client.call<{ leases: unknown[] }>('ListLeases', { containerId: 'sel-amb' })).toMatchObject({ leases: [] });
  });

  it('reclaim delay: DEL leaves the address cooling (berthctl shows it); the same pod gets it back, others do not', async () => {
    const config = poolsConfig(['red-v4']);
    const podArgs = (name: string) => `IgnoreUnknown=1;K8S_POD_NAMESPACE=web;K8S_POD_NAME=${name};K8S_POD_UID=u-${name}`;
    const first = await runShim({ command: 'ADD', containerId: 'cool-a', args: podArgs('web-0') }, config);
    const address = ips(first.json)[0]?.address;
    expect(address).toBe('10.70.0.2/24');
    expect((await runShim({ command: 'DEL', containerId: 'cool-a', args: podArgs('web-0') }, config)).code).toBe(0);
    const cooling = berthctl(daemon.socketPath, 'leases', '--cooling');
    expect(cooling.stdout).toMatch(/red-v4\s+10\.70\.0\.2\s+cooling until \d{4}-\d\d-\d\dT/);
    // lowestFree would give .2 to anyone, but it is cooling: another pod gets .3.
    const other = await runShim({ command: 'ADD', containerId: 'cool-b', args: podArgs('web-1') }, config);
    expect(ips(other.json)[0]?.address).toBe('10.70.0.3/24');
    const back = await runShim({ command: 'ADD', containerId: 'cool-a2', args: podArgs('web-0') }, config);
    expect(ips(back.json)[0]?.address).toBe('10.70.0.2/24');
    expect(berthctl(daemon.socketPath, 'leases', '--cooling').stdout).toBe('no leases\n');
    const usage = (await client.call<{ pools: { name: string; cooling: string; reclaimDelaySeconds: number }[] }>('ListPools', {})).pools
      .find((pool) => pool.name === 'red-v4');
    expect(usage).toMatchObject({ cooling: '0', reclaimDelaySeconds: 600 });
  });

  it('per-range gateway and prefix, and pre-allocations by pod labels and by pod name', async () => {
    const config = poolsConfig(['metal']);
    const plain = await runShim({ command: 'ADD', containerId: 'metal-1' }, config);
    expect(ips(plain.json)).toEqual([{ address: '10.71.0.10/16', gateway: '10.71.0.1' }]);
    const ranged = await runShim({ command: 'ADD', containerId: 'metal-2' }, config);
    expect(ips(ranged.json)).toEqual([{ address: '10.71.5.10/24', gateway: '10.71.5.1' }]);
    const router = await runShim({ command: 'ADD', containerId: 'router-1' }, poolsConfig(['metal'], { args: { cni: { labels: { app: 'router', team: 'net' } } } }));
    expect(ips(router.json)).toEqual([{ address: '10.71.5.15/24', gateway: '10.71.5.1' }]);
    const dns = await runShim({ command: 'ADD', containerId: 'dns-1', args: 'K8S_POD_NAMESPACE=infra;K8S_POD_NAME=dns-0' }, config);
    expect(ips(dns.json)[0]?.address).toBe('10.71.5.16/24');
    const thief = await runShim({ command: 'ADD', containerId: 'thief', args: 'IP=10.71.5.16' }, config);
    expect(thief.json).toMatchObject({ code: 103 });
    expect(String(thief.json?.msg)).toMatch(/pre-allocated to pod infra\/dns-0/);
  });
});
