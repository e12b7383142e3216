import { describe, expect, it } from 'vitest';
import { CniError } from './cniError.ts';
import { parseCniArgs, parseEnvironment } from './environment.ts';

const base = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c0ffee', CNI_NETNS: '/var/run/netns/x', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' };

function errorOf(env: Record<string, string | undefined>): CniError {
  try {
    parseEnvironment(env);
  } catch (error) {
    if (error instanceof CniError) return error;
    throw error;
  }
  throw new Error('expected a CniError');
}

describe('parseEnvironment', () => {
  it.each([
    ['ADD', base],
    ['DEL without netns', { ...base, CNI_COMMAND: 'DEL', CNI_NETNS: '' }],
    ['CHECK', { ...base, CNI_COMMAND: 'CHECK' }],
    ['GC without attachment', { CNI_COMMAND: 'GC', CNI_PATH: '/opt/cni/bin' }],
    ['STATUS without attachment', { CNI_COMMAND: 'STATUS', CNI_PATH: '/opt/cni/bin' }],
    ['VERSION alone', { CNI_COMMAND: 'VERSION' }],
    ['container id with _.-', { ...base, CNI_CONTAINERID: 'a_b.c-d' }],
    ['15-character ifname', { ...base, CNI_IFNAME: 'abcdefghijklmno' }],
  ])('accepts %s', (_name, env) => {
    expect(parseEnvironment(env).command).toBe(env.CNI_COMMAND);
  });

  it.each([
    ['no command', { ...base, CNI_COMMAND: undefined }, 'CNI_COMMAND'],
    ['unknown command', { ...base, CNI_COMMAND: 'FROB' }, 'unknown command "FROB"'],
    ['ADD without container id', { ...base, CNI_CONTAINERID: '' }, 'CNI_CONTAINERID'],
    ['ADD without netns', { ...base, CNI_NETNS: undefined }, 'CNI_NETNS'],
    ['ADD without ifname and path', { ...base, CNI_IFNAME: '', CNI_PATH: undefined }, 'CNI_IFNAME, CNI_PATH'],
    ['DEL without ifname', { ...base, CNI_COMMAND: 'DEL', CNI_IFNAME: '' }, 'CNI_IFNAME'],
    ['GC without path', { CNI_COMMAND: 'GC' }, 'CNI_PATH'],
    ['container id starting with -', { ...base, CNI_CONTAINERID: '-abc' }, 'CNI_CONTAINERID'],
    ['container id with /', { ...base, CNI_CONTAINERID: 'a/b' }, 'CNI_CONTAINERID'],
    ['16-character ifname', { ...base, CNI_IFNAME: 'abcdefghijklmnop' }, 'longer than 15'],
    ['ifname .', { ...base, CNI_IFNAME: '.' }, 'CNI_IFNAME'],
    ['ifname ..', { ...base, CNI_IFNAME: '..' }, 'CNI_IFNAME'],
    ['ifname with /', { ...base, CNI_IFNAME: 'a/b' }, 'CNI_IFNAME'],
    ['ifname with :', { ...base, CNI_IFNAME: 'eth0:1' }, 'CNI_IFNAME'],
    ['ifname with space', { ...base, CNI_IFNAME: 'eth 0' }, 'CNI_IFNAME'],
    ['CNI_ARGS without =', { ...base, CNI_ARGS: 'IgnoreUnknown=1;junk' }, 'CNI_ARGS: "junk"'],
  ])('rejects %s with code 4', (_name, env, text) => {
    const error = errorOf(env);
    expect(error.code).toBe(4);
    expect(error.message).toContain(text);
  });
});

describe('parseCniArgs', () => {
  it.each([
    ['empty', '', { podNamespace: '', podName: '', podUid: '', ips: undefined }],
    ['kubernetes keys', 'IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=abc;K8S_POD_UID=u-1',
      { podNamespace: 'ns', podName: 'web-0', podUid: 'u-1', ips: undefined }],
    ['IP list', 'IP=10.0.0.5, fd00::5;FOO=bar', { podNamespace: '', podName: '', podUid: '', ips: ['10.0.0.5', 'fd00::5'] }],
    ['trailing ;', 'K8S_POD_NAME=a;', { podNamespace: '', podName: 'a', podUid: '', ips: undefined }],
    ['value with =', 'K8S_POD_NAME=a=b', { podNamespace: '', podName: 'a=b', podUid: '', ips: undefined }],
  ])('%s', (_name, text, expected) => {
    const { all: _all, ...args } = parseCniArgs(text);
    expect(args).toEqual(expected);
  });
});
