// The manifests in deploy/ (cluster pools, the default) and deploy/single-node/ (file mode), as
// rendered for a cluster (kubectl kustomize, see deployManifests.ts), must agree with the daemon
// they deploy: every flag exists, paths and ports line up, the ConfigMap's pools pass the daemon's
// own validation, and the security context matches the image. The cluster-mode specifics (etcd
// Secret, example etcd) are in deployCluster.test.ts. test/image.serial.test.ts then runs the
// built image with exactly the single-node rendering.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePoolConfig } from '../daemon/src/config/parsePoolConfig.ts';
import { parseListenAddress } from '../daemon/src/metrics/metricsHttpServer.ts';
import { BERTHD } from './support/daemonProcess.ts';
import { byKindAndName, daemonSetOf, DEPLOY, KUBECTL, renderBuiltIn, renderDeploy, renderWithKubectl, SINGLE_NODE } from './support/deployManifests.ts';

function flagsOf(...subcommand: string[]): Set<string> {
  const help = execFileSync(process.execPath, [BERTHD, ...subcommand, '--help'], { encoding: 'utf8' });
  return new Set([...help.matchAll(/--[a-z][a-z-]*/g)].map((match) => match[0]));
}

function flagNames(args: readonly string[]): string[] {
  return args.filter((arg) => arg.startsWith('--')).map((arg) => arg.split('=')[0]!);
}

const dockerfile = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8');

describe(`deploy/ rendered by ${renderDeploy().renderer}`, () => {
  const { manifests: all } = renderDeploy();
  const pod = daemonSetOf(all).spec.template.spec;
  const berthd = pod.containers.find((c) => c.name === 'berthd')!;
  const init = (name: string) => pod.initContainers.find((c) => c.name === name)!;
  const volume = (name: string | undefined) => pod.volumes.find((v) => v.name === name);

  it.skipIf(!KUBECTL)('kubectl kustomize renders the objects the built-in reading gives, for deploy/ and deploy/single-node/ (needs kubectl: Debian bookworm has no kubectl package, so a machine without it renders built-in only)', () => {
    for (const dir of [DEPLOY, SINGLE_NODE]) expect(byKindAndName(renderWithKubectl(dir)), dir).toEqual(byKindAndName(renderBuiltIn(dir)));
  });

  it('has every kind a node deployment in cluster mode needs, the example etcd included, all in one namespace', () => {
    expect(all.map((m) => m.kind).sort()).toEqual(['ConfigMap', 'DaemonSet', 'Namespace', 'Secret', 'Secret', 'Service', 'ServiceAccount', 'StatefulSet']);
    for (const m of all.filter((m) => m.kind !== 'Namespace')) expect(m.metadata.namespace, m.kind).toBe('berth-system');
    for (const dir of ['', 'base', 'etcd', 'single-node']) {
      const listed = (readFileSync(join(DEPLOY, dir, 'kustomization.yaml'), 'utf8').match(/^ {2}- (?:path: )?(\S+)$/gm) ?? [])
        .map((line) => line.trim().replace(/^- (path: )?/, ''));
      expect(listed.length, dir).toBeGreaterThan(1);
      for (const entry of listed) expect(existsSync(join(DEPLOY, dir, entry)), `${dir}/kustomization.yaml: ${entry}`).toBe(true);
    }
  });

  it('passes only flags berthd really has', () => {
    const daemonFlags = flagsOf();
    for (const flag of flagNames(berthd.args ?? [])) expect(daemonFlags, flag).toContain(flag);
    const command = init('install-cni').command ?? [];
    expect(command.slice(0, 3)).toEqual(['node', '/app/dist/berthd.mjs', 'install']);
    const installFlags = flagsOf('install');
    for (const flag of flagNames(command)) expect(installFlags, flag).toContain(flag);
  });

  it("probes and scrapes the metrics listener berthd opens, on the node's address only", () => {
    const metricsArg = (berthd.args ?? []).find((arg) => arg.startsWith('--metrics-addr='))!;
    expect(metricsArg).toBe('--metrics-addr=[$(HOST_IP)]:9464');
    expect(berthd.env).toContainEqual({ name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } });
    // What the kubelet's substitution gives on an IPv4 and on an IPv6 node, as berthd parses it.
    expect(parseListenAddress('[10.1.2.3]:9464')).toEqual({ host: '10.1.2.3', port: 9464 });
    expect(parseListenAddress('[fd00::7]:9464')).toEqual({ host: 'fd00::7', port: 9464 });
    const port = parseListenAddress(metricsArg.split('=')[1]!.replace('$(HOST_IP)', '10.0.0.1')).port;
    expect(berthd.ports?.[0]?.containerPort).toBe(port);
    // With hostNetwork the kubelet probes the pod IP, which is the node's address berthd binds.
    expect(pod.hostNetwork).toBe(true);
    expect(berthd.livenessProbe?.httpGet).toEqual({ path: '/healthz', port });
    expect(berthd.readinessProbe?.httpGet).toEqual({ path: '/readyz', port });
    expect(berthd.resources?.requests).toBeDefined();
    expect(berthd.resources?.limits?.memory).toBeDefined();
    expect(pod.priorityClassName).toBe('system-node-critical');
    expect(pod.tolerations).toContainEqual({ operator: 'Exists' });
  });

  it('mounts the host paths behind the socket, the database, the config and the CNI bin dir', () => {
    const arg = (name: string) => (berthd.args ?? []).find((a) => a.startsWith(`--${name}=`))!.split('=')[1]!;
    const mountFor = (path: string) => berthd.volumeMounts?.find((m) => path.startsWith(`${m.mountPath}/`));
    expect(volume(mountFor(arg('socket'))?.name)?.hostPath?.path).toBe('/run/berth');
    expect(volume(mountFor(arg('db'))?.name)?.hostPath?.path).toBe('/var/lib/berth');
    expect(volume(mountFor(arg('config'))?.name)?.configMap?.name).toBe('berth-pools');
    const install = init('install-cni');
    const binDir = (install.command ?? [])[(install.command ?? []).indexOf('--cni-bin-dir') + 1]!;
    expect(volume(install.volumeMounts?.find((m) => m.mountPath === binDir)?.name)?.hostPath?.path).toBe('/opt/cni/bin');
    const netns = berthd.volumeMounts?.find((m) => m.mountPath === '/var/run/netns');
    expect(netns).toMatchObject({ readOnly: true, mountPropagation: 'HostToContainer' });
    expect(volume(netns?.name)?.hostPath?.path).toBe('/var/run/netns');
  });

  it('runs berthd as the image user with no capability, and the init steps as root with only what they need', () => {
    const user = /^USER (\d+):(\d+)$/m.exec(dockerfile)!;
    expect(berthd.securityContext).toMatchObject({
      runAsUser: Number(user[1]), runAsGroup: Number(user[2]), runAsNonRoot: true, privileged: false,
      allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] },
    });
    expect(berthd.securityContext?.capabilities?.add).toBeUndefined();
    expect(pod.securityContext?.seccompProfile?.type).toBe('RuntimeDefault');
    expect(init('install-cni').securityContext).toMatchObject({ runAsUser: 0, capabilities: { drop: ['ALL'] } });
    expect(init('install-cni').securityContext?.capabilities?.add).toBeUndefined();
    // The chown hands berthd's own dirs (the ones its socket and database live in) to its user.
    const chown = init('own-state-dirs');
    expect(chown.securityContext).toMatchObject({ runAsUser: 0, capabilities: { drop: ['ALL'], add: ['CHOWN'] } });
    expect(chown.command).toEqual(['chown', '-R', `${user[1]}:${user[2]}`, '/run/berth', '/var/lib/berth']);
    for (const path of ['/run/berth', '/var/lib/berth']) {
      const mount = chown.volumeMounts?.find((m) => m.mountPath === path);
      expect(volume(mount?.name)?.hostPath?.path).toBe(path);
    }
  });

  it('uses one image for every container, the one kustomize tags', () => {
    const images = new Set([...pod.initContainers, ...pod.containers].map((c) => c.image));
    expect([...images]).toEqual(['berth:0.1.0']);
  });

  it('ships a ConfigMap of cluster pools the daemon accepts, and nothing else in it', () => {
    const configMap = all.find((m) => m.kind === 'ConfigMap') as unknown as { data: Record<string, string> };
    const config = parsePoolConfig(configMap.data['pools.yaml']!, 'deploy/configmap.yaml');
    expect(config.clusterPools.map((p) => p.name)).toEqual(['pods-v4', 'pods-v6']);
    expect(config.pools).toEqual([]);
  });

  it('builds an image whose entrypoint and flags match the daemon', () => {
    expect(dockerfile).toMatch(/^FROM node:20-bookworm-slim AS build$/m);
    expect(dockerfile).toMatch(/^FROM debian:bookworm-slim$/m);
    expect(dockerfile).toMatch(/^ARG NODE_EXTRA_CA_CERTS$/m);
    expect(dockerfile).toMatch(/^ENV npm_config_nodedir=\/usr\/local$/m);
    expect(dockerfile).toContain('ENTRYPOINT ["node", "/app/dist/berthd.mjs"]');
    const cmd = JSON.parse(/^CMD (.*)$/m.exec(dockerfile)![1]!) as string[];
    const daemonFlags = flagsOf();
    for (const flag of flagNames(cmd)) expect(daemonFlags, flag).toContain(flag);
    expect(dockerfile).toContain('npm run build');
  });
});

describe(`deploy/single-node/ rendered by ${renderDeploy(SINGLE_NODE).renderer}`, () => {
  const { manifests } = renderDeploy(SINGLE_NODE);
  const pod = daemonSetOf(manifests).spec.template.spec;
  const berthd = pod.containers.find((c) => c.name === 'berthd')!;

  it('is the same DaemonSet in file mode: no etcd flag, Secret or etcd; local pools the daemon accepts', () => {
    expect(manifests.map((m) => m.kind).sort()).toEqual(['ConfigMap', 'DaemonSet', 'Namespace', 'ServiceAccount']);
    expect((berthd.args ?? []).filter((arg) => arg.startsWith('--etcd-'))).toEqual([]);
    const daemonFlags = flagsOf();
    for (const flag of flagNames(berthd.args ?? [])) expect(daemonFlags, flag).toContain(flag);
    expect(pod.volumes.some((v) => v.secret)).toBe(false);
    const configMap = manifests.find((m) => m.kind === 'ConfigMap') as unknown as { data: Record<string, string> };
    const config = parsePoolConfig(configMap.data['pools.yaml']!, 'deploy/single-node/configmap.yaml');
    expect(config.pools.map((p) => p.name)).toEqual(['pods-v4', 'pods-v6']);
    expect(config.clusterPools).toEqual([]);
  });

  it('differs from the cluster-mode DaemonSet only in the etcd flags, the Secret and its group', () => {
    const cluster = daemonSetOf(renderDeploy().manifests).spec.template.spec;
    const clusterBerthd = cluster.containers.find((c) => c.name === 'berthd')!;
    expect(cluster.initContainers).toEqual(pod.initContainers);
    expect((clusterBerthd.args ?? []).filter((arg) => !/^--(etcd-|block-idle-seconds)/.test(arg))).toEqual(berthd.args);
    expect(clusterBerthd.volumeMounts?.filter((m) => m.name !== 'etcd-client')).toEqual(berthd.volumeMounts);
    expect(cluster.volumes.filter((v) => v.name !== 'etcd-client')).toEqual(pod.volumes);
    expect({ ...clusterBerthd, args: [], env: [], volumeMounts: [] }).toEqual({ ...berthd, args: [], env: [], volumeMounts: [] });
  });
});
