// deploy/ renders cluster mode by default: its etcd flags exist in berthd, the endpoints and
// certificates come from the Secret berth-etcd-client (mounted where the flags point, readable by
// berthd's user), and the example etcd is the one those endpoints name, with client certificates
// required. The rendering is kubectl's when installed (deployManifests.ts).
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BERTHD } from './support/daemonProcess.ts';
import { daemonSetOf, renderDeploy, type Manifest } from './support/deployManifests.ts';

type Secret = Manifest & { stringData: Record<string, string> };
interface StatefulSet extends Manifest {
  spec: { replicas: number; serviceName: string; template: { spec: { containers: { command: string[] }[]; volumes: { name: string; secret?: { secretName: string } }[] } } };
}

describe(`deploy/ (cluster mode) rendered by ${renderDeploy().renderer}`, () => {
  const { manifests } = renderDeploy();
  const pod = daemonSetOf(manifests).spec.template.spec;
  const berthd = pod.containers.find((c) => c.name === 'berthd')!;
  const args = berthd.args ?? [];
  const arg = (flag: string) => args.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);
  const secret = (name: string) => manifests.find((m) => m.kind === 'Secret' && m.metadata.name === name) as Secret | undefined;

  it('passes only flags berthd has, the etcd ones included', () => {
    const help = execFileSync(process.execPath, [BERTHD, '--help'], { encoding: 'utf8' });
    const etcdFlags = args.filter((a) => a.startsWith('--etcd-')).map((a) => a.split('=')[0]!);
    expect(etcdFlags.sort()).toEqual(['--etcd-ca', '--etcd-cert', '--etcd-endpoints', '--etcd-key', '--etcd-prefix']);
    for (const flag of args) expect(help, flag).toContain(flag.split('=')[0]!);
  });

  it('takes the endpoints and the certificates from the Secret berth-etcd-client, readable by berthd only through its group', () => {
    expect(arg('--etcd-endpoints')).toBe('$(BERTH_ETCD_ENDPOINTS)');
    const endpoints = berthd.env?.find((e) => e.name === 'BERTH_ETCD_ENDPOINTS')?.valueFrom?.secretKeyRef;
    expect(endpoints).toEqual({ name: 'berth-etcd-client', key: 'endpoints' });
    const client = secret('berth-etcd-client')!;
    expect(Object.keys(client.stringData).sort()).toEqual(['ca.crt', 'endpoints', 'tls.crt', 'tls.key']);

    const mount = berthd.volumeMounts?.find((m) => m.name === 'etcd-client');
    expect(mount?.readOnly).toBe(true);
    const volume = pod.volumes.find((v) => v.name === 'etcd-client')?.secret;
    expect(volume?.secretName).toBe('berth-etcd-client');
    for (const flag of ['--etcd-ca', '--etcd-cert', '--etcd-key']) {
      const path = arg(flag)!;
      expect(path.startsWith(`${mount!.mountPath}/`), flag).toBe(true);
      const file = path.slice(mount!.mountPath.length + 1);
      expect(volume?.items?.map((item) => item.path), flag).toContain(file);
      expect(Object.keys(client.stringData)).toContain(volume!.items!.find((item) => item.path === file)!.key);
    }
    // Root-owned files: group-readable, and the pod's fsGroup is berthd's group.
    expect(volume?.defaultMode).toBe(0o440);
    expect(pod.securityContext?.fsGroup).toBe(berthd.securityContext?.runAsGroup);
  });

  it('has an example 3-member etcd, client certificates required, at the endpoints the Secret names', () => {
    const etcd = manifests.find((m) => m.kind === 'StatefulSet') as StatefulSet;
    expect(etcd.spec.replicas).toBe(3);
    const command = etcd.spec.template.spec.containers[0]!.command;
    expect(command).toContain('--client-cert-auth');
    expect(command).toContain('--peer-client-cert-auth');
    const service = manifests.find((m) => m.kind === 'Service' && m.metadata.name === etcd.spec.serviceName);
    expect(service).toBeDefined();
    const names = Array.from({ length: etcd.spec.replicas }, (_, i) => `https://${etcd.metadata.name}-${i}.${etcd.spec.serviceName}.berth-system.svc:2379`);
    expect(secret('berth-etcd-client')!.stringData.endpoints!.split(',')).toEqual(names);
    const tls = etcd.spec.template.spec.volumes.find((v) => v.secret)?.secret?.secretName;
    expect(secret(tls!)).toBeDefined();
  });
});
