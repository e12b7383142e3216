// deploy/Dockerfile built with podman (runc) on this offline machine, then run the way the rendered
// single-node DaemonSet (deploy/single-node/, file mode: no etcd here) runs it: the init containers (`berthd install` into the host CNI bin dir, the chown of
// berthd's dirs), berthd with host networking, the DaemonSet's mounts, flags and security context;
// /healthz and /readyz answer; a podman container on the host gets its address through the
// installed plugin (podman's CNI backend, a bridge + berth conflist); removing it releases.
// The figures (build time, image size, the container's address) are printed for the README.
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHIM } from './support/daemonProcess.ts';
import { daemonSetOf, renderDeploy, SINGLE_NODE, type Container, type PodSpec } from './support/deployManifests.ts';
import { deleteLink } from './support/netns.ts';
import { buildImage, localImage, podman, podmanRunArgs, PODMAN, RLIMITS, type PodHost } from './support/podmanPod.ts';

const tag = randomBytes(3).toString('hex');
const random = () => randomBytes(1)[0]!;
// A loopback address of its own stands in for the node's IP: nothing else binds it.
const hostIp = `127.${1 + (random() % 250)}.${random()}.${1 + (random() % 250)}`;
const subnet = `10.${150 + (random() % 50)}.${random()}`;
const network = `berth-image-${tag}`;
const bridge = `bimg${tag}`;
const daemonName = `berth-image-berthd-${tag}`;
const podName = `berth-image-pod-${tag}`;

const { renderer, manifests } = renderDeploy(SINGLE_NODE);
const pod: PodSpec = daemonSetOf(manifests).spec.template.spec;
const berthdContainer: Container = pod.containers.find((c) => c.name === 'berthd')!;
const image = berthdContainer.image;

let dir: string;
let host: PodHost;
let built: { seconds: number };
const figures: Record<string, string> = {};
// Limits, not expectations: podman and runc on 2-core machines that other jobs share.
const SLOW_TEST_MS = 300_000;

const hostPath = (path: string) => (path === '/var/run/netns' ? path : join(dir, 'host', path));
const containersConf = () => join(dir, 'containers.conf');
const podmanCni = (...args: string[]) => execFileSync('podman', [...PODMAN, ...args], {
  encoding: 'utf8', env: { ...process.env, CONTAINERS_CONF: containersConf() },
});
const berthctl = (...args: string[]) => podman('exec', daemonName, 'node', '/app/dist/berthctl.mjs', '--socket', '/run/berth/berthd.sock', ...args);
const leases = () => JSON.parse(berthctl('leases', '--json')) as { address: string; containerId: string; podName: string; pool: string }[];

async function get(path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://${hostIp}:9464${path}`);
  return { status: response.status, body: await response.text() };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'berth-image-'));
  host = {
    hostPathFor: hostPath,
    configMapDirs: { 'berth-pools': join(dir, 'configmap') },
    fieldRefs: { 'spec.nodeName': 'berth-image-node', 'status.hostIP': hostIp },
  };
  mkdirSync(join(dir, 'configmap'));
  writeFileSync(join(dir, 'configmap', 'pools.yaml'), `pools:\n  - { name: pods-v4, subnet: ${subnet}.0/24, gateway: ${subnet}.1 }\n`);
  mkdirSync('/var/run/netns', { recursive: true });
  built = buildImage(image);
  figures['build seconds'] = built.seconds.toFixed(0);
}, 45 * 60_000);

afterAll(() => {
  for (const name of [podName, daemonName]) {
    try { podmanCni('rm', '--force', '--time', '5', name); } catch { /* never started */ }
  }
  deleteLink(bridge);
  if (dir) rmSync(dir, { recursive: true, force: true });
  process.stdout.write(`image figures (${renderer}): ${JSON.stringify(figures)}\n`);
}, SLOW_TEST_MS);

describe(`the node image, run as the DaemonSet (rendered by ${renderer}) runs it`, () => {
  it('is a small image that runs berthd as a non-root user', () => {
    const [inspected] = JSON.parse(podman('image', 'inspect', localImage(image))) as { Size: number; Config: { User: string; Entrypoint: string[] } }[];
    figures['image MB'] = (inspected!.Size / 1e6).toFixed(0);
    expect(inspected!.Config.User).toBe('65532:65532');
    expect(inspected!.Config.Entrypoint).toEqual(['node', '/app/dist/berthd.mjs']);
    // No compiler, no npm, no build inputs of the native module in what runs.
    const listing = podman('run', '--rm', ...RLIMITS, '--entrypoint', '["/bin/sh", "-c"]', localImage(image),
      'ls /usr/local/bin /app /app/node_modules/better-sqlite3; command -v g++ npm python3 || true');
    expect(listing).not.toMatch(/\b(npm|g\+\+|python3|deps|src)\b/);
    expect(inspected!.Size).toBeLessThan(450e6);
  }, SLOW_TEST_MS);

  it('init containers install the plugin into the host CNI bin dir and hand berthd its dirs', () => {
    for (const init of pod.initContainers) podman('run', '--rm', '--name', `${daemonName}-${init.name}`, ...podmanRunArgs(pod, init, host));
    const installed = hostPath('/opt/cni/bin/berth');
    expect(statSync(installed).mode & 0o777).toBe(0o755);
    expect(statSync(installed).size).toBeGreaterThan(1e6);
    const version = execFileSync(installed, [], { input: '{"cniVersion":"1.0.0"}', env: { CNI_COMMAND: 'VERSION' }, encoding: 'utf8' });
    expect(JSON.parse(version).supportedVersions).toContain('1.0.0');
    for (const path of ['/run/berth', '/var/lib/berth']) expect(statSync(hostPath(path)).uid).toBe(65532);
    // The image's plugin is the one this checkout builds.
    expect(statSync(installed).size).toBe(statSync(SHIM).size);
  }, SLOW_TEST_MS);

  it('serves berthd with host networking, the DaemonSet flags and mounts; /healthz and /readyz answer', async () => {
    podman('run', '--detach', '--name', daemonName, ...podmanRunArgs(pod, berthdContainer, host));
    const deadline = Date.now() + SLOW_TEST_MS / 2;
    let ready = { status: 0, body: '' };
    while (Date.now() < deadline) {
      ready = await get('/readyz').catch(() => ({ status: 0, body: '' }));
      if (ready.status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(ready.status, podman('logs', daemonName)).toBe(200);
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/metrics')).body).toMatch(/berth_pool_addresses\{pool="pods-v4",state="total"\} 253/);
    // Bound to the node's address only (the DaemonSet's $(HOST_IP)), as the node's user 65532.
    const pid = podman('inspect', '--format', '{{.State.Pid}}', daemonName).trim();
    expect(execFileSync('ss', ['-Hltnp'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(`pid=${pid},`)).join('\n'))
      .toMatch(new RegExp(`${hostIp.replaceAll('.', '\\.')}:9464`));
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    expect(status).toMatch(/^Uid:\s+65532\s+65532\s+65532\s+65532$/m);
    expect(status).toMatch(/^CapEff:\s+0+$/m);
    expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(statSync(hostPath('/run/berth/berthd.sock')).uid).toBe(65532);
    expect(statSync(hostPath('/var/lib/berth/leases.db')).uid).toBe(65532);
  }, SLOW_TEST_MS);

  it('gives a podman container on the host its address through the installed plugin, and releases it on removal', () => {
    // podman's CNI backend (Debian's podman 4.3 defaults to netavark, whose IPAM cannot call a CNI
    // plugin), pointed at the host CNI bin dir the init container filled.
    writeFileSync(containersConf(), [
      '[network]',
      'network_backend = "cni"',
      `cni_plugin_dirs = ["${hostPath('/opt/cni/bin')}", "/usr/lib/cni"]`,
      `network_config_dir = "${join(dir, 'net.d')}"`,
      '',
    ].join('\n'));
    mkdirSync(join(dir, 'net.d'));
    writeFileSync(join(dir, 'net.d', `${network}.conflist`), JSON.stringify({
      cniVersion: '1.0.0',
      name: network,
      plugins: [{ type: 'bridge', bridge, isGateway: true, ipam: { type: 'berth', pools: ['pods-v4'], socket: hostPath('/run/berth/berthd.sock') } }],
    }));
    const id = podmanCni('run', '--detach', '--name', podName, '--network', network, ...RLIMITS,
      '--entrypoint', '["sleep", "600"]', localImage(image)).trim();
    const networks = JSON.parse(podmanCni('inspect', '--format', '{{json .NetworkSettings.Networks}}', podName)) as Record<string, { IPAddress: string }>;
    const address = networks[network]!.IPAddress;
    figures['container address'] = address;
    expect(address).toMatch(new RegExp(`^${subnet.replaceAll('.', '\\.')}\\.\\d+$`));
    expect(leases()).toEqual([expect.objectContaining({ address, containerId: id, pool: 'pods-v4' })]);

    podmanCni('rm', '--force', '--time', '0', podName);
    expect(leases()).toEqual([]);
  }, SLOW_TEST_MS);
});
