// containerd's CRI drives the plugin the way kubelet does: Debian's containerd 1.6 (its CRI plugin,
// runc, a bridge + berth conflist) started by this test in its own temp dir, driven by a minimal
// CRI client (test/support/criClient.ts) with RunPodSandbox / PodSandboxStatus / StopPodSandbox /
// RemovePodSandbox, against a real berthd. Nothing is mocked; what cannot run here is named in
// the README (Kubernetes section): kubelet itself and an API server.
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPauseArchive, cniBinDir, createContainerd, mountsUnder, type ContainerdHandle } from './support/containerdProcess.ts';
import { criClient, type CriClient, type PodMetadata } from './support/criClient.ts';
import { createDaemon, SHIM, type DaemonHandle } from './support/daemonProcess.ts';
import { ipamClient } from './support/ipamTestClient.ts';
import { deleteLink } from './support/netns.ts';

interface Lease { address: string; containerId: string; podNamespace: string; podName: string; podUid: string; netns: string; network: string }

const tag = randomBytes(3).toString('hex');
const subnet = `10.${200 + (randomBytes(1)[0]! % 50)}.${randomBytes(1)[0]!}`;
const bridge = `bcri${tag}`;
const network = `berth-cri-${tag}`;
const POOLS = `
pools:
  - name: cri-v4
    subnet: ${subnet}.0/24
    gateway: ${subnet}.1
    routes: [{ dst: 0.0.0.0/0 }]
`;

// Limits, not expectations: each step waits on containerd, runc and the plugin, and the 2-core
// machines that run the suite are shared (20 sandboxes took 37 s alone, over 60 s under load).
const SLOW_TEST_MS = 600_000;

let dir: string;
let berthd: DaemonHandle;
let containerd: ContainerdHandle;
let cri: CriClient;

const leases = async (): Promise<Lease[]> => {
  const client = ipamClient(berthd.socketPath);
  try {
    return (await client.call<{ leases: Lease[] }>('ListLeases', { pool: 'cri-v4' })).leases;
  } finally {
    client.close();
  }
};
const pod = (name: string): PodMetadata => ({ name, namespace: `ns-${tag}`, uid: randomUUID(), attempt: 0 });
const runPod = (metadata: PodMetadata) => cri.runPodSandbox(metadata, join(dir, 'logs', metadata.name));
const ipOf = async (id: string) => (await cri.podSandboxStatus(id)).status.network?.ip ?? '';
/** The netns path containerd put into the sandbox's OCI spec (PodSandboxStatus verbose info). */
function networkNamespaceOf(info: Record<string, unknown>): string | undefined {
  const spec = info.runtimeSpec as { linux?: { namespaces?: { type: string; path?: string }[] } } | undefined;
  return spec?.linux?.namespaces?.find((namespace) => namespace.type === 'network')?.path;
}
async function endPod(id: string) {
  await cri.stopPodSandbox(id);
  await cri.removePodSandbox(id);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'berth-cri-'));
  const archive = buildPauseArchive(dir);
  mkdirSync(join(dir, 'berthd'));
  berthd = createDaemon(join(dir, 'berthd'), POOLS);
  await berthd.start();
  const confDir = join(dir, 'net.d');
  mkdirSync(confDir);
  writeFileSync(join(confDir, '10-berth.conflist'), JSON.stringify({
    cniVersion: '1.0.0',
    name: network,
    plugins: [{ type: 'bridge', bridge, isGateway: true, ipam: { type: 'berth', pools: ['cri-v4'], socket: berthd.socketPath } }],
  }));
  containerd = createContainerd(join(dir, 'containerd'), cniBinDir(join(dir, 'bin'), SHIM), confDir);
  await containerd.start();
  containerd.ctr('images', 'import', archive);
  cri = await criClient(containerd.socketPath).ready();
}, SLOW_TEST_MS);

afterAll(async () => {
  if (cri) {
    for (const sandbox of await cri.listPodSandbox().catch(() => [])) await endPod(sandbox.id).catch(() => undefined);
    cri.close();
  }
  await containerd?.stop();
  await berthd?.dispose();
  deleteLink(bridge);
  for (const mountPoint of mountsUnder(dir)) execFileSync('umount', ['-l', mountPoint]);
  rmSync(dir, { recursive: true, force: true });
}, SLOW_TEST_MS);

describe('containerd CRI with a bridge + berth conflist', () => {
  it('is containerd 1.6 speaking CRI runtime.v1', async () => {
    const version = await cri.version();
    expect(version.runtimeName).toBe('containerd');
    expect(version.runtimeVersion).toMatch(/^1\.6\./);
    expect(version.runtimeApiVersion).toBe('v1');
  });

  it('gives a sandbox its address, records the pod containerd sent, releases on stop and leaves nothing on remove', async () => {
    const metadata = pod('web-0');
    const id = await runPod(metadata);
    const { status, info } = await cri.podSandboxStatus(id);
    expect(status.state).toBe('SANDBOX_READY');
    expect(status.network?.ip).toMatch(new RegExp(`^${subnet.replaceAll('.', '\\.')}\\.\\d+$`));
    const [lease, ...others] = await leases();
    expect(others).toEqual([]);
    // containerd passes the pod as CNI_ARGS K8S_POD_NAMESPACE / K8S_POD_NAME / K8S_POD_UID.
    expect(lease).toMatchObject({
      address: status.network?.ip, containerId: id, network,
      podNamespace: metadata.namespace, podName: metadata.name, podUid: metadata.uid,
    });
    expect(lease!.netns).toBe(networkNamespaceOf(info));
    expect(existsSync(lease!.netns)).toBe(true);

    await cri.stopPodSandbox(id);
    expect(await leases()).toEqual([]);
    expect((await cri.podSandboxStatus(id)).status.state).toBe('SANDBOX_NOTREADY');
    await cri.stopPodSandbox(id); // kubelet stops more than once; the second DEL is a no-op
    await cri.removePodSandbox(id);
    expect(await cri.listPodSandbox()).toEqual([]);
    expect(await leases()).toEqual([]);
    expect(existsSync(lease!.netns)).toBe(false);
  }, SLOW_TEST_MS);

  it('runs 20 sandboxes at once, each with its own address, and ends them all', async () => {
    const pods = Array.from({ length: 20 }, (_, i) => pod(`burst-${i}`));
    const ids = await Promise.all(pods.map(runPod));
    const ips = await Promise.all(ids.map(ipOf));
    expect(new Set(ips).size).toBe(20);
    const held = await leases();
    expect(held.map((l) => l.address).sort()).toEqual([...ips].sort());
    for (const [i, id] of ids.entries()) {
      expect(held.find((l) => l.containerId === id)).toMatchObject({ address: ips[i], podName: pods[i]!.name, podUid: pods[i]!.uid });
    }
    await Promise.all(ids.map(endPod));
    expect(await cri.listPodSandbox()).toEqual([]);
    expect(await leases()).toEqual([]);
  }, SLOW_TEST_MS);

  it('keeps sandboxes and leases consistent across a berthd restart and a containerd restart', async () => {
    const pods = Array.from({ length: 4 }, (_, i) => pod(`restart-${i}`));
    const ids = await Promise.all(pods.map(runPod));
    const ips = await Promise.all(ids.map(ipOf));
    const before = (await leases()).map((l) => `${l.containerId} ${l.address}`).sort();

    await berthd.stop();
    await berthd.start();
    expect((await leases()).map((l) => `${l.containerId} ${l.address}`).sort()).toEqual(before);

    await containerd.stop();
    await containerd.start();
    cri.close();
    cri = await criClient(containerd.socketPath).ready();
    for (const [i, id] of ids.entries()) {
      const { status } = await cri.podSandboxStatus(id);
      expect(status.state).toBe('SANDBOX_READY');
      expect(status.network?.ip).toBe(ips[i]);
    }
    expect((await leases()).map((l) => `${l.containerId} ${l.address}`).sort()).toEqual(before);

    // After both restarts, a new sandbox gets an address nobody holds; ending everything frees all.
    const late = await runPod(pod('after-restart'));
    expect(ips).not.toContain(await ipOf(late));
    await Promise.all([...ids, late].map(endPod));
    expect(await cri.listPodSandbox()).toEqual([]);
    expect(await leases()).toEqual([]);
  }, SLOW_TEST_MS);
});
