// deploy/cluster/ (the cluster-mode overlay) must agree with the daemon: its flags exist, the
// certificate paths are where the Secret is mounted, and its ConfigMap passes berthd's validation.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parsePoolConfig } from '../daemon/src/config/parsePoolConfig.ts';
import { BERTHD, REPO_ROOT } from './support/daemonProcess.ts';

const OVERLAY = join(REPO_ROOT, 'deploy', 'cluster');

type Doc = Record<string, unknown> & { kind: string; metadata?: { name: string } };

function documents(): Doc[] {
  return readdirSync(OVERLAY).filter((file) => file.endsWith('.yaml')).flatMap((file) =>
    parseAllDocuments(readFileSync(join(OVERLAY, file), 'utf8')).map((doc) => {
      expect(doc.errors, file).toEqual([]);
      return doc.toJS() as Doc;
    }));
}

describe('deploy/cluster/', () => {
  const docs = documents();

  it('lists every file it needs in its kustomization, on top of the base', () => {
    const kustomization = docs.find((doc) => doc.kind === 'Kustomization') as unknown as { resources: string[]; patches: { path: string }[] };
    expect(kustomization.resources).toContain('../');
    for (const file of [...kustomization.resources.filter((r) => r !== '../'), ...kustomization.patches.map((p) => p.path)]) expect(readdirSync(OVERLAY)).toContain(file);
  });

  it('passes only flags berthd has, with the certificates where the Secret is mounted', () => {
    const daemonSet = docs.find((doc) => doc.kind === 'DaemonSet') as unknown as { spec: { template: { spec: {
      containers: { name: string; args: string[]; volumeMounts: { name: string; mountPath: string }[] }[]; volumes: { name: string; secret?: { secretName: string } }[] } } } };
    const berthd = daemonSet.spec.template.spec.containers.find((c) => c.name === 'berthd')!;
    const help = execFileSync(process.execPath, [BERTHD, '--help'], { encoding: 'utf8' });
    for (const arg of berthd.args) expect(help, arg).toContain(arg.split('=')[0]!);
    const mount = berthd.volumeMounts.find((m) => m.name === 'etcd-client')!;
    for (const flag of ['--etcd-ca', '--etcd-cert', '--etcd-key']) {
      expect(berthd.args.find((arg) => arg.startsWith(`${flag}=`))?.split('=')[1]?.startsWith(`${mount.mountPath}/`)).toBe(true);
    }
    const secretName = daemonSet.spec.template.spec.volumes.find((v) => v.name === 'etcd-client')?.secret?.secretName;
    expect(docs.some((doc) => doc.kind === 'Secret' && doc.metadata?.name === secretName)).toBe(true);
  });

  it('serves cluster pools from a ConfigMap berthd accepts', () => {
    const configMap = docs.find((doc) => doc.kind === 'ConfigMap') as unknown as { data: { 'pools.yaml': string } };
    const config = parsePoolConfig(configMap.data['pools.yaml'], 'deploy/cluster ConfigMap');
    expect(config.clusterPools.map((pool) => pool.name)).toEqual(['pods-v4', 'pods-v6']);
  });

  it('has an example 3-member etcd with client certificates required', () => {
    const etcd = docs.find((doc) => doc.kind === 'StatefulSet') as unknown as { spec: { replicas: number; template: { spec: { containers: { command: string[] }[] } } } };
    expect(etcd.spec.replicas).toBe(3);
    expect(etcd.spec.template.spec.containers[0]!.command).toContain('--client-cert-auth');
  });
});
