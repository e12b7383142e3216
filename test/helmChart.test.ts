// deploy/helm/berth. `helm template` cannot run here: Debian has no helm package and npm none that
// works offline (they download the binary at install time). So this checks what can be checked
// without helm: the values against values.schema.json (as helm validates them), every value the
// templates read exists, the default pools pass berthd's own validation, and every flag the
// DaemonSet template passes is a flag of this berthd.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parsePoolConfig } from '../daemon/src/config/parsePoolConfig.ts';
import { BERTHD, REPO_ROOT } from './support/daemonProcess.ts';
import { validate } from './support/jsonSchemaSubset.ts';

const CHART = join(REPO_ROOT, 'deploy/helm/berth');
const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as Record<string, unknown>;
const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Record<string, unknown>;
const templates = readdirSync(join(CHART, 'templates')).map((file) => readFileSync(join(CHART, 'templates', file), 'utf8')).join('\n');
const berthdFlags = new Set([...execFileSync(process.execPath, [BERTHD, '--help'], { encoding: 'utf8' }).matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0]));

/** values with one path replaced (a.b.c), for the invalid cases */
function withValue(path: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(values);
  const keys = path.split('.');
  let node = copy as Record<string, unknown>;
  for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
  node[keys.at(-1)!] = value;
  return copy;
}

describe('helm chart deploy/helm/berth (values schema; helm itself is not installable here)', () => {
  it('has default values that pass its schema: cluster mode, endpoints and TLS from the Secret deploy/ uses, cluster pools berthd accepts', () => {
    expect(validate(schema, values)).toEqual([]);
    const cluster = values.cluster as { enabled: boolean; etcdEndpoints: string[]; endpointsSecret: { name: string }; tlsSecret: { name: string }; clusterPools: unknown[] };
    expect(cluster).toMatchObject({ enabled: true, etcdEndpoints: [], endpointsSecret: { name: 'berth-etcd-client' }, tlsSecret: { name: 'berth-etcd-client' } });
    // As templates/configmap.yaml writes it: no `pools:` key while there are no local pools.
    expect(values.pools).toEqual([]);
    expect(templates).toMatch(/\{\{- if \.Values\.pools \}\}\s+pools:/);
    const config = parsePoolConfig(JSON.stringify({ clusterPools: cluster.clusterPools }), 'values.yaml clusterPools');
    expect(config.clusterPools.map((p) => p.name)).toEqual(['pods-v4', 'pods-v6']);
    expect(config.pools).toEqual([]);
    // The endpoints flag reads the variable the template fills from that Secret.
    expect(templates).toContain('- --etcd-endpoints=$(BERTH_ETCD_ENDPOINTS)');
    expect(templates).toMatch(/name: BERTH_ETCD_ENDPOINTS\s+valueFrom:\s+secretKeyRef:\s+name: \{\{ \$cluster\.endpointsSecret\.name \}\}/);
  });

  it('accepts file mode: cluster off, local pools', () => {
    const fileMode = { ...withValue('cluster', { enabled: false }), pools: [{ name: 'pods-v4', subnet: '10.244.0.0/16' }] };
    expect(validate(schema, fileMode)).toEqual([]);
  });

  it.each([
    ['cluster.endpointsSecret.name', '', 'values.cluster.etcdEndpoints: needs at least 1 item(s)'],
    ['cluster', { enabled: false }, 'values.pools: needs at least 1 item(s)'],
    ['cluster', { enabled: true }, 'values.cluster.etcdEndpoints: required'],
    ['cluster', { enabled: true, etcdEndpoints: [] }, 'values.cluster.etcdEndpoints: needs at least 1 item(s)'],
    ['cluster.etcdEndpoints', ['https://etcd-0:2379,https://etcd-1:2379'], 'values.cluster.etcdEndpoints[0]: "https://etcd-0:2379,https://etcd-1:2379" does not match'],
    ['cluster.auth.username', 'berth', 'values.cluster.auth.passwordSecret.name: shorter than 1'],
    ['cluster.nodeLabels', { zone: 'a,b' }, 'values.cluster.nodeLabels.zone: "a,b" does not match'],
    ['metrics.port', 70000, 'values.metrics.port: above 65535'],
    ['metrics.bindHostIp', true, 'values.metrics.bindHostIp: unknown key'],
    ['logLevel', 'verbose', 'values.logLevel: must be one of'],
    ['runAsUser', 0, 'values.runAsUser: below 1'],
    ['pools', [{ name: 'Pods', subnet: '10.0.0.0/8' }], 'values.pools[0].name: "Pods" does not match'],
  ])('refuses %s = %j naming the field', (path, value, message) => {
    expect(validate(schema, withValue(path, value)).join('\n')).toContain(message);
  });

  it('accepts a cluster-mode setup: etcd endpoints, a TLS Secret, a password Secret, node labels', () => {
    const cluster = {
      enabled: true, etcdEndpoints: ['https://etcd-0.etcd:2379', 'etcd-1.etcd:2379'], etcdPrefix: '/berth',
      tlsSecret: { name: 'berth-etcd-tls', caKey: 'ca.crt', certKey: 'tls.crt', keyKey: 'tls.key' },
      auth: { username: 'berth', passwordSecret: { name: 'berth-etcd-auth', key: 'password' } },
      nodeLabels: { zone: 'a', rack: 'r1' }, clusterPools: [{ name: 'cluster-v4' }],
    };
    expect(validate(schema, withValue('cluster', cluster))).toEqual([]);
  });

  it('reads only values that values.yaml defines', () => {
    const read = new Set([...templates.matchAll(/\.Values((?:\.[A-Za-z]+)+)/g)].map((m) => m[1]!.slice(1)));
    const aliases = { '$cluster': 'cluster' };
    for (const [alias, path] of Object.entries(aliases)) {
      for (const m of templates.matchAll(new RegExp(`\\${alias}((?:\\.[A-Za-z]+)+)`, 'g'))) read.add(`${path}${m[1]}`);
    }
    expect(read.size).toBeGreaterThan(10);
    for (const path of read) {
      let node: unknown = values;
      for (const key of path.split('.')) node = (node as Record<string, unknown>)?.[key];
      expect(node, path).not.toBeUndefined();
    }
  });

  it('passes berthd only flags it has (the local-mode ones)', () => {
    const flags = new Set([...templates.matchAll(/^\s*- (--[a-z-]+)=/gm)].map((m) => m[1]!));
    const local = [...flags].filter((flag) => !flag.startsWith('--etcd-') && flag !== '--node-labels');
    expect(local.length).toBeGreaterThan(4);
    for (const flag of local) expect(berthdFlags, flag).toContain(flag);
  });

  it('passes berthd only cluster-mode flags it has', () => {
    const flags = new Set([...templates.matchAll(/^\s*- (--(?:etcd-[a-z-]+|node-labels))=/gm)].map((m) => m[1]!));
    expect(flags.size).toBeGreaterThan(5);
    for (const flag of flags) expect(berthdFlags, flag).toContain(flag);
  });
});
