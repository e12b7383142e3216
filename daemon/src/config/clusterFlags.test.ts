import { describe, expect, it } from 'vitest';
import { ClusterFlagError, parseClusterFlags, type ClusterFlags } from './clusterFlags.ts';

const base: ClusterFlags = { etcdPrefix: '/berth', etcdTimeoutMs: '2000', blockIdleSeconds: '300' };
const files: Record<string, string> = { '/ca.pem': 'CA', '/c.pem': 'CERT', '/k.pem': 'KEY', '/pw': 'secret\n' };
const readFile = (path: string): Buffer => {
  if (files[path] === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
  return Buffer.from(files[path]);
};

function problems(flags: Partial<ClusterFlags>, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseClusterFlags({ ...base, ...flags }, env, readFile);
  } catch (error) {
    expect(error).toBeInstanceOf(ClusterFlagError);
    return [...(error as ClusterFlagError).problems];
  }
  throw new Error('expected a ClusterFlagError');
}

describe('parseClusterFlags', () => {
  it('is file mode without --etcd-endpoints', () => {
    expect(parseClusterFlags(base, {}, readFile)).toBeUndefined();
  });

  it('reads endpoints, TLS files, labels and the password from a file or the environment', () => {
    const options = parseClusterFlags({ ...base, etcdEndpoints: '10.0.0.1:2379, https://[fd00::1]:2379', etcdPrefix: 'berth/prod/', etcdCa: '/ca.pem', etcdCert: '/c.pem', etcdKey: '/k.pem',
      etcdUsername: 'berth', etcdPasswordFile: '/pw', nodeLabels: 'topology.kubernetes.io/zone=a,rack=r1,empty=' }, {}, readFile);
    expect(options).toMatchObject({
      endpoints: ['https://10.0.0.1:2379', 'https://[fd00::1]:2379'], prefix: '/berth/prod', auth: { username: 'berth', password: 'secret' },
      nodeLabels: { 'topology.kubernetes.io/zone': 'a', rack: 'r1', empty: '' }, blockIdleSeconds: 300, timeoutMs: 2000,
    });
    expect(options?.tls?.cert?.toString()).toBe('CERT');
    expect(parseClusterFlags({ ...base, etcdEndpoints: 'http://127.0.0.1:2379', etcdUsername: 'u' }, { BERTH_ETCD_PASSWORD: 'pw' }, readFile)?.auth).toEqual({ username: 'u', password: 'pw' });
  });

  const refused: { name: string; flags: Partial<ClusterFlags>; problems: string[] }[] = [
    { name: 'TLS flags without endpoints', flags: { etcdCa: '/ca.pem' }, problems: ['--etcd-endpoints: required with --etcd-ca'] },
    { name: 'a bad endpoint', flags: { etcdEndpoints: '127.0.0.1:2379,etcd:99999,ftp://x:1' }, problems: ['--etcd-endpoints[1]: "etcd:99999" is not host:port or http(s)://host:port', '--etcd-endpoints[2]: "ftp://x:1" is not host:port or http(s)://host:port'] },
    { name: 'a cert without its key, and an unreadable CA', flags: { etcdEndpoints: 'e:1', etcdCert: '/c.pem', etcdCa: '/missing' }, problems: ['--etcd-cert and --etcd-key: give both (a client certificate and its key) or neither', '--etcd-ca: cannot read /missing (ENOENT)'] },
    { name: 'a client certificate without a CA', flags: { etcdEndpoints: 'e:1', etcdCert: '/c.pem', etcdKey: '/k.pem' }, problems: ['--etcd-ca: required with --etcd-cert (the CA that signed the etcd server certificates)'] },
    { name: 'a user without a password', flags: { etcdEndpoints: 'e:1', etcdUsername: 'u' }, problems: ['--etcd-username: needs a password, from --etcd-password-file or the BERTH_ETCD_PASSWORD environment variable'] },
    { name: 'bad labels', flags: { nodeLabels: 'zone,-bad=x,ok=v v,a=1,a=2' }, problems: [
      '--node-labels[0]: "zone" is not key=value',
      '--node-labels[1]: "-bad" is not a label key (optional DNS prefix and "/", then up to 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit)',
      '--node-labels[2]: "v v" is not a label value (up to 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit)',
      '--node-labels[4]: label "a" is given twice',
    ] },
    { name: 'bad numbers and prefix', flags: { etcdEndpoints: 'e:1', blockIdleSeconds: '-1', etcdTimeoutMs: '1', etcdPrefix: '/a/../b' }, problems: [
      '--block-idle-seconds: "-1" is not a whole number from 0 to 2592000', '--etcd-timeout-ms: "1" is not a whole number from 50 to 60000', '--etcd-prefix: "/a/../b" is not a key path like /berth',
    ] },
  ];
  it.each(refused)('refuses $name, naming the flag', ({ flags, problems: expected }) => {
    expect(problems(flags)).toEqual(expected);
  });
});
