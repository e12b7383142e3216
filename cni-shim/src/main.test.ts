// The shipped executable (dist/berth, built by vitest's global setup) as a runtime runs it: a
// child process with CNI_* env and the config on stdin.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SUPPORTED_VERSIONS } from './cni/versions.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const PLUGIN = join(ROOT, 'dist/berth');

interface Run { code: number | null; stdout: string; json: Record<string, unknown> | undefined; ms: number }

function run(command: readonly string[], env: Record<string, string>, stdin: string): Promise<Run> {
  const started = Date.now();
  return new Promise((done, fail) => {
    const [file, ...args] = command;
    const child = spawn(file ?? '', args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.on('error', fail);
    child.on('close', (code) => {
      let json: Record<string, unknown> | undefined;
      try { json = JSON.parse(stdout) as Record<string, unknown>; } catch { json = undefined; }
      done({ code, stdout, json, ms: Date.now() - started });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
  });
}

const shim = (env: Record<string, string>, stdin: string | object): Promise<Run> =>
  run([PLUGIN], env, typeof stdin === 'string' ? stdin : JSON.stringify(stdin));

const dir = mkdtempSync(join(tmpdir(), 'berth-shim-'));
const attachment = { CNI_CONTAINERID: 'c1', CNI_NETNS: '/var/run/netns/c1', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' };
const netconf = (cniVersion: string, ipam: Record<string, unknown> = {}) =>
  ({ cniVersion, name: 'net1', type: 'bridge', ipam: { type: 'berth', pools: ['v4'], socket: join(dir, 'missing', 'berthd.sock'), timeoutSeconds: 1, ...ipam } });

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('dist/berth', () => {
  it.each([...SUPPORTED_VERSIONS])('VERSION for a %s config', async (version) => {
    const result = await shim({ CNI_COMMAND: 'VERSION' }, { cniVersion: version });
    expect(result.code).toBe(0);
    expect(result.json).toEqual({ cniVersion: version, supportedVersions: [...SUPPORTED_VERSIONS] });
  });

  it.each([
    ['empty stdin', ''],
    ['no cniVersion', '{}'],
    ['a newer runtime', '{"cniVersion":"1.2.0"}'],
  ])('VERSION with %s answers for 1.1.0', async (_name, stdin) => {
    const result = await shim({ CNI_COMMAND: 'VERSION' }, stdin);
    expect(result.code).toBe(0);
    expect(result.json).toMatchObject({ cniVersion: '1.1.0' });
  });

  it.each([
    ['unsupported version', { CNI_COMMAND: 'ADD', ...attachment }, { ...netconf('1.0.0'), cniVersion: '0.9.0' }, 1, '0.9.0'],
    ['not JSON', { CNI_COMMAND: 'ADD', ...attachment }, '{"cniVersion": "1.0.0", "name"', 6, 'not valid JSON'],
    ['missing CNI_NETNS', { CNI_COMMAND: 'ADD', ...attachment, CNI_NETNS: '' }, netconf('1.0.0'), 4, 'CNI_NETNS'],
    ['missing CNI_COMMAND', { ...attachment }, netconf('1.0.0'), 4, 'CNI_COMMAND'],
    ['unknown command', { CNI_COMMAND: 'RESET', ...attachment }, netconf('1.0.0'), 4, 'RESET'],
    ['unknown ipam field', { CNI_COMMAND: 'ADD', ...attachment }, netconf('1.0.0', { ranges: [] }), 2, 'ipam.ranges'],
    ['GC under 1.0.0', { CNI_COMMAND: 'GC', CNI_PATH: '/opt/cni/bin' }, netconf('1.0.0'), 1, 'GC'],
    ['STATUS under 1.0.0', { CNI_COMMAND: 'STATUS', CNI_PATH: '/opt/cni/bin' }, netconf('1.0.0'), 1, 'STATUS'],
    ['CHECK under 0.3.1', { CNI_COMMAND: 'CHECK', ...attachment }, netconf('0.3.1'), 1, 'CHECK'],
    ['a bad requested address', { CNI_COMMAND: 'ADD', ...attachment }, { ...netconf('1.0.0'), runtimeConfig: { ips: ['10.0.0.256'] } }, 7, 'runtimeConfig.ips[0]'],
  ])('%s fails with code %s', async (_name, env, stdin, code, text) => {
    const result = await shim(env, stdin);
    expect(result.code).toBe(1);
    expect(result.json).toMatchObject({ code });
    expect(String(result.json?.msg)).toContain(text);
    expect(Object.keys(result.json ?? {}).sort()).toEqual(['cniVersion', 'code', 'details', 'msg']);
  });

  it('echoes the config version in errors', async () => {
    const result = await shim({ CNI_COMMAND: 'ADD', ...attachment, CNI_NETNS: '' }, netconf('0.4.0'));
    expect(result.json).toMatchObject({ cniVersion: '0.4.0', code: 4 });
  });

  it.each(['ADD', 'DEL'])('%s with the daemon down fails with 11 within timeoutSeconds', async (command) => {
    const result = await shim({ CNI_COMMAND: command, ...attachment }, netconf('1.0.0'));
    expect(result.code).toBe(1);
    expect(result.json).toMatchObject({ code: 11 });
    expect(String(result.json?.msg)).toContain(join(dir, 'missing', 'berthd.sock'));
    // timeoutSeconds is 1 here and 10 by default: ending well before 10 s shows the setting
    // bounded the retries (an absolute bound near 1 s would fail on a busy machine).
    expect(result.ms).toBeLessThan(8000);
  });

  it('STATUS with the daemon down fails with 50 long before its timeoutSeconds', async () => {
    const result = await shim({ CNI_COMMAND: 'STATUS', CNI_PATH: '/opt/cni/bin' }, netconf('1.1.0', { timeoutSeconds: 30 }));
    expect(result.json).toMatchObject({ code: 50 });
    expect(String(result.json?.msg)).toContain(join(dir, 'missing', 'berthd.sock'));
    // STATUS answers the runtime now rather than retrying for its 30 s: half the budget is the line.
    expect(result.ms).toBeLessThan(15_000);
  });

  it('reads stdin from a file', async () => {
    const path = join(dir, 'stdin-file.json');
    writeFileSync(path, '{"cniVersion":"0.4.0"}');
    const fd = openSync(path, 'r');
    const child = spawn(PLUGIN, [], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', CNI_COMMAND: 'VERSION' }, stdio: [fd, 'pipe', 'inherit'] });
    closeSync(fd);
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    expect(await new Promise((done) => child.on('close', done))).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ cniVersion: '0.4.0' });
  });

  // Node (libuv) makes a child's stdio blocking, so a non-blocking stdin needs another parent.
  it.skipIf(spawnSync('python3', ['-c', 'pass']).status !== 0)('reads a non-blocking stdin written late to its end', () => {
    const parent = [
      'import os, subprocess, sys, time',
      'r, w = os.pipe()',
      'os.set_blocking(r, False)',
      'child = subprocess.Popen(sys.argv[1:], stdin=r, stdout=subprocess.PIPE)',
      'os.close(r)',
      'time.sleep(0.2); os.write(w, b\'{"cniVersion":\'); time.sleep(0.1); os.write(w, b\'"0.4.0"}\'); os.close(w)',
      'sys.stdout.write(child.communicate()[0].decode()); sys.exit(child.returncode)',
    ].join('\n');
    const result = spawnSync('python3', ['-c', parent, PLUGIN], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', CNI_COMMAND: 'VERSION' } });
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout.toString())).toMatchObject({ cniVersion: '0.4.0' });
  });

  it('exits with its code when nobody reads stdout (EPIPE), printing nothing on stderr', async () => {
    const child = spawn(PLUGIN, [], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', CNI_COMMAND: 'VERSION' } });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.stdin.end('{"cniVersion":"1.0.0"}');
    expect(await new Promise((done) => child.on('close', done))).toBe(0);
    expect(stderr).toBe('');
  });

  it('refuses stdin over 1 MiB', async () => {
    const huge = JSON.stringify({ ...netconf('1.0.0'), padding: 'x'.repeat(1024 * 1024) });
    const result = await shim({ CNI_COMMAND: 'ADD', ...attachment }, huge);
    expect(result.json).toMatchObject({ code: 7 });
    expect(String(result.json?.msg)).toContain('larger than');
  });
});
