// The manifests in deploy/ must agree with the daemon they deploy: every flag exists, paths and
// ports line up, and the ConfigMap's pools pass the daemon's own validation.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parsePoolConfig } from '../daemon/src/config/parsePoolConfig.ts';
import { BERTHD, REPO_ROOT } from './support/daemonProcess.ts';

const DEPLOY = join(REPO_ROOT, 'deploy');

interface Container {
  name: string; image: string; command?: string[]; args?: string[];
  ports?: { containerPort: number }[];
  livenessProbe?: { httpGet: { path: string; port: number } };
  readinessProbe?: { httpGet: { path: string; port: number } };
  volumeMounts?: { name: string; mountPath: string }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}
interface DaemonSet {
  kind: 'DaemonSet';
  spec: { template: { spec: {
    priorityClassName: string; tolerations: { operator: string }[];
    initContainers: Container[]; containers: Container[];
    volumes: { name: string; hostPath?: { path: string }; configMap?: { name: string } }[];
  } } };
}

function manifests(): Record<string, unknown>[] {
  return readdirSync(DEPLOY).filter((file) => file.endsWith('.yaml')).flatMap((file) =>
    parseAllDocuments(readFileSync(join(DEPLOY, file), 'utf8')).map((doc) => {
      expect(doc.errors, file).toEqual([]);
      return doc.toJS() as Record<string, unknown>;
    }));
}

function flagsOf(...subcommand: string[]): Set<string> {
  const help = execFileSync(process.execPath, [BERTHD, ...subcommand, '--help'], { encoding: 'utf8' });
  return new Set([...help.matchAll(/--[a-z][a-z-]*/g)].map((match) => match[0]));
}

function flagNames(args: readonly string[]): string[] {
  return args.filter((arg) => arg.startsWith('--')).map((arg) => arg.split('=')[0]!);
}

describe('deploy/', () => {
  const all = manifests();
  const daemonSet = all.find((m) => m.kind === 'DaemonSet') as unknown as DaemonSet;
  const pod = daemonSet.spec.template.spec;
  const berthd = pod.containers.find((c) => c.name === 'berthd')!;

  it('has every kind a node deployment needs, wired by kustomization', () => {
    expect(all.map((m) => m.kind).sort()).toEqual(['ConfigMap', 'DaemonSet', 'Kustomization', 'Namespace', 'ServiceAccount']);
    const kustomization = all.find((m) => m.kind === 'Kustomization') as { resources: string[] };
    for (const resource of kustomization.resources) expect(readdirSync(DEPLOY)).toContain(resource);
  });

  it('passes only flags berthd really has', () => {
    const daemonFlags = flagsOf();
    for (const flag of flagNames(berthd.args ?? [])) expect(daemonFlags, flag).toContain(flag);
    const init = pod.initContainers[0]!;
    const command = init.command ?? [];
    expect(command.slice(0, 3)).toEqual(['node', '/app/dist/berthd.mjs', 'install']);
    const installFlags = flagsOf('install');
    for (const flag of flagNames(command)) expect(installFlags, flag).toContain(flag);
  });

  it('probes and scrapes the metrics listener berthd opens', () => {
    const metricsArg = (berthd.args ?? []).find((arg) => arg.startsWith('--metrics-addr='))!;
    const port = Number(metricsArg.split(':').pop());
    expect(berthd.ports?.[0]?.containerPort).toBe(port);
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
    const volume = (name: string | undefined) => pod.volumes.find((v) => v.name === name);
    expect(volume(mountFor(arg('socket'))?.name)?.hostPath?.path).toBe('/run/berth');
    expect(volume(mountFor(arg('db'))?.name)?.hostPath?.path).toBe('/var/lib/berth');
    expect(volume(mountFor(arg('config'))?.name)?.configMap?.name).toBe('berth-pools');
    const init = pod.initContainers[0]!;
    const binDir = (init.command ?? [])[(init.command ?? []).indexOf('--cni-bin-dir') + 1]!;
    const initMount = init.volumeMounts?.find((m) => m.mountPath === binDir);
    expect(volume(initMount?.name)?.hostPath?.path).toBe('/opt/cni/bin');
    expect(volume(berthd.volumeMounts?.find((m) => m.mountPath === '/var/run/netns')?.name)?.hostPath?.path).toBe('/var/run/netns');
  });

  it('ships a pool ConfigMap the daemon accepts', () => {
    const configMap = all.find((m) => m.kind === 'ConfigMap') as { data: Record<string, string> };
    const pools = parsePoolConfig(configMap.data['pools.yaml']!, 'deploy/configmap.yaml');
    expect(pools.pools.map((p) => p.name)).toEqual(['pods-v4', 'pods-v6']);
  });

  it('builds an image whose entrypoint and flags match the daemon', () => {
    const dockerfile = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM node:20-bookworm-slim AS build$/m);
    expect(dockerfile).toMatch(/^FROM debian:bookworm-slim$/m);
    expect(dockerfile).toMatch(/^USER 65532:65532$/m);
    expect(dockerfile).toContain('ENTRYPOINT ["node", "/app/dist/berthd.mjs"]');
    const cmd = JSON.parse(/^CMD (.*)$/m.exec(dockerfile)![1]!) as string[];
    const daemonFlags = flagsOf();
    for (const flag of flagNames(cmd)) expect(daemonFlags, flag).toContain(flag);
    expect(dockerfile).toContain('npm run build');
  });
});
